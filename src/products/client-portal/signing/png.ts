import { ValidationError } from '../../../platform/errors.ts';
import { MAX_SIGNATURE_PNG_BYTES, MAX_SIGNATURE_PNG_PIXELS, MAX_SIGNATURE_PNG_SIDE } from './limits.ts';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** PNG colour types and the bit depths each allows (PNG spec, table 11.1). */
const ALLOWED_BIT_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

export interface PngHeader {
  width: number;
  height: number;
}

/**
 * Checks a drawn signature before pdf-lib decodes it: the PNG signature, an IHDR chunk first (as
 * the format requires), sane colour type/bit depth and dimensions within our limits. pdf-lib would
 * otherwise inflate whatever it is given, or fail with a message about zlib that means nothing to
 * the person who drew the signature. `field` names the input in the error.
 */
export function checkSignaturePng(png: unknown, field: string): PngHeader {
  const refuse = (reason: string): never => {
    throw new ValidationError([{ field, reason }]);
  };
  if (!(png instanceof Uint8Array)) return refuse('must be a PNG image as bytes');
  if (png.length > MAX_SIGNATURE_PNG_BYTES) {
    refuse(`is ${png.length} bytes; a drawn signature is limited to ${MAX_SIGNATURE_PNG_BYTES} bytes`);
  }
  const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (bytes.length < 33 || !bytes.subarray(0, 8).equals(PNG_MAGIC)) return refuse('is not a PNG image');
  // Bytes 8-15: length (13) and type of the first chunk, which must be IHDR.
  if (bytes.readUInt32BE(8) !== 13 || bytes.toString('latin1', 12, 16) !== 'IHDR') {
    return refuse('is not a valid PNG image (no IHDR header)');
  }
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const bitDepth = bytes[24]!;
  const colourType = bytes[25]!;
  if (width === 0 || height === 0) refuse('is an empty image');
  if (!ALLOWED_BIT_DEPTHS[colourType]?.includes(bitDepth)) refuse('is not a valid PNG image (bad colour type or bit depth)');
  if (width > MAX_SIGNATURE_PNG_SIDE || height > MAX_SIGNATURE_PNG_SIDE || width * height > MAX_SIGNATURE_PNG_PIXELS) {
    refuse(`is ${width}×${height} pixels; a drawn signature is limited to ${MAX_SIGNATURE_PNG_SIDE} pixels a side`);
  }
  return { width, height };
}
