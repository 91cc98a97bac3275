import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aeadSeal } from '../../../../platform/crypto/aead.ts';
import type { TenantCipher } from '../../../../platform/crypto/tenant-keys.ts';
import { LocalBlobStore } from '../../../../platform/storage/blob-store.ts';
import { createClamavScanner, inspectUpload, noScanner, teeUpload, UploadRefused, type InspectOptions, type ScanHook } from './index.ts';
import { EICAR, EICAR_SIGNATURE, startFakeClamd, type FakeClamd } from './testing/clamd-server.ts';
import { countingSource, docx, pdf, streamOf } from './testing/samples.ts';

/**
 * How the pieces compose, as index.ts describes: the inspected stream is teed into a sink and the
 * scanner, both run side by side, and every verdict is known once the stream has ended.
 */

let clamd: FakeClamd;
beforeAll(async () => {
  clamd = await startFakeClamd({ transport: 'tcp' });
});
afterAll(async () => {
  await clamd.close();
});

/** A sink that counts bytes and keeps nothing, standing in for anything that stores the upload. */
function countingSink(): { sink: Writable; bytes: () => number } {
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done();
    },
  });
  return { sink, bytes: () => bytes };
}

const options = (filename: string, declaredType?: string, maxBytes = 1024 * 1024): InspectOptions => ({ filename, declaredType, maxBytes });

describe('source → inspectUpload → tee → scanner + sink', () => {
  it('a clean document: the verdict, the scan and the byte count all arrive', async () => {
    const upload = inspectUpload(streamOf(pdf(), 100), options('statement.pdf', 'application/pdf'));
    const [toSink, toScan] = teeUpload(upload.stream);
    const counter = countingSink();
    const [verdict, scan] = await Promise.all([upload.verdict, createClamavScanner(clamd.setting).scan(toScan), pipeline(toSink, counter.sink)]);
    expect(verdict).toMatchObject({ kind: 'pdf', sizeBytes: pdf().length });
    expect(scan).toEqual({ scanned: true, clean: true });
    expect(counter.bytes()).toBe(pdf().length);
  });

  it('an infected document passes intake (EICAR is text) and the scan says so', async () => {
    const upload = inspectUpload(streamOf(EICAR), options('eicar.txt', 'text/plain'));
    const [toSink, toScan] = teeUpload(upload.stream);
    const counter = countingSink();
    const [verdict, scan] = await Promise.all([upload.verdict, createClamavScanner(clamd.setting).scan(toScan), pipeline(toSink, counter.sink)]);
    expect(verdict.kind).toBe('text');
    expect(scan).toEqual({ scanned: true, clean: false, signature: EICAR_SIGNATURE });
    expect(counter.bytes()).toBe(EICAR.length);
  });

  it('a refusal fails both branches with the refusal and stops reading the upload', async () => {
    const source = countingSource(Buffer.alloc(64 * 1024, 0x61), 1000);
    const upload = inspectUpload(source.stream, options('huge.txt', 'text/plain', 256 * 1024));
    const [toSink, toScan] = teeUpload(upload.stream);
    const counter = countingSink();
    const [verdict, scan, sunk] = await Promise.allSettled([upload.verdict, createClamavScanner(clamd.setting).scan(toScan), pipeline(toSink, counter.sink)]);
    for (const outcome of [verdict, scan, sunk]) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(UploadRefused);
    }
    expect(source.pulled()).toBeLessThan(40);
  });
});

describe('into the encrypted blob store, as a route would', () => {
  let root: string;
  const tenantId = crypto.randomUUID();
  const key = crypto.randomBytes(32);
  // The store needs only the tenant and chunk sealing; the real cipher comes from the tenant scope.
  const cipher = { tenantId, sealBytes: (context: string, data: Buffer) => ({ version: 1, sealed: aeadSeal(key, data, context) }) } as unknown as TenantCipher;
  let store: LocalBlobStore;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'intake-blobs-'));
    store = new LocalBlobStore(root);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const filesOfTenant = () => (fs.existsSync(path.join(root, tenantId)) ? fs.readdirSync(path.join(root, tenantId)) : []);

  /** The recipe from index.ts: store and scan side by side, keep the blob only if all say yes. */
  async function receive(source: Readable, inspect: InspectOptions, scanner: ScanHook) {
    const upload = inspectUpload(source, inspect);
    const [toStore, toScan] = teeUpload(upload.stream);
    const [stored, scanned, verdict] = await Promise.allSettled([store.write(cipher, toStore), scanner.scan(toScan), upload.verdict]);
    const problem = [verdict, scanned, stored].find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult | undefined;
    const infected = scanned.status === 'fulfilled' && !scanned.value.clean;
    if (problem || infected) {
      if (stored.status === 'fulfilled') store.remove(stored.value.tenantId, stored.value.id);
      return { kept: false as const, problem: problem?.reason as unknown, scan: scanned.status === 'fulfilled' ? scanned.value : undefined };
    }
    if (stored.status !== 'fulfilled' || verdict.status !== 'fulfilled' || scanned.status !== 'fulfilled') throw new Error('unreachable');
    return { kept: true as const, blob: stored.value, verdict: verdict.value, scan: scanned.value };
  }

  it('keeps a clean Word document, stored encrypted, with its verdict', async () => {
    const document = await docx({ contentTypesLast: true, imageBytes: 150_000 });
    const outcome = await receive(streamOf(document), options('accounts.docx', undefined), createClamavScanner(clamd.setting));
    expect(outcome.kept).toBe(true);
    if (!outcome.kept) return;
    expect(outcome.verdict.kind).toBe('docx');
    expect(outcome.scan).toEqual({ scanned: true, clean: true });
    expect(outcome.blob.sizeBytes).toBe(document.length);
    expect(outcome.blob.sha256).toBe(crypto.createHash('sha256').update(document).digest('hex'));
    expect(filesOfTenant()).toContain(outcome.blob.id);
    store.remove(tenantId, outcome.blob.id);
  });

  it('removes the blob of an infected upload', async () => {
    const before = filesOfTenant();
    const outcome = await receive(streamOf(EICAR), options('eicar.txt', 'text/plain'), createClamavScanner(clamd.setting));
    expect(outcome).toMatchObject({ kept: false, scan: { clean: false, signature: EICAR_SIGNATURE } });
    expect(filesOfTenant()).toEqual(before);
  });

  it('leaves no file, not even a partial one, when intake refuses mid-stream', async () => {
    const before = filesOfTenant();
    const outcome = await receive(countingSource(Buffer.alloc(64 * 1024, 0x61), 100).stream, options('big.txt', 'text/plain', 200_000), createClamavScanner(clamd.setting));
    expect(outcome.kept).toBe(false);
    expect(outcome.problem).toMatchObject({ code: 'too-large' });
    expect(filesOfTenant()).toEqual(before);
  });

  it('records "not scanned" when no scanner is configured', async () => {
    const outcome = await receive(streamOf(pdf()), options('statement.pdf', 'application/pdf'), noScanner);
    expect(outcome).toMatchObject({ kept: true, scan: { scanned: false, clean: true } });
    if (outcome.kept) store.remove(tenantId, outcome.blob.id);
  });

  it('drops the blob when the scanner cannot give a verdict', async () => {
    const small = await startFakeClamd({ transport: 'unix', streamMaxLength: 10_000 });
    try {
      const before = filesOfTenant();
      const document = await docx({ imageBytes: 50_000 });
      const outcome = await receive(streamOf(document), options('letter.docx'), createClamavScanner(small.setting));
      expect(outcome.kept).toBe(false);
      expect(outcome.problem).toMatchObject({ failure: 'size-limit' });
      expect(filesOfTenant()).toEqual(before);
    } finally {
      await small.close();
    }
  });
});
