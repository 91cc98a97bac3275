import crypto from 'node:crypto';
import canonicalize from 'canonicalize';
import type { TenantCipher } from '../../../platform/crypto/tenant-keys.ts';
import type { AttendanceRecord, ContactLink, Entity, Photo } from '../model.ts';

/**
 * What the engine stores of each record. The personal values of a record are one JSON document,
 * sealed into `data_enc` with the purpose `<table>.data`: the model record (model.ts) without its
 * `misId` (a column of its own), with a photo replaced by `{contentType, sha256}` (the bytes are an
 * encrypted blob, `photo_blob_id`) and, for contacts, without `links` (rows of pupil_contacts).
 * Fields the source did not carry are absent from the document.
 */
export type Doc = Record<string, unknown>;

/** The sealed document of one pupil–contact link (`pupil_contacts.data_enc`, purpose 'pupil_contacts.data'). */
export type LinkDoc = Omit<ContactLink, 'pupilMisId'>;

export const DATA_PURPOSE = {
  pupils: 'pupils.data',
  contacts: 'contacts.data',
  staff: 'staff.data',
  links: 'pupil_contacts.data',
  attendanceCode: 'attendance_marks.code',
} as const;

/** Blind-index purposes for search: names are lower-cased and trimmed (normaliseForIndex) before hashing. */
export const INDEX_PURPOSE = { name: 'sync.name', upn: 'sync.upn' } as const;

export function canonical(value: unknown): string {
  return canonicalize(value) ?? 'null';
}

/** A copy with `omit` left out and undefined values dropped (at any depth), as plain JSON. */
export function toDoc(record: object, omit: readonly string[]): Doc {
  const copy: Doc = {};
  for (const [key, value] of Object.entries(record)) {
    if (!omit.includes(key) && value !== undefined) copy[key] = value;
  }
  return JSON.parse(JSON.stringify(copy)) as Doc;
}

export function photoMeta(photo: Photo | null): { contentType: string; sha256: string } | null {
  if (!photo) return null;
  return { contentType: photo.contentType, sha256: crypto.createHash('sha256').update(photo.data).digest('hex') };
}

/**
 * The keyed hash that tells whether a record changed (`content_hash`). It covers the record's MIS id
 * too, so two records with the same values do not show equal hashes, and it hashes a SHA-256 of the
 * canonical JSON (RFC 8785) rather than the JSON itself: blind indexes fold case, and a change of
 * case in a name is a change.
 */
export function contentHash(cipher: TenantCipher, entity: Entity, content: unknown): string {
  const digest = crypto.createHash('sha256').update(canonical(content)).digest('hex');
  return cipher.blindIndex(`sync.${entity}.content`, digest);
}

/**
 * The content hash of one attendance mark (240,000 a term in a large school, so kept cheap): the
 * mark's JSON as hex (case-preserving under the blind index's case folding) rather than a digest.
 */
export function attendanceHash(cipher: TenantCipher, mark: AttendanceRecord): string {
  const text = JSON.stringify([mark.pupilMisId, mark.date, mark.session, mark.code]);
  return cipher.blindIndex('sync.attendance.content', Buffer.from(text, 'utf8').toString('hex'));
}

/** Names (never values) of the fields whose values differ between two documents, sorted. */
export function changedFields(before: Doc, after: Doc): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((key) => canonical(before[key] ?? null) !== canonical(after[key] ?? null)).sort();
}

export function nameIndex(cipher: TenantCipher, value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? cipher.blindIndex(INDEX_PURPOSE.name, value) : null;
}

export function upnIndex(cipher: TenantCipher, value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? cipher.blindIndex(INDEX_PURPOSE.upn, value) : null;
}

/** Today's date (UTC) as YYYY-MM-DD: the `left_at` of records a full run no longer lists. */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}
