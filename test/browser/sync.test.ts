import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/http/server.ts';
import { SYSTEM_ACTOR, systemMeta } from '../../src/platform/tenancy/tenant-scope.ts';
import { readCtf } from '../../src/products/sync/connectors/ctf.ts';
import { writeCtf } from '../../src/products/sync/connectors/ctf-writer.ts';
import { runImport } from '../../src/products/sync/engine.ts';
import { emptyBatch, type ImportBatch, type PupilRecord } from '../../src/products/sync/model.ts';
import { createSyncReader } from '../../src/products/sync/reader.ts';
import { fakeSchool, type FakeSchool } from '../../src/products/sync/testing/fake-school.ts';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../factories.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { checkAccessibility, formatViolations, launchBrowser, watchPageProblems } from './browser.ts';
import { expectHeading, expectPath, signInDirectly, tabUntil } from './identity.ts';
import { ensureWebBuilt } from './web-build.ts';

/**
 * The school data (sync hub) pages in a browser, as a school's admin uses them: import a CTF through
 * the upload page (with the keyboard alone), read the counts, open the run and its changes, find a
 * pupil by surname and open their record, grant a product access and revoke it, stop all sharing.
 * Every page and state is checked against WCAG 2.2 AA with axe, and each page has one h1 and its
 * own title. The tests run in order and share one tab.
 */
describe('school data pages in a browser', () => {
  let platform: TestPlatform;
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let org: TestOrganisation;
  let school: FakeSchool;
  /** The school as the CTF carries it (MIS ids are UPNs there), which is what the pages show. */
  let imported: ImportBatch;
  let workDir: string;
  let ctfFile: string;
  let badCtfFile: string;
  let pageProblems: string[] = [];
  /** Title of every page checked, by path pattern: each must be different. */
  const titles = new Map<string, string>();

  const at = (p: string) => new URL(p, server.url).toString();
  const main = () => page.getByRole('main');

  beforeAll(async () => {
    await ensureWebBuilt();
    platform = await startTestPlatform({ env: { PORT: '0', HOST: '127.0.0.1' } });
    server = await startServer(platform);
    org = await createTestOrganisation(platform, { kind: 'school' });

    school = fakeSchool({ pupils: 30, seed: 4711, attendanceDays: 5 });
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-sync-browser-'));
    ctfFile = path.join(workDir, 'school.xml');
    await writeCtf(school, ctfFile);
    imported = await readCtf(ctfFile);
    // The same file with one impossible date of birth: refused whole, the place named.
    badCtfFile = path.join(workDir, 'broken.xml');
    fs.writeFileSync(badCtfFile, fs.readFileSync(ctfFile, 'utf8').replace(/<DOB>[^<]*<\/DOB>/, '<DOB>2012-13-45</DOB>'));

    browser = await launchBrowser();
    context = await browser.newContext();
    await signInDirectly(context, platform, server.url, org.id, org.adminUserId);
    page = await context.newPage();
    // A missing element fails the test with its locator, well before the test's own time limit.
    page.setDefaultTimeout(8_000);
    // The refused upload answers 400, which Chromium logs.
    pageProblems = await watchPageProblems(page, { allowHttpErrors: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await platform?.close();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  async function expectNoViolations(label: string): Promise<void> {
    const violations = await checkAccessibility(page);
    if (violations.length > 0) console.error(`axe violations on ${label}:\n${formatViolations(violations)}`);
    expect(violations.map((v) => `${label}: ${v.id}`)).toEqual([]);
  }

  /** The page's h1 has loaded, there is one, the title is its own; axe finds nothing; nothing went wrong in the page. */
  async function checkPage(label: string, h1: string | RegExp): Promise<void> {
    await expectHeading(page, h1);
    // Data pages fill in after their requests: wait until nothing is loading.
    await expect.poll(() => page.getByText(/^Loading/).count(), { timeout: 10_000 }).toBe(0);
    expect(await page.locator('h1').count(), `${label} has one h1`).toBe(1);
    const title = await page.title();
    expect(title, label).toMatch(/ – Custos$/);
    titles.set(label, title);
    await expectNoViolations(label);
    expect(pageProblems, label).toEqual([]);
  }

  async function open(p: string, h1: string | RegExp, label = p): Promise<void> {
    pageProblems.length = 0;
    await page.goto(at(p));
    await checkPage(label, h1);
  }

  /** The pupil the browsing tests look for: one known by their legal names (search matches the name in use). */
  const pupil = () => imported.pupils.find((p) => !p.preferredForename && !p.preferredSurname)!;
  const nameOf = (p: PupilRecord) => `${p.preferredForename ?? p.legalForename} ${p.preferredSurname ?? p.legalSurname}`;

  describe('before any import', () => {
    it('shows "School data" in the header of a school, and every page passes empty', async () => {
      await page.goto(at('/home'));
      await expectHeading(page, /^Welcome/);
      const nav = page.getByRole('navigation', { name: 'Main' });
      await nav.getByRole('link', { name: 'School data' }).click();
      await expectPath(page, '/sync');
      await checkPage('/sync', 'School data');
      expect(await main().textContent()).toMatch(/Nothing has been imported yet/);

      await open('/sync/import', 'Import a file');
      await open('/sync/runs', 'Import history');
      expect(await main().textContent()).toMatch(/No imports yet/);
      await open('/sync/pupils', 'Pupils');
      expect(await page.getByRole('status').filter({ hasText: /pupils/ }).textContent()).toMatch(/No pupils yet/);
      await open('/sync/contacts', 'Contacts');
      await open('/sync/staff', 'Staff');
      await open('/sync/groups', 'Groups');
      await open('/sync/sharing', 'Sharing school data');
      expect(await main().textContent()).toMatch(/Nothing is shared/);
    });
  });

  describe('importing', () => {
    it('names what is missing before uploading anything', async () => {
      await page.goto(at('/sync/import'));
      await expectHeading(page, 'Import a file');
      await page.getByRole('button', { name: 'Import the file' }).click();
      const summary = page.getByRole('alert').filter({ hasText: 'There is a problem' });
      await expect.poll(() => summary.textContent()).toMatch(/Choose the file to import/);
      expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('alert');
      expect(await page.getByLabel('File to import').getAttribute('aria-invalid')).toBe('true');
      await expectNoViolations('/sync/import with a missing file');

      // A CSV needs its column mapping, and says so beside the box.
      await page.getByLabel('Format').selectOption('csv');
      await page.getByLabel('File to import').setInputFiles(ctfFile);
      await page.getByRole('button', { name: 'Import the file' }).click();
      await expect.poll(() => summary.textContent()).toMatch(/Enter the column mapping/);
      expect(await page.getByLabel('Column mapping (JSON)').getAttribute('aria-invalid')).toBe('true');
      await expectNoViolations('/sync/import with a missing CSV mapping');
    });

    it('refuses a file with an error, listing each problem where it is; nothing is imported', async () => {
      pageProblems.length = 0;
      await page.goto(at('/sync/import'));
      await expectHeading(page, 'Import a file');
      await page.getByLabel('File to import').setInputFiles(badCtfFile);
      await page.getByRole('button', { name: 'Import the file' }).click();
      const summary = page.getByRole('alert').filter({ hasText: 'The file was not imported' });
      await expect.poll(() => summary.textContent(), { timeout: 20_000 }).toMatch(/The file has a problem; nothing was imported/);
      const problems = page.getByRole('region', { name: /Problems in the file \(1\)/ });
      expect(await problems.getByRole('listitem').textContent()).toMatch(/upload\.xml line \d+ \(CTfile\/CTFpupilData\/Pupil\[1\]\/DOB\)is not a date/);
      // The summary's entry leads to the list.
      await summary.getByRole('link').click();
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('file-problems');
      await expectNoViolations('/sync/import with problems in the file');
      expect(pageProblems.filter((p) => !/status of 400/.test(p))).toEqual([]);
    });

    it('the form works with the keyboard alone: a check first, then the import, with progress shown while it uploads', async () => {
      await page.goto(at('/sync/import'));
      await expectHeading(page, 'Import a file');
      // Hold the upload a moment, so the page's "uploading" state can be seen and checked.
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let passed: () => void = () => {};
      const through = new Promise<void>((resolve) => (passed = resolve));
      await page.route('**/api/v1/sync/imports**', async (route) => {
        await held;
        await route.continue();
        passed();
      });

      await page.focus('#main');
      await tabUntil(page, '#import-format');
      expect(await page.evaluate(() => (document.activeElement as HTMLSelectElement).value)).toBe('ctf');
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('import-file');
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
      await chooser.setFiles(ctfFile);
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('import-dry-run');
      await page.keyboard.press('Space');
      expect(await page.getByLabel(/Check only/).isChecked()).toBe(true);
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Check the file');
      await page.keyboard.press('Enter');

      await expect.poll(() => page.getByRole('status').filter({ hasText: /Uploading school\.xml|Uploaded\. Reading the file and checking it/ }).count()).toBe(1);
      expect(await page.getByRole('progressbar').count()).toBe(1);
      await expectNoViolations('/sync/import while uploading');
      release();
      await through;
      await page.unroute('**/api/v1/sync/imports**');

      const checked = page.getByRole('heading', { name: 'Check finished: nothing was saved' });
      await expect.poll(() => checked.count(), { timeout: 20_000 }).toBe(1);
      // The result takes focus, so it is read out and the keyboard continues from there.
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('result-title');
      const wouldBe = page.getByRole('table', { name: 'What importing this file would change' });
      expect(await wouldBe.getByRole('row', { name: /^Pupils/ }).getByRole('cell').allTextContents()).toEqual(['30', '0', '0']);
      await expectNoViolations('/sync/import after a check');

      // Now for real: untick "check only" and import.
      await page.focus('#main');
      await tabUntil(page, '#import-dry-run');
      await page.keyboard.press('Space');
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Import the file');
      await page.keyboard.press('Enter');
      const done = page.getByRole('heading', { name: 'Import finished' });
      await expect.poll(() => done.count(), { timeout: 20_000 }).toBe(1);
      const counts = page.getByRole('table', { name: 'What the import changed' });
      const row = async (name: RegExp) => counts.getByRole('row', { name }).getByRole('cell').allTextContents();
      expect(await row(/^Pupils/)).toEqual(['30', '0', '0']);
      expect(Number((await row(/^Contacts/))[0])).toBeGreaterThan(30);
      expect(await row(/^Attendance marks/)).toEqual([String(school.attendance.length), '0', '0']);
      expect(await main().textContent()).toMatch(/No warnings/);
      await expectNoViolations('/sync/import after importing');
      expect(pageProblems.filter((p) => !/status of 400/.test(p))).toEqual([]);
    });

    it('the overview shows how fresh each kind of record is and the latest imports', async () => {
      await open('/sync', 'School data', '/sync after importing');
      const fresh = page.getByRole('region', { name: 'How up to date it is' });
      expect(await fresh.textContent()).toMatch(/Pupils as of \d{2}:\d{2}, \d{1,2} [A-Z][a-z]{2}/);
      expect(await fresh.textContent()).toMatch(/Contacts as of \d{2}:\d{2}, \d{1,2} [A-Z][a-z]{2}/);
      const latest = page.getByRole('region', { name: 'Latest imports' });
      // The import, the check and the refused file, newest first.
      const results = await latest.getByRole('row').allTextContents();
      expect(results.length).toBe(4);
      expect(results[1]).toMatch(/Succeeded/);
      expect(results[2]).toMatch(/Check only/);
      expect(results[3]).toMatch(/Failed/);
    });
  });

  describe('the import history', () => {
    it('lists every run, and a run shows its counts and the records it changed', async () => {
      await open('/sync/runs', 'Import history', '/sync/runs after importing');
      const rows = page.getByRole('table').getByRole('row');
      expect(await rows.count()).toBe(4);
      expect(await rows.nth(1).textContent()).toMatch(/You \(/);
      await rows.nth(1).getByRole('link').click();
      await expectPath(page, /^\/sync\/runs\/[0-9a-f-]{36}$/);
      pageProblems.length = 0;
      await checkPage('/sync/runs/:id', /^Import run of \d{2}:\d{2}/);
      expect(await page.title()).toMatch(/^Import run of /);
      const counts = page.getByRole('table', { name: 'Records added, updated and marked as left' });
      expect(await counts.getByRole('row', { name: /^Pupils/ }).getByRole('cell').allTextContents()).toEqual(['30', '0', '0']);

      const changes = page.getByRole('region', { name: /Records changed/ });
      expect(await changes.getByRole('heading', { level: 2 }).textContent()).toMatch(/Records changed \(\d+\)/);
      await changes.getByLabel('Kind of record').selectOption({ label: 'Pupils' });
      await expect.poll(() => changes.getByRole('status').textContent()).toMatch(/^30 of \d+ changes match; showing 30\./);
      // In MIS id order; a CTF's pupils are known by their UPNs.
      const first = changes.getByRole('row').nth(1);
      const firstUpn = imported.pupils.map((p) => p.misId).sort()[0]!;
      expect(await first.getByRole('cell').allTextContents()).toEqual(['Pupils', firstUpn, 'Added', 'New record']);
      await expectNoViolations('/sync/runs/:id filtered to pupils');

      // The MIS id leads to the pupil.
      await first.getByRole('link', { name: firstUpn }).click();
      await expectPath(page, /^\/sync\/pupils\/[0-9a-f-]{36}$/);
      await expectHeading(page, nameOf(imported.pupils.find((p) => p.misId === firstUpn)!));
    });

    it('a refused import shows its errors and where they are', async () => {
      await page.goto(at('/sync/runs'));
      await expectHeading(page, 'Import history');
      const failed = page.getByRole('table').getByRole('row').filter({ hasText: 'Failed' });
      await failed.getByRole('link').click();
      await expectHeading(page, /^Import run of/);
      const errors = page.getByRole('region', { name: 'Errors (1)' });
      expect(await errors.textContent()).toMatch(/CTFpupilData\/Pupil\[1\]\/DOB.*is not a date/);
      expect(await main().textContent()).toMatch(/This import changed no records/);
      await expectNoViolations('/sync/runs/:id of a refused import');
    });

    it('a run still going shows how far it has got, and the page follows it to its end', async () => {
      // A run as another process would leave it mid-way: 'running', with its stored progress.
      const runId = await asSystem(platform, org.id, async (scope) =>
        (await scope.trx
          .insertInto('sync_runs')
          .values({
            tenant_id: org.id, source: 'connection:test', format: 'wonde', mode: 'delta', status: 'running', started_by: 'schedule:nightly', connection_id: null,
            progress: JSON.stringify({ entity: 'contacts', done: 40, total: 120, at: new Date().toISOString() }),
          })
          .returning('id')
          .executeTakeFirstOrThrow()).id,
      );
      await open(`/sync/runs/${runId}`, /^Import run of/, '/sync/runs/:id while running');
      const bar = page.getByRole('progressbar', { name: 'Writing contacts: 40 of 120' });
      expect(await bar.getAttribute('value')).toBe('40');
      expect(await bar.getAttribute('max')).toBe('120');
      expect(await main().textContent()).toMatch(/Finished\s*Not yet/);

      await asSystem(platform, org.id, (scope) =>
        scope.trx.updateTable('sync_runs').set({ status: 'succeeded', finished_at: new Date() }).where('id', '=', runId).execute(),
      );
      // No reload: the page asks again by itself until the run has finished.
      await expect.poll(() => page.getByRole('progressbar').count(), { timeout: 8_000 }).toBe(0);
      expect(await main().textContent()).not.toMatch(/Not yet/);
      await expectNoViolations('/sync/runs/:id once finished');
    });
  });

  describe('browsing', () => {
    it('finds a pupil by surname and opens their record with their contacts, a no-contact flag clearly marked', async () => {
      // The MIS says one of the pupil's contacts must not be contacted (a CTF does not carry the flag):
      // a change-only import of that contact, as a connected MIS would send it.
      const contact = imported.contacts.find((c) => c.links.some((l) => l.pupilMisId === pupil().misId))!;
      const barred = { ...contact, links: contact.links.map((l) => (l.pupilMisId === pupil().misId ? { ...l, noContact: true } : l)) };
      const summary = await runImport(
        platform,
        { tenantId: org.id, actor: SYSTEM_ACTOR, meta: systemMeta('test') },
        { ...emptyBatch('delta'), contacts: [barred] },
        { format: 'ctf', source: 'upload:ctf', startedBy: 'cli' },
      );
      expect(summary, JSON.stringify(summary.errors)).toMatchObject({ status: 'succeeded', updated: { contacts: 1 } });

      await open('/sync/pupils', 'Pupils', '/sync/pupils after importing');
      await page.getByLabel('Search by name or UPN').fill(pupil().legalSurname.toUpperCase());
      await page.getByRole('button', { name: 'Search' }).click();
      const table = page.getByRole('table', { name: `Pupils matching “${pupil().legalSurname.toUpperCase()}”` });
      const link = table.getByRole('link', { name: `${pupil().legalSurname}, ${pupil().legalForename}` });
      await expect.poll(() => link.count()).toBe(1);
      expect(await page.getByRole('status').filter({ hasText: /found/ }).textContent()).toMatch(/pupils? found/);
      // The search text stays out of the address (it is a name).
      expect(page.url()).not.toContain(pupil().legalSurname);
      await expectNoViolations('/sync/pupils with search results');

      await link.click();
      await expectPath(page, /^\/sync\/pupils\/[0-9a-f-]{36}$/);
      pageProblems.length = 0;
      await checkPage('/sync/pupils/:id', `${pupil().legalForename} ${pupil().legalSurname}`);
      expect(await page.title()).not.toContain(pupil().legalSurname);
      const details = page.getByRole('region', { name: 'Details', exact: true });
      expect(await details.textContent()).toContain(pupil().upn!);

      const contacts = page.getByRole('region', { name: /^Contacts \(\d+\)$/ });
      const cards = contacts.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3 }) });
      expect(await cards.count()).toBe(imported.contacts.filter((c) => c.links.some((l) => l.pupilMisId === pupil().misId)).length);
      const barredName = [barred.title, barred.forename, barred.surname].filter(Boolean).join(' ');
      const barredCard = cards.filter({ has: page.getByRole('heading', { name: new RegExp(`^${barredName}`) }) });
      expect(await barredCard.getByRole('heading').textContent()).toMatch(/Do not contact$/);
      expect(await barredCard.textContent()).toMatch(/Must not be contacted about this pupil/);
      expect(await barredCard.textContent()).toMatch(/Parental responsibility \(PR\)(Yes|No)/);
      expect(await barredCard.textContent()).toMatch(/Priority\d/);
      expect(await page.getByRole('note').textContent()).toContain(`Do not contact 1 person about ${pupil().legalForename}: ${barredName}`);

      // Back returns to the same search.
      await page.goBack();
      await expectPath(page, '/sync/pupils');
      await expect.poll(() => page.getByLabel('Search by name or UPN').inputValue()).toBe(pupil().legalSurname.toUpperCase());
      await expect.poll(() => link.count()).toBe(1);
    });

    it('lists pupils a page at a time and by group', async () => {
      // From the section's own navigation: a new visit, without the search kept for Back (a reload would keep it).
      await page.getByRole('navigation', { name: 'School data' }).getByRole('link', { name: 'Staff' }).click();
      await expectHeading(page, 'Staff');
      await page.getByRole('navigation', { name: 'School data' }).getByRole('link', { name: 'Pupils' }).click();
      await expectHeading(page, 'Pupils');
      expect(await page.getByLabel('Search by name or UPN').inputValue()).toBe('');
      await expect.poll(() => page.getByRole('status').filter({ hasText: /of 30 pupils/ }).textContent()).toBe('Showing 1 to 25 of 30 pupils.');
      await page.getByRole('button', { name: 'Next page of pupils' }).click();
      await expect.poll(() => page.getByRole('status').filter({ hasText: /of 30 pupils/ }).textContent()).toBe('Showing 26 to 30 of 30 pupils.');
      // The button pressed is gone on the last page: focus is on the results, not lost.
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('results-title');
      expect(new URL(page.url()).search).toBe('?page=2');
      await expectNoViolations('/sync/pupils page 2');

      // The first group the school has, whatever the file held.
      const option = page.locator('#pupil-group option').nth(1);
      await expect.poll(() => option.count()).toBe(1);
      const groupName = (await option.textContent())!;
      await page.getByLabel('Group').selectOption({ label: groupName });
      await page.getByRole('button', { name: 'Search' }).click();
      await expect.poll(() => page.getByRole('heading', { level: 2, name: `Pupils in ${groupName}` }).count()).toBe(1);
      const found = page.getByRole('status').filter({ hasText: /found/ });
      await expect.poll(() => found.textContent()).toMatch(/^\d+ pupils? found\.$/);
      const n = Number((await found.textContent())!.split(' ')[0]);
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThan(30);
      expect(await page.getByRole('table').getByRole('row').count()).toBe(n + 1);
      expect(page.url()).toMatch(/\?group=[0-9a-f-]{36}$/);
    });

    it('contacts, staff and groups pass, and a group leads to its pupils', async () => {
      await open('/sync/contacts', 'Contacts', '/sync/contacts after importing');
      expect(await page.getByRole('table').getByText('Do not contact').count()).toBe(1);
      await open('/sync/staff', 'Staff', '/sync/staff after importing');
      await open('/sync/groups', 'Groups', '/sync/groups after importing');
      const first = page.getByRole('table').getByRole('row').nth(1);
      const groupName = (await first.getByRole('rowheader').textContent())!;
      const members = Number((await first.getByRole('link').textContent())!.split(' ')[0]);
      expect(members).toBeGreaterThan(0);
      await first.getByRole('link', { name: `${members} pupil${members === 1 ? '' : 's'} in ${groupName}` }).click();
      await expectPath(page, /^\/sync\/pupils\?group=[0-9a-f-]{36}$/);
      await expect.poll(() => page.getByRole('heading', { level: 2, name: `Pupils in ${groupName}` }).count()).toBe(1);
      await expect.poll(() => page.getByRole('table').getByRole('row').count()).toBe(members + 1);
    });

    it('data quality lists each check with its count, reached from the section navigation', async () => {
      await page.getByRole('navigation', { name: 'School data' }).getByRole('link', { name: 'Data quality' }).click();
      await expectPath(page, '/sync/data-quality');
      await checkPage('/sync/data-quality', 'Data quality');
      expect(await page.getByRole('heading', { level: 2 }).count()).toBe(4);
      expect(await page.getByRole('table', { name: 'Problems found, by check' }).getByRole('row').count()).toBe(5);
    });
  });

  describe('sharing', () => {
    it('says what is missing from a new grant', async () => {
      await open('/sync/sharing', 'Sharing school data', '/sync/sharing after importing');
      await page.getByRole('button', { name: 'Grant access' }).click();
      const summary = page.getByRole('alert').filter({ hasText: 'There is a problem' });
      await expect.poll(() => summary.textContent()).toMatch(/Choose the product.*Tick at least one kind of data/);
      await expectNoViolations('/sync/sharing with grant errors');
    });

    it('grants a product some data, shows its reads and who is left out, and revokes it after confirming', async () => {
      await page.getByLabel('Product', { exact: true }).selectOption({ label: 'Messaging' });
      await page.getByLabel("Pupils' names and groups").check();
      await page.getByLabel('Parents and carers').check();
      await page.getByRole('button', { name: 'Grant access' }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/Messaging \(Custos product\) may now read what you ticked/);
      const grant = page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3, name: 'Messaging (Custos product)' }) });
      await expect.poll(() => grant.count()).toBe(1);
      expect(await grant.getByRole('list').first().getByRole('listitem').allTextContents()).toEqual(["Pupils' names and groups", 'Parents and carers']);
      expect(await grant.textContent()).toMatch(/Granted\d{2}:\d{2}, .* by You \(/);

      // Messaging reads once; the page counts it for today.
      await asSystem(platform, org.id, (scope) => createSyncReader(scope, 'messaging').pupils());
      await page.reload();
      await expectHeading(page, 'Sharing school data');
      const reads = grant.getByRole('table', { name: /Reads by Messaging \(Custos product\) per day/ });
      await expect.poll(() => reads.getByRole('row').count()).toBe(2);
      expect(await reads.getByRole('cell').textContent()).toBe('1');

      // Leave one pupil out of the grant.
      const leaveOut = grant.getByLabel(/Leave someone out of the grant/);
      const option = leaveOut.locator('option', { hasText: `${pupil().legalSurname}, ${pupil().legalForename}` });
      await leaveOut.selectOption((await option.first().getAttribute('value'))!);
      await grant.getByRole('button', { name: /^Leave out/ }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/is no longer shared with Messaging/);
      const left = grant.getByRole('region', { name: 'Left out of this grant (1)' });
      await expect.poll(() => left.count()).toBe(1);
      expect(await left.textContent()).toContain(`${pupil().legalSurname}, ${pupil().legalForename} (pupil)`);
      await expectNoViolations('/sync/sharing with a grant, its reads and an exclusion');

      // Revoking asks first.
      await grant.getByRole('button', { name: 'Revoke the grant to Messaging (Custos product)' }).click();
      const confirm = page.getByRole('group', { name: 'Confirm revoking the grant to Messaging (Custos product)' });
      await expect.poll(() => confirm.count()).toBe(1);
      await expectNoViolations('/sync/sharing confirming a revocation');
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      expect(await confirm.count()).toBe(0);
      await grant.getByRole('button', { name: 'Revoke the grant to Messaging (Custos product)' }).click();
      await confirm.getByRole('button', { name: 'Yes, revoke' }).click();
      await expect.poll(() => page.getByRole('status').first().textContent()).toBe('The grant to Messaging (Custos product) is revoked.');
      await expect.poll(() => main().textContent()).toMatch(/Nothing is shared: no product or app may read your school data/);
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('grants-title');
      await expect(asSystem(platform, org.id, (scope) => createSyncReader(scope, 'messaging').pupils())).rejects.toThrow(/has not granted/);
    });

    it('"Stop all sharing" is a labelled switch that asks before it changes', async () => {
      const stop = page.getByRole('switch', { name: 'Stop all sharing' });
      expect(await stop.getAttribute('aria-checked')).toBe('false');
      await stop.focus();
      await page.keyboard.press('Enter');
      const confirm = page.getByRole('group', { name: 'Confirm stopping all sharing' });
      await expect.poll(() => confirm.count()).toBe(1);
      await expectNoViolations('/sync/sharing confirming stop all sharing');
      await confirm.getByRole('button', { name: 'Yes, stop all sharing' }).click();
      await expect.poll(() => stop.getAttribute('aria-checked')).toBe('true');
      expect(await page.getByRole('status').first().textContent()).toMatch(/All sharing is stopped/);
      expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('switch');
      await expectNoViolations('/sync/sharing with all sharing stopped');

      await stop.click();
      await page.getByRole('group', { name: 'Confirm resuming sharing' }).getByRole('button', { name: 'Yes, resume sharing' }).click();
      await expect.poll(() => stop.getAttribute('aria-checked')).toBe('false');
    });
  });

  describe('the section as a whole', () => {
    it('every page has its own title', () => {
      const byTitle = new Map<string, Set<string>>();
      for (const [label, title] of titles) {
        const pattern = label.replace(/ .*$/, '');
        byTitle.set(title, (byTitle.get(title) ?? new Set()).add(pattern));
      }
      const shared = [...byTitle.entries()].filter(([, patterns]) => patterns.size > 1);
      expect(shared).toEqual([]);
      expect(new Set([...titles.keys()].map((label) => label.replace(/ .*$/, ''))).size).toBe(11);
    });

    it('is not offered to an organisation that is not a school', async () => {
      const trust = await createTestOrganisation(platform, { kind: 'trust' });
      const other = await browser.newContext();
      try {
        await signInDirectly(other, platform, server.url, trust.id, trust.adminUserId);
        const trustPage = await other.newPage();
        await trustPage.goto(at('/home'));
        await expect.poll(() => trustPage.locator('main h1').textContent()).toMatch(/^Welcome/);
        expect(await trustPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'School data' }).count()).toBe(0);
        await trustPage.goto(at('/sync/pupils'));
        await expect.poll(() => trustPage.locator('main h1').textContent()).toBe('This page is not available for your organisation');
      } finally {
        await other.close();
      }
    });
  });
});
