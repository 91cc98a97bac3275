import { locateHeaders, readCsvStream } from '../csv-stream.ts';
import { at, type ProblemLog } from '../problems.ts';
import { FILES, type FileMode, type OneRosterPackage } from './csv-package.ts';
import type { PackageZip } from './csv-zip.ts';

/**
 * Reads manifest.csv (`propertyName,value`) into the package: its OneRoster version and how each
 * file is given (bulk, delta or absent), which decides the batch's mode. False when the package
 * cannot be read on.
 */
export async function readManifest(zip: PackageZip, log: ProblemLog, pkg: OneRosterPackage): Promise<boolean> {
  const file = 'manifest.csv';
  const props = new Map<string, { value: string; line: number }>();
  let stream;
  try {
    stream = await zip.openEntry(file);
  } catch {
    log.error(file, file, 'could not be read from the zip');
    return false;
  }
  if (!stream) return false;
  let ok = true;
  let nameAt = 0;
  let valueAt = 1;
  const problem = await readCsvStream(
    stream,
    { fileName: file },
    {
      header: (names, line) => {
        const { index, missing } = locateHeaders(names, ['propertyName', 'value']);
        for (const column of missing) log.error(file, at(file, line, column), 'required column is missing from the header row');
        nameAt = index.get('propertyName') ?? 0;
        valueAt = index.get('value') ?? 1;
        ok = missing.length === 0;
        return ok;
      },
      row: (values, line) => {
        const name = (values[nameAt] ?? '').trim();
        const value = (values[valueAt] ?? '').trim();
        if (name === '') return;
        if (props.has(name)) log.error(file, at(file, line, 'propertyName'), `repeats a property given on line ${props.get(name)!.line}`);
        else props.set(name, { value, line });
      },
    },
  );
  if (problem) {
    log.error(file, problem.location, problem.message);
    return false;
  }
  if (!ok) return false;

  const version = props.get('oneroster.version');
  if (!version) {
    log.error(file, file, 'has no oneroster.version property');
    return false;
  }
  if (version.value !== '1.1' && version.value !== '1.2') {
    log.error(file, at(file, version.line, 'value'), 'oneroster.version must be 1.1 or 1.2');
    return false;
  }
  pkg.version = version.value;
  const manifestVersion = props.get('manifest.version');
  if (manifestVersion && manifestVersion.value !== '1.0') {
    log.warning(file, at(file, manifestVersion.line, 'value'), 'manifest.version is not 1.0; read as 1.0');
  }

  let valid = true;
  for (const [name, { value, line }] of props) {
    if (!name.startsWith('file.')) continue;
    if (value !== 'bulk' && value !== 'delta' && value !== 'absent') {
      log.error(file, at(file, line, 'value'), `${name} must be bulk, delta or absent`);
      valid = false;
    }
  }
  if (!valid) return false;
  for (const key of FILES) {
    if (key === 'roles' && pkg.version === '1.1') continue;
    pkg.modes[key] = (props.get(`file.${key}`)?.value as FileMode | undefined) ?? 'absent';
  }
  for (const key of FILES) {
    if (pkg.modes[key] === 'absent' && zip.has(`${key}.csv`) && !(key === 'roles' && pkg.version === '1.1')) {
      log.warning(file, `${key}.csv`, 'is in the zip but manifest.csv declares it absent: not read');
    }
  }
  const read = FILES.filter((k) => pkg.modes[k] !== 'absent');
  pkg.batchMode = read.some((k) => pkg.modes[k] === 'delta') ? 'delta' : 'full';
  if (read.length === 0) {
    log.error(file, file, 'declares none of orgs, users, roles, demographics, classes or enrollments: nothing to import');
    return false;
  }
  if (pkg.batchMode === 'full' && pkg.modes.users === 'absent') {
    log.error(file, file, 'file.users is absent: a bulk (full) import needs users.csv');
    return false;
  }
  return true;
}
