import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DecryptionError } from '../crypto/aead.ts';
import type { TenantCipher } from '../crypto/tenant-keys.ts';
import { isUuid } from '../tenancy/tenant-scope.ts';

/**
 * Encrypted blobs (documents, photos, exports) in a local folder, one sub-folder per tenant.
 *
 * Content is cut into 64 KiB chunks, each sealed with AES-256-GCM under the tenant's data key.
 * Every chunk's associated data names the tenant, the blob, the chunk's index and whether it is
 * the last one, so a chunk moved to another blob or tenant, reordered, or a file cut short all
 * fail to open. Nothing is ever held whole in memory.
 *
 * File: "CSB1" | key version (u32) | chunks of [length u32 | sealed chunk].
 */
const MAGIC = Buffer.from('CSB1');
const CHUNK = 64 * 1024;

export interface StoredBlob {
  id: string;
  tenantId: string;
  sizeBytes: number;
  sha256: string;
  keyVersion: number;
}

const chunkContext = (tenantId: string, blobId: string, index: number, last: boolean) =>
  `blob|${tenantId}|${blobId}|${index}|${last ? 'last' : 'more'}`;

export class LocalBlobStore {
  constructor(private readonly root: string) {}

  private file(tenantId: string, blobId: string): string {
    // Ids are UUIDs we made; checking keeps any other string from becoming a path.
    if (!isUuid(tenantId) || !isUuid(blobId)) throw new Error('blob and tenant ids must be UUIDs');
    return path.join(this.root, tenantId, blobId);
  }

  /**
   * Streams `source` into a new encrypted blob of the cipher's tenant. Written to a temporary
   * file and renamed into place only when complete: a crash leaves no half-written blob.
   */
  async write(cipher: TenantCipher, source: Readable | AsyncIterable<Buffer | string>): Promise<StoredBlob> {
    const id = crypto.randomUUID();
    const target = this.file(cipher.tenantId, id);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    const temporary = `${target}.partial`;
    const hash = crypto.createHash('sha256');
    let size = 0;
    let version = 0;
    const tenantId = cipher.tenantId;

    async function* encrypt(): AsyncGenerator<Buffer> {
      let index = 0;
      // Pieces waiting to fill a chunk, joined only when one is cut (a network stream brings ~16 KiB at a time).
      let waiting: Buffer[] = [];
      let waitingBytes = 0;
      let headerSent = false;
      // One buffer per chunk ([header] length sealed): fewer, larger writes to the file.
      const emit = (plain: Buffer, last: boolean): Buffer => {
        const { version: v, sealed } = cipher.sealBytes(chunkContext(tenantId, id, index++, last), plain);
        const prefix = headerSent ? 4 : 12;
        const out = Buffer.allocUnsafe(prefix + sealed.length);
        if (!headerSent) {
          version = v;
          MAGIC.copy(out, 0);
          out.writeUInt32BE(v, 4);
          headerSent = true;
        } else if (v !== version) {
          throw new Error('data key changed while writing a blob');
        }
        out.writeUInt32BE(sealed.length, prefix - 4);
        sealed.copy(out, prefix);
        return out;
      };
      for await (const piece of source) {
        const bytes = typeof piece === 'string' ? Buffer.from(piece) : piece;
        hash.update(bytes);
        size += bytes.length;
        waiting.push(bytes);
        waitingBytes += bytes.length;
        // Keep at least one byte back so the final chunk is always marked last.
        if (waitingBytes <= CHUNK) continue;
        let pending = waiting.length === 1 ? waiting[0]! : Buffer.concat(waiting, waitingBytes);
        while (pending.length > CHUNK) {
          yield emit(pending.subarray(0, CHUNK), false);
          pending = pending.subarray(CHUNK);
        }
        waiting = [pending];
        waitingBytes = pending.length;
      }
      yield emit(waiting.length === 1 ? waiting[0]! : Buffer.concat(waiting, waitingBytes), true);
    }

    const out = fs.createWriteStream(temporary, { mode: 0o600 });
    try {
      await pipeline(Readable.from(encrypt()), out);
      fs.renameSync(temporary, target);
    } catch (error) {
      // A source that fails at once can beat the file's own opening: wait until the stream has
      // closed (it creates the file even when destroyed mid-open), then remove what it left.
      if (!out.closed) await once(out, 'close').catch(() => undefined);
      fs.rmSync(temporary, { force: true });
      throw error;
    }
    return { id, tenantId, sizeBytes: size, sha256: hash.digest('hex'), keyVersion: version };
  }

  /** A stream of the plaintext; errors (DecryptionError) if any byte was altered, moved or cut off. */
  read(cipher: TenantCipher, blobId: string): Readable {
    const file = this.file(cipher.tenantId, blobId);
    const tenantId = cipher.tenantId;
    let index = 0;
    let sawLast = false;
    let version = 0;
    // Whether a chunk is the last one is bound into its associated data; a reader learns it by
    // which of the two contexts authenticates (only the final chunk ever needs the second try).
    const openChunk = (sealed: Buffer): Buffer => {
      if (sawLast) throw new DecryptionError('data after the last chunk');
      for (const last of [false, true]) {
        try {
          const plain = cipher.openBytes(chunkContext(tenantId, blobId, index, last), version, sealed);
          index++;
          sawLast = last;
          return plain;
        } catch (error) {
          if (!(error instanceof DecryptionError)) throw error;
        }
      }
      throw new DecryptionError(`blob chunk ${index} failed authentication: altered, moved or reordered`);
    };
    async function* decrypt(): AsyncGenerator<Buffer> {
      let buffered: Buffer = Buffer.alloc(0);
      let headerRead = false;
      for await (const piece of fs.createReadStream(file, { highWaterMark: CHUNK + 64 })) {
        buffered = buffered.length ? Buffer.concat([buffered, piece as Buffer]) : (piece as Buffer);
        if (!headerRead) {
          if (buffered.length < 8) continue;
          if (!buffered.subarray(0, 4).equals(MAGIC)) throw new DecryptionError('not a Custos blob');
          version = buffered.readUInt32BE(4);
          buffered = buffered.subarray(8);
          headerRead = true;
        }
        while (buffered.length >= 4) {
          const length = buffered.readUInt32BE(0);
          if (buffered.length < 4 + length) break;
          const sealed = buffered.subarray(4, 4 + length);
          buffered = buffered.subarray(4 + length);
          yield openChunk(sealed);
        }
      }
      if (!sawLast || buffered.length > 0) throw new DecryptionError('blob is truncated');
    }
    return Readable.from(decrypt());
  }

  remove(tenantId: string, blobId: string): void {
    fs.rmSync(this.file(tenantId, blobId), { force: true });
  }

  /** Removes every blob of a tenant (used by the purge after cancellation). */
  removeTenant(tenantId: string): void {
    if (!isUuid(tenantId)) throw new Error('tenant id must be a UUID');
    fs.rmSync(path.join(this.root, tenantId), { recursive: true, force: true });
  }
}
