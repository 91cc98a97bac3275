import { emptyBatch, type ImportBatch, type SchoolInfo } from '../model.ts';
import { buildBatch, entitiesOf } from './oneroster/rest-build.ts';
import {
  asGone,
  classSchema,
  demographicsSchema,
  enrollmentSchema,
  goneEnrollmentSchema,
  goneUserSchema,
  head,
  orgSchema,
  userSchema,
  type Demographics,
  type Enrollment,
  type GoneUser,
  type OneRosterClass,
  type Org,
  type Read,
  type User,
} from './oneroster/rest-schemas.ts';
import { OneRosterService, type OneRosterRestOptions, type OneRosterRestSettings } from './oneroster/rest-service.ts';

/**
 * OneRoster v1.1 / v1.2 REST (Rostering service, JSON binding) → ImportBatch.
 *
 * Sources: 1EdTech "OneRoster Rostering Service REST/JSON Binding" v1.2 (imsglobal.org/sites/default/
 * files/spec/oneroster/v1p2/rostering-restbinding/…) and the v1.1 REST binding as implemented by
 * ClassLink, GG4L, Aeries and Microsoft School Data Sync's OneRoster API guide; OAuth 2 client
 * credentials as in RFC 6749 §4.4 (client authenticated with HTTP Basic, §2.3.1).
 *
 * - Token: one client-credentials request (Basic auth, scopes roster-core.readonly and
 *   roster-demographics.readonly); refreshed before it expires and once more on a 401.
 * - Paths: `/ims/oneroster/v1p1/…` (1.1) or `/ims/oneroster/rostering/v1p2/…` (1.2) under `baseUrl`
 *   (a baseUrl that already ends in `/ims/oneroster/…` is used as it is).
 * - Collections read: orgs (the school), users (every role: students, teachers and the like,
 *   parents / guardians / relatives), demographics, classes, enrollments; each paged with
 *   `limit` / `offset` until `X-Total-Count` (or, without it, a short page with no `Link: rel="next"`).
 * - Mapping follows the OneRoster CSV connector (oneroster-csv.ts): roles → pupils / staff /
 *   contacts, `agents` → contact links, homeroom / scheduled classes → registration / class groups,
 *   enrollments → members (a pupil's registrationGroup is its homeroom's classCode, else title),
 *   demographics birthDate / sex → date of birth / gender, CEDS grades → NC year code ('07' → '7';
 *   a full read also makes a `year:<code>` year group of each). A UPN is read from `userMasterIdentifier` (1.2), a `userIds` entry of type `UPN`, or an
 *   `identifier` of UPN form; any other identifier is the admission number.
 * - `since` → a delta: users and demographics are asked for with `filter=dateLastModified>'…'`;
 *   `tobedeleted` users and classes become `removed`. Classes and enrollments are always read whole
 *   (a group in a delta carries its whole membership), and any group whose class or enrollments
 *   changed since then is listed. A contact linked to a changed pupil, or a user whose demographics
 *   alone changed, is fetched on its own (`GET users/{id}`, `GET demographics/{id}`).
 *
 * Never rejects for a remote fault: an HTTP error, a malformed body or a cancelled signal comes
 * back as `errors` (with no records at all) whose location names the request, e.g.
 * `GET /ims/oneroster/v1p1/users?offset=100 (HTTP 500)`, or the request and JSON path of a bad
 * record (`…users?offset=0: users[3].familyName`). 429 and 5xx answers and network failures are
 * retried twice, waiting as `Retry-After` says (capped at 30 s) or 250 ms, then 500 ms. Messages
 * never carry the client secret, the token or a value read from a record. Plain http is refused
 * except to this machine; redirects are not followed; a body over 32 MiB is refused.
 *
 * Not confirmed against a live service: the exact UK use of `grades` (CEDS '07' for Year 7 is
 * assumed, as in the CSV connector), and whether providers list a parent's children in the parent's
 * own `agents` (both directions are read). `academicSessions` are not read: the model has no use for them.
 */

export type { OneRosterRestOptions, OneRosterRestSettings } from './oneroster/rest-service.ts';

class OneRosterRestReader extends OneRosterService {
  protected async read(): Promise<ImportBatch> {
    const batch = emptyBatch(this.mode);
    const delta = this.mode === 'delta';

    // The school.
    let schools = 0;
    await this.readCollection('orgs', orgSchema, asGone<Org>(head), false, (item) => {
      const org: Org = item.data;
      if (item.gone || org.type !== 'school') return;
      schools++;
      if (batch.school) return;
      const school: SchoolInfo = { name: org.name };
      const identifier = org.identifier ?? '';
      if (/^\d{6}$/.test(identifier)) school.urn = identifier;
      else if (/^\d{7}$/.test(identifier)) school.laEstab = identifier;
      batch.school = school;
    });
    if (schools > 1) this.warning(`GET ${this.serviceUrl.pathname}/orgs`, 'lists more than one school; the first is used for the school details');

    // People.
    const users = new Map<string, Read<User>>();
    const goneUsers = new Map<string, Read<GoneUser>>();
    await this.readCollection<User>('users', userSchema, asGone<User>(goneUserSchema), delta, (item) => {
      if (item.gone) goneUsers.set(item.data.sourcedId, item as Read<GoneUser>);
      else users.set(item.data.sourcedId, item);
    });

    const demographics = new Map<string, Read<Demographics>>();
    const demographicsRead = await this.readCollection('demographics', demographicsSchema, asGone<Demographics>(head), delta, (item) => {
      demographics.set(item.data.sourcedId, item);
    }, [403, 404]);
    if (!demographicsRead) {
      this.warning(`GET ${this.serviceUrl.pathname}/demographics`, 'demographics are not available to this client: dates of birth and sex are left unset');
    }

    // Classes and enrollments: always whole, so a group carries its whole membership.
    const classes = new Map<string, Read<OneRosterClass>>();
    await this.readCollection('classes', classSchema, asGone<OneRosterClass>(head), false, (item) => {
      classes.set(item.data.sourcedId, item);
    });
    const enrollments: Read<Enrollment>[] = [];
    await this.readCollection('enrollments', enrollmentSchema, asGone<Enrollment>(goneEnrollmentSchema), false, (item) => {
      enrollments.push(item);
    });

    // Delta: fetch, one by one, users whose demographics alone changed and contacts of changed pupils.
    if (delta) {
      const extra = new Set<string>();
      for (const id of demographics.keys()) if (!users.has(id) && !goneUsers.has(id)) extra.add(id);
      for (const u of users.values()) {
        if (!(entitiesOf(u.data) ?? []).includes('pupils')) continue;
        for (const agent of u.data.agents ?? []) if (!users.has(agent.sourcedId) && !goneUsers.has(agent.sourcedId)) extra.add(agent.sourcedId);
      }
      let missing = 0;
      for (const id of extra) {
        const one = await this.readOne<User>('users', 'user', id, userSchema, asGone<User>(goneUserSchema));
        if (one && !one.gone) users.set(id, one);
        else if (!one) missing++;
      }
      if (missing > 0) this.warning(`GET ${this.serviceUrl.pathname}/users/{id}`, `${missing} users named by changed records are not at the service; not read`);
      // Contacts need their sex for a relationship code: fetch the demographics the delta did not carry.
      if (demographicsRead) {
        for (const [id, u] of users) {
          if (demographics.has(id) || !(entitiesOf(u.data) ?? []).includes('contacts')) continue;
          const d = await this.readOne('demographics', 'demographics', id, demographicsSchema, asGone<Demographics>(head));
          if (d) demographics.set(id, { ...d, changed: false });
        }
      }
    }

    const context = {
      mode: this.mode,
      servicePath: this.serviceUrl.pathname,
      version: this.settings.version,
      warning: (location: string, message: string) => this.warning(location, message),
    };
    buildBatch(context, batch, users, goneUsers, demographics, demographicsRead, classes, enrollments);
    return batch;
  }
}

/**
 * Reads a school from a OneRoster 1.1 / 1.2 REST service. Never rejects for a remote fault: every
 * problem comes back in `errors` (location and reason, never a secret or a personal value), and a
 * batch with errors carries no records.
 */
export async function readOneRosterRest(settings: OneRosterRestSettings, options: OneRosterRestOptions = {}): Promise<ImportBatch> {
  return new OneRosterRestReader(settings, options).run();
}
