import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { startServer } from '../src/http/server.ts';
import { loadConfig } from '../src/platform/config/config.ts';
import { createApiToken } from '../src/platform/identity/api-tokens.ts';
import { createOrganisation } from '../src/platform/organisations/organisations.ts';
import { createPlatform } from '../src/platform/platform.ts';
import { SYSTEM_ACTOR, systemMeta } from '../src/platform/tenancy/tenant-scope.ts';
import { createClient } from '../src/products/client-portal/clients.ts';
import { createScratchDatabase } from './support/database.ts';
import { combine, measure, type LoadFigures } from './support/load.ts';
import { compare, type BenchResult } from './support/report.ts';

/**
 * Client-portal documents through the real HTTP routes of a started server.
 *
 * 1. Upload: a 200 MiB PDF streamed from disk to POST /api/v1/portal/clients/:id/documents (intake
 *    checks, SHA-256, AES-256-GCM chunks to the blob store, the document recorded in one RLS
 *    transaction), against a plain stream copy of the same file on the same disk, in the same run
 *    (copy, upload, upload, copy). Target: at least half the copy's MB/s. Peak RSS growth while the
 *    uploads stream, over the RSS before the measured runs (sampled every 50 ms; server and client
 *    share this process, so it counts both): under 64 MB. (A client in a worker thread was tried:
 *    on two cores it was no faster, since the server's own hashing and encryption are the limit.)
 * 2. Download: a small document at 50 connections with an API token (token check, RLS transaction,
 *    the document's rows, an audit entry per download, the blob decrypted as it streams) against
 *    GET /api/health (one `select 1`) on the same server. Target: a quarter of the health route's
 *    req/s (provisional: the issue set none). Every download appends to the practice's audit chain,
 *    whose head row lock orders them, so one practice's downloads are bounded by that lock.
 * MB here are MiB (2^20 bytes).
 */
const UPLOAD_BYTES = 200 * 1024 ** 2;
const UPLOAD_TARGET = 0.5;
const RSS_LIMIT_MB = 64;
const SAMPLE_MS = 50;
const SMALL_DOCUMENT_PAGES = 3;
const CONNECTIONS = 50;
const WARM_UP_SECONDS = 2;
const MEASURE_SECONDS = 8;
/**
 * Ours (the issue sets no download target): every download appends to the practice's hash-chained
 * audit trail, which is serialised per practice, so a download costs far more than `select 1`.
 * Set just under what a 2-core machine measures (~0.04), to catch regressions.
 */
const DOWNLOAD_TARGET = 0.03;
const POOL_SIZE = 10;
const MB = 1024 ** 2;

interface LimitResult {
  bench: string;
  metric: string;
  value: number;
  limit: number;
  pass: boolean;
  lowerIsBetter?: true;
  database?: 'pglite';
}

export async function run({ databaseUrl }: { databaseUrl?: string }): Promise<(BenchResult | LimitResult)[]> {
  const scratch = databaseUrl ? await createScratchDatabase(databaseUrl) : undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-bench-documents-'));
  const dataDir = path.join(dir, 'data');
  const cleanups: (() => Promise<void>)[] = [];
  const onPglite = scratch ? {} : { database: 'pglite' as const };
  try {
    const config = loadConfig({
      DATABASE_URL: scratch?.url,
      CUSTOS_DATA_DIR: dataDir,
      CUSTOS_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      // The limiter is measured for cost, not allowed to answer 429 to the load generator.
      RATE_LIMIT_PER_MINUTE: String(1_000_000_000),
    });
    const platform = await createPlatform(config, { poolSize: POOL_SIZE });
    cleanups.unshift(() => platform.close());
    const by = { actor: SYSTEM_ACTOR, meta: systemMeta('bench') };
    const practice = await createOrganisation(platform, { kind: 'practice', name: 'Benchmark Accountants', adminEmail: 'partner@example.test' }, by);
    const { clientId, token } = await platform.inTenant({ tenantId: practice.id, ...by }, async (scope) => ({
      clientId: (await createClient(scope, { kind: 'company', name: 'Benchmark Trading Ltd' })).id,
      token: (await createApiToken(scope, { name: 'benchmark', scopes: ['read', 'admin'] }, 'bench')).token,
    }));
    const server = await startServer(platform);
    cleanups.unshift(() => server.close());
    const auth = { authorization: `Bearer ${token}` };
    const uploadUrl = `${server.url}/api/v1/portal/clients/${clientId}/documents?filename=year-end-scans.pdf`;
    console.log(`one practice, one client, a server on ${server.url}, ${scratch ? 'PostgreSQL (scratch database)' : 'PGlite'}`);

    // ---- 1. streaming upload ----
    const bigFile = path.join(dir, 'year-end-scans.pdf');
    const started = performance.now();
    const sha256 = await writePaddedPdf(bigFile, UPLOAD_BYTES);
    console.log(`generated a ${UPLOAD_BYTES / MB} MB PDF (one page, a stream object of random bytes) in ${seconds(performance.now() - started)} s`);
    const warmUp = path.join(dir, 'warm-up.pdf');
    await writePaddedPdf(warmUp, 2 * MB);
    await uploadFile(uploadUrl, auth, warmUp);

    const copies: Timed[] = [];
    const uploads: (Timed & { rssGrowthMb: number })[] = [];
    const copyOnce = async () => copies.push(await timed(() => pipeline(fs.createReadStream(bigFile), fs.createWriteStream(path.join(dir, 'copy.pdf')))));
    let rssBefore = 0;
    const uploadOnce = async () => {
      const sampler = sampleRss(rssBefore);
      const { ms, answer } = await uploadFile(uploadUrl, auth, bigFile);
      const rssGrowthMb = sampler.stop();
      if (answer.version.sizeBytes !== UPLOAD_BYTES || answer.version.sha256 !== sha256 || answer.version.contentType !== 'application/pdf') {
        throw new Error(`the upload was recorded wrongly: ${JSON.stringify(answer.version)}`);
      }
      uploads.push({ ms, rssGrowthMb });
    };
    // Interleaved A-B-B-A, so a change in machine load weighs on both alike.
    console.log('measuring: copy, upload, upload, copy…');
    rssBefore = process.memoryUsage.rss();
    await copyOnce();
    await uploadOnce();
    await uploadOnce();
    await copyOnce();
    const copyRate = rate(copies);
    const uploadRate = rate(uploads);
    const peakGrowth = Math.max(...uploads.map((u) => u.rssGrowthMb));
    console.log(`baseline (stream copy of the file on the same disk): ${copyRate} MB/s (${copies.map((c) => `${seconds(c.ms)} s`).join(', ')})`);
    console.log(`custos   (POST …/documents: intake, SHA-256, AES-256-GCM, record): ${uploadRate} MB/s (${uploads.map((u) => `${seconds(u.ms)} s`).join(', ')})`);
    console.log(`peak RSS growth while uploading (over the RSS before the measured runs): ${peakGrowth} MB (${uploads.map((u) => `+${u.rssGrowthMb} MB`).join(', ')})`);

    // ---- 2. small downloads under load ----
    const small = path.join(dir, 'engagement-letter.pdf');
    fs.writeFileSync(small, await letterPdf());
    const smallDocument = (await uploadFile(uploadUrl.replace('year-end-scans.pdf', 'engagement-letter.pdf'), auth, small)).answer;
    const downloadUrl = `${server.url}/api/v1/portal/documents/${smallDocument.document.id}/content`;
    const healthUrl = `${server.url}/api/health`;
    const downloaded = await fetch(downloadUrl, { headers: auth });
    if (!downloaded.ok || !Buffer.from(await downloaded.arrayBuffer()).equals(fs.readFileSync(small))) {
      throw new Error(`the download does not answer the uploaded file (HTTP ${downloaded.status})`);
    }
    console.log(`small document: ${fs.statSync(small).size} bytes; warming up for ${WARM_UP_SECONDS} s each…`);
    await measure({ url: healthUrl, connections: CONNECTIONS, seconds: WARM_UP_SECONDS });
    await measure({ url: downloadUrl, headers: auth, connections: CONNECTIONS, seconds: WARM_UP_SECONDS });
    console.log(`measuring ${CONNECTIONS} connections for ${MEASURE_SECONDS} s each, in interleaved slices…`);
    const slice = MEASURE_SECONDS / 2;
    const healthSlices: LoadFigures[] = [];
    const downloadSlices: LoadFigures[] = [];
    healthSlices.push(await measure({ url: healthUrl, connections: CONNECTIONS, seconds: slice }));
    downloadSlices.push(await measure({ url: downloadUrl, headers: auth, connections: CONNECTIONS, seconds: slice }));
    downloadSlices.push(await measure({ url: downloadUrl, headers: auth, connections: CONNECTIONS, seconds: slice }));
    healthSlices.push(await measure({ url: healthUrl, connections: CONNECTIONS, seconds: slice }));
    const health = combine(healthSlices);
    const download = combine(downloadSlices);
    describeLoad('baseline (GET /api/health: one select 1)', health);
    describeLoad('custos   (GET /api/v1/portal/documents/:id/content: API token, RLS transaction, audit entry, decryption)', download);
    if (health.failures > 0 || download.failures > 0) throw new Error('some requests failed (non-2xx, errors or timeouts); the figures are not valid');

    return [
      compare({ bench: 'documents-upload', metric: 'mb_per_s', value: uploadRate, baseline: copyRate, target: UPLOAD_TARGET, ...onPglite }),
      { bench: 'documents-upload', metric: 'peak_rss_growth_mb', value: peakGrowth, limit: RSS_LIMIT_MB, pass: peakGrowth < RSS_LIMIT_MB, lowerIsBetter: true, ...onPglite },
      compare({ bench: 'documents-download', metric: 'req_per_s', value: download.requestsPerSecond, baseline: health.requestsPerSecond, target: DOWNLOAD_TARGET, ...onPglite }),
    ];
  } finally {
    // autocannon stops at its deadline with requests in flight; let the server answer them first.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
    await scratch?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Timed {
  ms: number;
}

async function timed(work: () => Promise<unknown>): Promise<Timed> {
  const start = performance.now();
  await work();
  return { ms: performance.now() - start };
}

/** MB/s over every run of UPLOAD_BYTES together. */
function rate(runs: Timed[]): number {
  const ms = runs.reduce((sum, r) => sum + r.ms, 0);
  return Math.round((runs.length * UPLOAD_BYTES) / MB / (ms / 1000));
}

/** Samples this process's RSS every SAMPLE_MS; stop() gives the peak's growth over `start`, in MB. */
function sampleRss(start: number): { stop(): number } {
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return Math.round((peak - start) / MB);
    },
  };
}

interface UploadAnswer {
  document: { id: string };
  version: { sizeBytes: number; sha256: string; contentType: string };
}

/** Streams a file from disk as the request body, as a client with a large scan would; timed to the answer's end. */
function uploadFile(url: string, headers: Record<string, string>, file: string): Promise<{ ms: number; answer: UploadAnswer }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', headers: { ...headers, 'content-type': 'application/pdf', 'content-length': String(fs.statSync(file).size) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode !== 201) reject(new Error(`upload answered HTTP ${response.statusCode}: ${body.slice(0, 500)}`));
          else resolve({ ms: performance.now() - started, answer: JSON.parse(body) as UploadAnswer });
        });
      },
    );
    request.on('error', reject);
    fs.createReadStream(file).on('error', reject).pipe(request);
  });
}

/**
 * A well-formed one-page PDF of exactly `size` bytes: the bulk is an (unreferenced) stream object of
 * random bytes, as a scanned image would be. Returns its SHA-256.
 */
async function writePaddedPdf(file: string, size: number): Promise<string> {
  const parts: string[] = [
    '%PDF-1.7\n%\xE2\xE3\xCF\xD3\n',
    '1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n',
    '2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n',
    '3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> >>\nendobj\n',
  ];
  const head = Buffer.from(parts.join(''), 'latin1');
  const offsets: number[] = [];
  let at = Buffer.from(parts[0]!, 'latin1').length;
  for (const part of parts.slice(1)) {
    offsets.push(at);
    at += Buffer.from(part, 'latin1').length;
  }
  offsets.push(at); // object 4, the padding stream
  const tail = (length: number) => {
    const streamHead = `4 0 obj\n<< /Length ${length} >>\nstream\n`;
    const afterStream = '\nendstream\nendobj\n';
    const xrefAt = at + streamHead.length + length + afterStream.length;
    const xref = `xref\n0 5\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
    return { streamHead, end: `${afterStream}${xref}trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n` };
  };
  // The stream's length is what is left once the fixed parts are counted (its own digits included).
  const probe = tail(size);
  const length = size - head.length - probe.streamHead.length - probe.end.length;
  const { streamHead, end } = tail(length);
  if (head.length + streamHead.length + length + end.length !== size) throw new Error('could not size the PDF exactly');

  const hash = crypto.createHash('sha256');
  const out = fs.createWriteStream(file);
  const write = (chunk: Buffer) => {
    hash.update(chunk);
    return out.write(chunk) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', () => resolve()));
  };
  await write(head);
  await write(Buffer.from(streamHead, 'latin1'));
  for (let left = length; left > 0; ) {
    const n = Math.min(left, MB);
    await write(crypto.randomBytes(n));
    left -= n;
  }
  await write(Buffer.from(end, 'latin1'));
  await new Promise<void>((resolve, reject) => {
    out.on('error', reject);
    out.end(() => resolve());
  });
  return hash.digest('hex');
}

async function letterPdf(): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let page = 1; page <= SMALL_DOCUMENT_PAGES; page++) {
    const p = doc.addPage([595, 842]);
    p.drawText(`Letter of engagement, page ${page}`, { x: 72, y: 760, size: 18, font });
    for (let line = 0; line < 40; line++) p.drawText(`Clause ${page}.${line + 1}: the practice will prepare the annual accounts.`, { x: 72, y: 730 - line * 16, size: 10, font });
  }
  return Buffer.from(await doc.save());
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}

function describeLoad(label: string, figures: LoadFigures): void {
  console.log(
    `${label}: ${figures.requestsPerSecond} req/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms (worst slice), ` +
      `${figures.total} requests in ${figures.seconds} s, ${figures.failures} failed`,
  );
}
