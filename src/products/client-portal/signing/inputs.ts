import { isIP } from 'node:net';
import { z } from 'zod';
import { parseOrThrow } from '../../../platform/validation.ts';

/**
 * The shapes the signing engine accepts, checked once at each public entry point so that bad
 * input is a ValidationError naming the field (a 400 upstream), never a pdf-lib stack trace.
 * Text limits keep a stamp or an audit row to a sensible size; they are far above real names.
 */

const text = (max: number) => z.string().trim().min(1, 'is required').max(max, `must be at most ${max} characters`);

export const signerSchema = z.object({
  name: text(200),
  email: z.email('must be an e-mail address').max(320),
});

export const signatureMarkSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('typed'), text: text(100) }),
  // The bytes are checked in png.ts (magic number, header, dimensions), which knows PNG.
  z.object({ kind: z.literal('drawn'), png: z.instanceof(Uint8Array, { message: 'must be a PNG image as bytes' }) }),
]);

/** In PDF points (1/72 inch) from the bottom-left corner of the page's visible area; page is 1-based. */
export const placementSchema = z.object({
  page: z.number().int().min(1),
  x: z.number().finite().min(0),
  y: z.number().finite().min(0),
  width: z.number().finite().min(72, 'must be at least 72 points (1 inch)'),
  height: z.number().finite().min(36, 'must be at least 36 points (half an inch)'),
});

export const signingEventSchema = z.object({
  /** What happened, in the portal's words: "Sent for signature", "Opened", "Signed". */
  what: text(200),
  at: z.date(),
  /** Who did it, as the portal knows them: name and e-mail address. */
  who: text(400),
  ipAddress: z
    .string()
    .refine((ip) => isIP(ip) !== 0, 'must be an IPv4 or IPv6 address')
    .nullish(),
  // Long user agents are accepted and cut when drawn (limits.ts); this only bounds memory.
  userAgent: z.string().max(16_384).nullish(),
});

export const documentTitleSchema = text(300);
export const documentIdSchema = text(100);
export const practiceNameSchema = text(300);

export const signedAtSchema = z.date({ message: 'must be a valid date' });

export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256');

export type Signer = z.output<typeof signerSchema>;
/** Spelled out rather than inferred: zod would narrow the bytes to Uint8Array<ArrayBuffer>, refusing a Node Buffer. */
export type SignatureMark = { kind: 'typed'; text: string } | { kind: 'drawn'; png: Uint8Array };
export type Placement = z.output<typeof placementSchema>;
export type SigningEvent = z.input<typeof signingEventSchema>;

/** parseOrThrow with the field names prefixed, so "name" reads "signer.name". */
export function parseField<T extends z.ZodType>(field: string, schema: T, value: unknown): z.output<T> {
  return parseOrThrow(z.object({ [field]: schema }), { [field]: value })[field] as z.output<T>;
}
