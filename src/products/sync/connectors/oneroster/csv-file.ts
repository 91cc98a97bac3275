import { isIsoDate } from '../../codes.ts';
import { locateHeaders, readCsvStream } from '../csv-stream.ts';
import { at, type ProblemLog } from '../problems.ts';
import { OPTIONAL_COLUMNS, REQUIRED_COLUMNS, type Cells, type FileKey, type OneRosterPackage } from './csv-package.ts';
import { row } from './csv-rows.ts';
import type { PackageZip } from './csv-zip.ts';

/**
 * Streams `key`.csv into `pkg`: checks its header, then each row's sourcedId, status and
 * dateLastModified before handing the row to its file's mapper. A file not read whole is marked
 * incomplete, so references into it are not checked.
 */
export async function readFile(zip: PackageZip, log: ProblemLog, pkg: OneRosterPackage, key: FileKey): Promise<void> {
  const file = `${key}.csv`;
  const mode = pkg.modes[key];
  let stream;
  try {
    stream = await zip.openEntry(file);
  } catch {
    log.error(file, file, 'could not be read from the zip');
    pkg.incomplete.add(key);
    return;
  }
  if (!stream) {
    log.error(file, file, `manifest.csv declares it ${mode} but it is not in the zip`);
    pkg.incomplete.add(key);
    return;
  }
  const required = [...REQUIRED_COLUMNS[key]];
  if (key === 'users' && pkg.version === '1.1') required.push('role');
  if (mode === 'delta') required.push('status', 'dateLastModified');
  const optional = [...OPTIONAL_COLUMNS[key], 'status', 'dateLastModified'];
  let index = new Map<string, number>();
  let width = 0;
  const ids = new Map<string, number>();
  let headerOk = true;

  const problem = await readCsvStream(
    stream,
    { fileName: file },
    {
      header: (names, line) => {
        width = names.length;
        const found = locateHeaders(names, [...required, ...optional]);
        index = found.index;
        for (const column of found.missing) {
          if (required.includes(column)) {
            log.error(file, at(file, line, column), 'required column is missing from the header row');
            headerOk = false;
          }
        }
        for (const column of found.ambiguous) {
          log.error(file, at(file, line, column), 'appears more than once in the header row');
          headerOk = false;
        }
        if (key === 'users' && pkg.version === '1.2' && pkg.modes.roles === 'absent' && !index.has('role')) {
          log.error(file, at(file, line, 'role'), 'roles.csv is absent and users.csv has no role column: pupils cannot be told from staff');
          headerOk = false;
        }
        return headerOk;
      },
      row: (values, line) => {
        if (values.length !== width) {
          log.error(file, at(file, line), `has ${values.length} fields; the header row has ${width}`);
          return;
        }
        const cells: Cells = {
          line,
          get: (column) => {
            const i = index.get(column);
            if (i === undefined) return undefined;
            const v = values[i]!.trim();
            return v === '' ? null : v;
          },
        };
        const sourcedId = cells.get('sourcedId');
        if (!sourcedId) {
          log.error(file, at(file, line, 'sourcedId'), 'is blank; every row needs a sourcedId');
          return;
        }
        const first = ids.get(sourcedId);
        if (first !== undefined) {
          log.error(file, at(file, line, 'sourcedId'), `repeats the sourcedId of line ${first}`);
          return;
        }
        ids.set(sourcedId, line);
        const status = cells.get('status');
        let deleted = false;
        if (status == null) {
          if (mode === 'delta') {
            log.error(file, at(file, line, 'status'), 'is blank; a delta file needs active or tobedeleted');
            return;
          }
        } else if (status === 'tobedeleted') {
          // In a bulk file a record to be deleted is simply not part of the whole (references to
          // it are not errors); only a delta file turns it into a removal.
          deleted = true;
        } else if (status !== 'active') {
          log.error(file, at(file, line, 'status'), 'must be active or tobedeleted');
          return;
        }
        const modified = cells.get('dateLastModified');
        if (modified != null && !isIsoDateTime(modified)) {
          log.error(file, at(file, line, 'dateLastModified'), 'is not an ISO 8601 date-time');
        } else if (modified == null && mode === 'delta') pkg.blankModified.add(key);
        row(log, pkg, key, sourcedId, deleted, cells);
      },
    },
  );
  if (problem) {
    log.error(file, problem.location, problem.message);
    pkg.incomplete.add(key);
  }
  if (!headerOk) pkg.incomplete.add(key);
}

/** ISO 8601 date or date-time (dateLastModified). */
function isIsoDateTime(value: string): boolean {
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(value);
  if (!m || !isIsoDate(m[1]!)) return false;
  return m[2] === undefined || (Number(m[2]) < 24 && Number(m[3]) < 60 && Number(m[4] ?? 0) < 61);
}
