/** Streams may carry Buffers, other Uint8Arrays or (with an encoding set) strings; we want bytes. */
export function asBuffer(piece: unknown): Buffer {
  if (Buffer.isBuffer(piece)) return piece;
  if (piece instanceof Uint8Array) return Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  if (typeof piece === 'string') return Buffer.from(piece, 'utf8');
  throw new TypeError('an upload stream must carry bytes');
}
