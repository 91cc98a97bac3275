import crypto from 'node:crypto';
import fs from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { aeadOpen, aeadSeal } from '../crypto/aead.ts';

/**
 * A file that must sit on disk for a while (an uploaded MIS export being parsed: a zip needs
 * random access, so it cannot be read straight off the request) without its content being
 * readable there. It is sealed in 64 KiB chunks with AES-256-GCM under a key made for this file
 * and held only in memory: a copy of the disk, or a file left behind by a killed process, is noise.
 *
 * Each chunk is `nonce | ciphertext | tag` with its index as associated data, so chunks cannot be
 * reordered; the plaintext size is kept in memory too, so a truncated file fails to read. Chunks
 * have a fixed place, so any byte range is read by opening only the chunks it covers.
 */
const CHUNK_BYTES = 64 * 1024;
const OVERHEAD_BYTES = 12 + 16;
const SEALED_CHUNK_BYTES = CHUNK_BYTES + OVERHEAD_BYTES;

const associated = (index: number) => `custos-sealed-temp:${index}`;

export class SealedTempFile {
  private constructor(
    /** Where the sealed bytes are; the caller removes the file (and its folder) when done. */
    readonly path: string,
    /** Plaintext bytes. */
    readonly size: number,
    private readonly key: Buffer,
  ) {}

  /** Streams `source` into a new file at `filePath` (created 0600; must not exist), sealing as it goes. */
  static async write(filePath: string, source: Readable | AsyncIterable<Buffer>): Promise<SealedTempFile> {
    const key = crypto.randomBytes(32);
    let size = 0;
    let index = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const sealOne = (piece: Buffer) => aeadSeal(key, piece, associated(index++));
    const sealer = new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        size += chunk.length;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes < CHUNK_BYTES) return callback();
        const joined = Buffer.concat(pending, pendingBytes);
        let at = 0;
        for (; at + CHUNK_BYTES <= joined.length; at += CHUNK_BYTES) this.push(sealOne(joined.subarray(at, at + CHUNK_BYTES)));
        pending = at < joined.length ? [joined.subarray(at)] : [];
        pendingBytes = joined.length - at;
        callback();
      },
      flush(callback: TransformCallback) {
        if (pendingBytes > 0) this.push(sealOne(Buffer.concat(pending, pendingBytes)));
        callback();
      },
    });
    await pipeline(source, sealer, fs.createWriteStream(filePath, { mode: 0o600, flags: 'wx' }));
    return new SealedTempFile(filePath, size, key);
  }

  /** The plaintext bytes [start, end) as a byte stream (end exclusive; by default the whole file). */
  read(start = 0, end = this.size): Readable {
    const from = Math.max(0, Math.min(start, this.size));
    const to = Math.max(from, Math.min(end, this.size));
    const file = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      if (from === to) return;
      const handle = await fs.promises.open(file.path, 'r');
      try {
        for (let i = Math.floor(from / CHUNK_BYTES); i * CHUNK_BYTES < to; i++) {
          const plainLength = Math.min(CHUNK_BYTES, file.size - i * CHUNK_BYTES);
          const sealed = Buffer.allocUnsafe(plainLength + OVERHEAD_BYTES);
          const { bytesRead } = await handle.read(sealed, 0, sealed.length, i * SEALED_CHUNK_BYTES);
          if (bytesRead !== sealed.length) throw new Error('the sealed file is shorter than what was written');
          const plain = aeadOpen(file.key, sealed, associated(i));
          const offset = i * CHUNK_BYTES;
          yield plain.subarray(Math.max(0, from - offset), Math.min(plain.length, to - offset));
        }
      } finally {
        await handle.close();
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }
}
