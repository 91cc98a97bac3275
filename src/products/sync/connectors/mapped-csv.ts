import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { emptyBatch, type ContactRecord, type ImportBatch, type PupilRecord, type StaffRecord } from '../model.ts';
import { locateHeaders, readCsvStream } from './csv-stream.ts';
import { csvMappingSchema, mappingProblems } from './mapped-csv/mapping.ts';
import { contactFrom, pupilFrom, staffFrom } from './mapped-csv/records.ts';
import { text, type RowContext } from './mapped-csv/values.ts';
import { at, ProblemLog } from './problems.ts';
import type { ImportSource } from './import-file.ts';

/**
 * Plain CSV from an MIS report export, read through a saved column mapping: which header holds
 * which model field. One file holds one entity (pupils, contacts or staff) and is read as the
 * whole of that entity (mode 'full'). Contacts come one row per contact–pupil pair (the usual
 * shape of a "contacts with their pupils" report); rows of the same contact are merged.
 *
 * The file is streamed (csv-parse), never held whole. Problems name the file, line and header,
 * never a value from the file.
 */

export { csvMappingSchema, MAPPABLE_FIELDS, type CsvMapping } from './mapped-csv/mapping.ts';
export { normaliseGender, parseDate } from './mapped-csv/values.ts';

/**
 * Reads a plain CSV export through a saved column mapping. Never rejects: every problem (a bad
 * mapping, a missing header, a bad value) comes back in `errors` or `warnings`.
 */
export async function readMappedCsv(source: ImportSource, mapping: unknown): Promise<ImportBatch> {
  const batch = emptyBatch('full');
  const file = typeof source === 'string' ? path.basename(source) : source.name;
  const parsed = csvMappingSchema.safeParse(mapping);
  if (!parsed.success) {
    batch.errors.push(...mappingProblems(parsed.error));
    return batch;
  }
  const m = parsed.data;
  // One entity per file: a contacts export says nothing about who else is on roll.
  batch.covers = [m.entity];
  const log = new ProblemLog();
  const columns = Object.entries(m.columns as Record<string, string | undefined>).filter((e): e is [string, string] => typeof e[1] === 'string');
  const fieldIndex = new Map<string, number>();
  let headerNames: string[] = [];
  let columnCount = 0;

  const seenIds = new Map<string, number>();
  const pupils: PupilRecord[] = [];
  const staff: StaffRecord[] = [];
  const contacts = new Map<string, { record: ContactRecord; line: number; pupils: Map<string, number> }>();

  let input: Readable;
  try {
    input = typeof source === 'string' ? await openFile(source) : source.read();
  } catch (err) {
    batch.errors.push({ location: file, message: (err as { code?: string }).code === 'ENOENT' ? 'was not found' : 'could not be opened' });
    return batch;
  }

  const problem = await readCsvStream(
    input,
    { fileName: file, delimiter: m.delimiter ?? ',', encoding: m.encoding ?? 'utf-8' },
    {
      header(names, line) {
        headerNames = names;
        columnCount = names.length;
        const { index, missing, ambiguous } = locateHeaders(
          names,
          columns.map(([, h]) => h),
        );
        for (const [field, h] of columns) {
          if (missing.includes(h)) log.error(file, at(file, line, h), `is not in the header row (the mapping's ${field} column)`);
          else fieldIndex.set(field, index.get(h)!);
        }
        for (const h of ambiguous) log.error(file, at(file, line, h), 'appears more than once in the header row');
        return missing.length === 0 && ambiguous.length === 0;
      },
      row(values, line) {
        if (values.length !== columnCount) {
          log.error(file, at(file, line), `has ${values.length} fields; the header row has ${columnCount}`);
          return;
        }
        const errorsBefore = log.errorCount;
        const ctx: RowContext = {
          file,
          line,
          log,
          dateFormat: m.dateFormat,
          get: (field) => {
            const i = fieldIndex.get(field);
            return i === undefined ? undefined : values[i];
          },
          header: (field) => headerNames[fieldIndex.get(field)!] ?? field,
        };
        if (m.entity === 'pupils' || m.entity === 'staff') {
          const record = m.entity === 'pupils' ? pupilFrom(ctx) : staffFrom(ctx);
          const misId = text(ctx, 'misId');
          if (!misId) return;
          const first = seenIds.get(misId);
          if (first !== undefined) {
            log.error(file, at(file, line, ctx.header('misId')), `repeats the MIS id on line ${first}`);
            return;
          }
          seenIds.set(misId, line);
          if (!record || log.errorCount !== errorsBefore) return;
          if (m.entity === 'pupils') pupils.push(record as PupilRecord);
          else staff.push(record as StaffRecord);
        } else {
          const got = contactFrom(ctx);
          if (!got) return;
          let entry = contacts.get(got.contact.misId);
          if (!entry) {
            entry = { record: got.contact, line, pupils: new Map() };
            contacts.set(got.contact.misId, entry);
          }
          const dup = entry.pupils.get(got.link.pupilMisId);
          if (dup !== undefined) {
            log.error(file, at(file, line, ctx.header('pupilMisId')), `repeats the contact and pupil pair on line ${dup}`);
            return;
          }
          entry.pupils.set(got.link.pupilMisId, line);
          entry.record.links.push(got.link);
        }
      },
    },
  );
  if (problem) log.error(file, problem.location, problem.message);
  log.finish();
  batch.errors.push(...log.errors);
  batch.warnings.push(...log.warnings);
  batch.pupils = pupils;
  batch.staff = staff;
  batch.contacts = [...contacts.values()].map((e) => e.record);
  return batch;
}

function openFile(filePath: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const stream = fs.createReadStream(filePath);
    stream.once('open', () => resolve(stream));
    stream.once('error', reject);
  });
}
