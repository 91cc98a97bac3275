import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SealedTempFile } from './sealed-temp-file.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-sealed-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Recognisable text, so that a plaintext leak onto disk would be found by searching for it. */
function content(bytes: number): Buffer {
  const line = Buffer.from('Pupil,Ada Testperson,2014-09-01,Riverside Test Academy\n');
  const out = Buffer.alloc(bytes);
  for (let at = 0; at < bytes; at += line.length) line.copy(out, at, 0, Math.min(line.length, bytes - at));
  return out;
}

let seq = 0;
const target = () => path.join(dir, `upload-${++seq}.bin`);

describe('SealedTempFile', () => {
  it('gives back exactly what was written, in odd-sized pieces, with nothing readable on disk', async () => {
    const plain = content(300_001);
    // Pieces of 1 to 100,000 bytes: chunk edges fall inside pieces and between them.
    const pieces: Buffer[] = [];
    for (let at = 0, n = 1; at < plain.length; at += n, n = (n * 7919) % 100_000 || 1) pieces.push(plain.subarray(at, at + n));
    const file = await SealedTempFile.write(target(), Readable.from(pieces));
    expect(file.size).toBe(plain.length);
    expect((await collect(file.read())).equals(plain)).toBe(true);

    const onDisk = fs.readFileSync(file.path);
    expect(onDisk.length).toBe(plain.length + 5 * 28); // 5 chunks, each with nonce and tag
    expect(onDisk.includes(Buffer.from('Ada Testperson'))).toBe(false);
    expect(onDisk.includes(Buffer.from('Pupil,'))).toBe(false);
    expect(fs.statSync(file.path).mode & 0o777).toBe(0o600);
  });

  it('reads any byte range, across chunk edges, opening only what it covers', async () => {
    const plain = crypto.randomBytes(200_000);
    const file = await SealedTempFile.write(target(), Readable.from([plain]));
    for (const [start, end] of [[0, 1], [65_535, 65_537], [65_536, 131_072], [100, 199_999], [199_990, 200_000], [150_000, 150_000], [0, 500_000]] as const) {
      expect((await collect(file.read(start, end))).equals(plain.subarray(start, end))).toBe(true);
    }
    expect((await collect(file.read(5))).equals(plain.subarray(5))).toBe(true);
  });

  it('handles an empty upload', async () => {
    const file = await SealedTempFile.write(target(), Readable.from([]));
    expect(file.size).toBe(0);
    expect(await collect(file.read())).toEqual(Buffer.alloc(0));
    expect(fs.statSync(file.path).size).toBe(0);
  });

  it('fails to read a chunk altered, swapped or cut short on disk', async () => {
    const plain = content(150_000);
    const file = await SealedTempFile.write(target(), Readable.from([plain]));
    const original = fs.readFileSync(file.path);

    const flipped = Buffer.from(original);
    flipped[70_000] = flipped[70_000]! ^ 1;
    fs.writeFileSync(file.path, flipped);
    await expect(collect(file.read())).rejects.toThrow(/authentication failed/);
    expect((await collect(file.read(0, 1000))).equals(plain.subarray(0, 1000))).toBe(true);

    const sealedChunk = 65_536 + 28;
    const swapped = Buffer.concat([original.subarray(sealedChunk, 2 * sealedChunk), original.subarray(0, sealedChunk), original.subarray(2 * sealedChunk)]);
    fs.writeFileSync(file.path, swapped);
    await expect(collect(file.read(0, 10))).rejects.toThrow(/authentication failed/);

    fs.writeFileSync(file.path, original.subarray(0, original.length - 10));
    await expect(collect(file.read())).rejects.toThrow(/shorter than what was written/);
  });

  it('refuses to write over an existing file', async () => {
    const existing = target();
    fs.writeFileSync(existing, 'x');
    await expect(SealedTempFile.write(existing, Readable.from([Buffer.from('y')]))).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(existing, 'utf8')).toBe('x');
  });
});
