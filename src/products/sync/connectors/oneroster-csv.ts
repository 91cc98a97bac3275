import path from 'node:path';
import { emptyBatch, type ImportBatch } from '../model.ts';
import { buildBatch } from './oneroster/csv-build.ts';
import { readFile } from './oneroster/csv-file.ts';
import { readManifest } from './oneroster/csv-manifest.ts';
import { emptyPackage, FILES } from './oneroster/csv-package.ts';
import { PackageZip } from './oneroster/csv-zip.ts';
import { ProblemLog } from './problems.ts';
import type { ImportSource } from './import-file.ts';

/**
 * OneRoster v1.1 and v1.2 CSV binding (a zip of CSV files described by manifest.csv) → ImportBatch.
 *
 * Sources: 1EdTech OneRoster CSV Tables v1.1 and CSV Binding v1.2.1 (imsglobal.org/spec/oneroster/
 * v1p2/bind/csv); column orders cross-checked with open implementations of both versions.
 *
 * - manifest.csv (`propertyName,value`) is read first; only files it declares `bulk` or `delta` are
 *   read. A package whose files are all bulk gives mode 'full'; any delta file makes it 'delta', where
 *   `status=tobedeleted` rows become `removed` and `active` rows are upserts.
 * - users.csv: role student → pupil, teacher / aide / administrator (and the 1.2 administrator
 *   roles, counselor, proctor) → staff, parent / guardian / relative → contact. In 1.1 the role is a
 *   users.csv column; in 1.2 it comes from roles.csv (a users.csv `role` column is used when there is
 *   no roles.csv). Contacts link to pupils through `agentSourcedIds`, which 1.1 and 1.2 both keep on
 *   users.csv (a student lists its agents, a parent its students; both directions are read).
 * - demographics.csv (keyed by the user's sourcedId): birthDate → dateOfBirth, sex → gender
 *   (male M, female F, other X, unspecified U). Its race flags have no CBDS equivalent: ethnicity is
 *   left unset and one warning says so.
 * - classes.csv: classType homeroom → registration group, scheduled → class; enrollments.csv gives
 *   the members. In a delta, a class's members are those the package lists for it.
 * - grades (users, else the pupil's homeroom class): CEDS grade level → the pupil's NC year code, as
 *   the CTF connector gives it ('07' → '7', 'KG' → 'R', 'PK' → 'N2', 'PR' → 'N1'; an NC year code is
 *   accepted as it is). In a full import each year becomes a year group (`year:<code>`, named
 *   'Year 7', …) as in the CTF connector. A pupil's registrationGroup is its homeroom's classCode
 *   (else title).
 *
 * Every CSV is streamed out of the zip through csv-parse; nothing reads a whole file into memory.
 * Problems name the file, line and column, never a value.
 */

export { CEDS_GRADE_TO_NC_YEAR, ENROLLMENT_MEMBER, relationshipFor, ROLE_ENTITY, SEX_TO_GENDER, yearGroupFromGrade, type PersonEntity } from './oneroster/tables.ts';

class OneRosterReader {
  readonly log = new ProblemLog();
  private readonly zipName: string;
  private readonly zip: PackageZip;
  private readonly pkg = emptyPackage();

  constructor(source: ImportSource) {
    this.zipName = typeof source === 'string' ? path.basename(source) : source.name;
    this.zip = new PackageZip(source, this.log);
  }

  async run(): Promise<ImportBatch> {
    try {
      if (await this.zip.open()) {
        if (await readManifest(this.zip, this.log, this.pkg)) {
          for (const key of FILES) if (this.pkg.modes[key] !== 'absent') await readFile(this.zip, this.log, this.pkg, key);
          return this.finish(buildBatch(this.log, this.pkg));
        }
      }
    } catch {
      this.log.error(this.zipName, this.zipName, 'could not be read');
    } finally {
      this.zip.close();
    }
    return this.finish(emptyBatch(this.pkg.batchMode));
  }

  private finish(batch: ImportBatch): ImportBatch {
    this.log.finish();
    // A full package speaks only for what its manifest includes: without classes.csv, groups
    // held from an earlier run have not left.
    const covers: ImportBatch['covers'] = [];
    if (this.pkg.modes.users && this.pkg.modes.users !== 'absent') covers.push('pupils', 'contacts', 'staff');
    if (this.pkg.modes.classes && this.pkg.modes.classes !== 'absent') covers.push('groups');
    batch.covers = covers;
    batch.errors = this.log.errors;
    batch.warnings = this.log.warnings;
    return batch;
  }
}

/**
 * Reads a OneRoster 1.1 / 1.2 CSV zip. Never rejects: a file that is not a zip, has no manifest
 * or breaks the binding comes back with `errors` (location and reason, never a personal value).
 */
export async function readOneRosterCsv(source: ImportSource): Promise<ImportBatch> {
  return new OneRosterReader(source).run();
}
