import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { DecryptionError } from '../crypto/aead.ts';
import { NotFoundError } from '../errors.ts';
import { deleteBlob, openBlob, saveBlob } from './blobs.ts';

let platform: TestPlatform;
let a: TestOrganisation;
let b: TestOrganisation;
const CHUNK = 64 * 1024;

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

const save = (org: TestOrganisation, bytes: Buffer) =>
  asSystem(platform, org.id, (scope) => saveBlob(platform.blobs, scope, 'test.document', Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)])));
const read = (org: TestOrganisation, id: string) =>
  asSystem(platform, org.id, async (scope) => collect((await openBlob(platform.blobs, scope, id)).content));
const fileOf = (org: TestOrganisation, id: string) => path.join(platform.config.dataDir, 'blobs', org.id, id);

beforeAll(async () => {
  platform = await startTestPlatform();
  a = await createTestOrganisation(platform);
  b = await createTestOrganisation(platform);
});
afterAll(async () => platform?.close());

describe('encrypted blob store', () => {
  it('round-trips content of every awkward size, with its SHA-256', async () => {
    for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17]) {
      const bytes = crypto.randomBytes(size);
      const blob = await save(a, bytes);
      expect(blob.sizeBytes).toBe(size);
      expect(blob.sha256).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
      expect((await read(a, blob.id)).equals(bytes), `size ${size}`).toBe(true);
    }
  });

  it('keeps no plaintext in the file', async () => {
    const text = Buffer.from('Pupil: Marnie Example, date of birth 2015-03-04. '.repeat(50));
    const blob = await save(a, text);
    const raw = fs.readFileSync(fileOf(a, blob.id));
    expect(raw.includes(Buffer.from('Marnie Example'))).toBe(false);
    expect(raw.length).toBeGreaterThan(text.length);
  });

  it("hides a blob from another tenant, even by its exact id", async () => {
    const blob = await save(a, Buffer.from('for A only'));
    await expect(read(b, blob.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(asSystem(platform, b.id, (scope) => deleteBlob(platform.blobs, scope, blob.id))).rejects.toBeInstanceOf(NotFoundError);
    expect(fs.existsSync(fileOf(a, blob.id))).toBe(true);
  });

  it("does not open A's bytes when copied into B's folder with its catalogue row re-assigned", async () => {
    const blob = await save(a, Buffer.from('secret of A'));
    fs.mkdirSync(path.dirname(fileOf(b, blob.id)), { recursive: true });
    fs.copyFileSync(fileOf(a, blob.id), fileOf(b, blob.id));
    // Someone with database access re-assigns A's catalogue row to B.
    await platform.db.owner.updateTable('blobs').set({ tenant_id: b.id }).where('id', '=', blob.id).execute();
    await expect(read(b, blob.id)).rejects.toBeInstanceOf(DecryptionError);
  });

  it('detects a flipped byte, a dropped final chunk and swapped chunks', async () => {
    const bytes = crypto.randomBytes(2 * CHUNK + 100);
    const flipped = await save(a, bytes);
    const file = fileOf(a, flipped.id);
    const raw = fs.readFileSync(file);
    raw[raw.length - 40]! ^= 0x01;
    fs.writeFileSync(file, raw);
    await expect(read(a, flipped.id)).rejects.toBeInstanceOf(DecryptionError);

    const cut = await save(a, bytes);
    const sealedChunk = 4 + CHUNK + 28;
    fs.writeFileSync(fileOf(a, cut.id), fs.readFileSync(fileOf(a, cut.id)).subarray(0, 8 + 2 * sealedChunk));
    await expect(read(a, cut.id)).rejects.toThrow(/truncated/);

    const swapped = await save(a, bytes);
    const whole = fs.readFileSync(fileOf(a, swapped.id));
    const header = whole.subarray(0, 8);
    const first = whole.subarray(8, 8 + sealedChunk);
    const second = whole.subarray(8 + sealedChunk, 8 + 2 * sealedChunk);
    fs.writeFileSync(fileOf(a, swapped.id), Buffer.concat([header, second, first, whole.subarray(8 + 2 * sealedChunk)]));
    await expect(read(a, swapped.id)).rejects.toBeInstanceOf(DecryptionError);
  });

  it('leaves no file behind when the catalogue write fails', async () => {
    const before = fs.readdirSync(path.join(platform.config.dataDir, 'blobs', a.id)).length;
    await expect(
      asSystem(platform, a.id, async (scope) => {
        await scope.trx.insertInto('blobs').values({ id: crypto.randomUUID(), tenant_id: b.id, purpose: 'x', size_bytes: 0, sha256: '', key_version: 1 }).execute();
      }),
    ).rejects.toThrow(/row-level security/);
    const failing = asSystem(platform, a.id, (scope) =>
      saveBlob(platform.blobs, { ...scope, tenantId: b.id }, 'test', Readable.from([Buffer.from('x')])),
    );
    await expect(failing).rejects.toThrow();
    expect(fs.readdirSync(path.join(platform.config.dataDir, 'blobs', a.id)).length).toBe(before);
  });

  it('leaves no partial file behind when the source fails at once, before the file has even opened', async () => {
    const folder = path.join(platform.config.dataDir, 'blobs', a.id);
    const before = fs.readdirSync(folder).sort();
    const cipher = await asSystem(platform, a.id, async (scope) => scope.cipher);
    for (let i = 0; i < 60; i++) {
      const failing = new PassThrough();
      const written = platform.blobs.write(cipher, failing);
      // Failing in the same tick, the next one or the next turn: each can come before the file opens.
      if (i % 3 === 0) failing.destroy(new Error('upload refused'));
      else if (i % 3 === 1) process.nextTick(() => failing.destroy(new Error('upload refused')));
      else setImmediate(() => failing.destroy(new Error('upload refused')));
      await expect(written).rejects.toThrow('upload refused');
    }
    // A file created late would appear after the write has already been refused: give it the time.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fs.readdirSync(folder).sort()).toEqual(before);
  });
});
