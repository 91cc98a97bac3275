import { ALLOWED_KINDS, kindsForDeclaredType, kindsForExtension } from './allowed.ts';
import { checkFilename, type SafeFilename } from './filename.ts';
import { UploadRefused, type DocumentKind } from './types.ts';

/**
 * What the client says the file is, by its filename extension and by its declared content type.
 * A claim of a type we never take is refused before a byte is read; otherwise the content has
 * to agree with both.
 */
export interface Claims {
  filename: SafeFilename;
  byExtension: DocumentKind[];
  /** undefined when the client declared nothing specific (application/octet-stream or no type). */
  byDeclaredType: DocumentKind[] | undefined;
}

export function readClaims(declaredType: string | undefined, filename: string | undefined): Claims {
  const safeName = checkFilename(filename);
  const byExtension = kindsForExtension(safeName.extension);
  if (byExtension.length === 0) throw new UploadRefused('filename', 'type-not-allowed', 'has an extension that is not an accepted document type');
  const declared = parseMediaType(declaredType);
  const byDeclaredType = kindsForDeclaredType(declared);
  if (byDeclaredType?.length === 0) throw new UploadRefused('contentType', 'type-not-allowed', 'is not an accepted document type');
  // An extension and a type that disagree are not refused yet: the content shows which one lies.
  return { filename: safeName, byExtension, byDeclaredType };
}

/** The bare `type/subtype`, lower case; parameters such as `charset` are dropped. */
function parseMediaType(raw: string | undefined): string {
  const type = (raw ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === '') return type;
  if (type.length > 127 || !/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/u.test(type)) {
    throw new UploadRefused('contentType', 'bad-content-type', 'is not a valid media type');
  }
  return type;
}

/**
 * The one kind the content, the extension and the declared type all allow; otherwise a refusal
 * that blames whichever claim disagrees with the content (both: the file itself is the liar).
 * `contentKinds` has several members only for text (CSV and plain text look alike) and for a ZIP
 * whose Office flavour is not known yet.
 */
export function agreeOnKind(contentKinds: readonly DocumentKind[], contentLabel: string, claims: Claims): DocumentKind {
  const byExtension = contentKinds.filter((kind) => claims.byExtension.includes(kind));
  const byDeclared = claims.byDeclaredType ? contentKinds.filter((kind) => claims.byDeclaredType!.includes(kind)) : [...contentKinds];
  const agreed = byExtension.find((kind) => byDeclared.includes(kind));
  if (agreed) return agreed;
  if (byExtension.length === 0 && byDeclared.length === 0) {
    throw new UploadRefused('file', 'type-mismatch', `content is ${contentLabel}, which matches neither the filename extension nor the declared content type`);
  }
  if (byExtension.length === 0) throw new UploadRefused('filename', 'type-mismatch', `extension does not match the content, which is ${contentLabel}`);
  throw new UploadRefused('contentType', 'type-mismatch', `does not match the content, which is ${contentLabel}`);
}

export function labelOf(kinds: readonly DocumentKind[]): string {
  if (kinds.every((kind) => kind === 'csv' || kind === 'text')) return 'text';
  return kinds.length === 1 ? ALLOWED_KINDS[kinds[0]!].label : 'a ZIP archive';
}
