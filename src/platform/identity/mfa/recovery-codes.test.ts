import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { matchRecoveryCode, newRecoveryCodes, normaliseRecoveryCode, RECOVERY_CODE_BITS } from './index.ts';

const FORMAT = /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/;

describe('recovery codes', () => {
  it('makes 10 distinct, human-formatted codes with at least 64 bits each', () => {
    const { codes, hashes } = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(hashes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    expect(new Set(hashes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(FORMAT);
    expect(RECOVERY_CODE_BITS).toBeGreaterThanOrEqual(64);
    expect(newRecoveryCodes(3).codes).toHaveLength(3);
    expect(() => newRecoveryCodes(0)).toThrow();
  });

  it('uses every symbol of the alphabet and none outside it (no modulo bias, no ambiguous letters)', () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      for (const code of newRecoveryCodes().codes) {
        for (const char of code.replace(/-/g, '')) seen.set(char, (seen.get(char) ?? 0) + 1);
      }
    }
    expect([...seen.keys()].sort().join('')).toBe('0123456789abcdefghjkmnpqrstvwxyz');
    // 16,000 symbols over 32: about 500 each; a biased generator would stray far from that.
    for (const count of seen.values()) expect(count).toBeGreaterThan(350);
  });

  it('stores only SHA-256 hashes, never the codes', () => {
    const { codes, hashes } = newRecoveryCodes();
    for (const [i, hash] of hashes.entries()) {
      const code = codes[i]!;
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(hash).not.toContain(code.replace(/-/g, ''));
      expect(hash).toBe(crypto.createHash('sha256').update(code.replace(/-/g, '')).digest('hex'));
    }
  });

  it('matches each code exactly once once the caller removes the used hash', () => {
    const { codes, hashes } = newRecoveryCodes();
    let unused = [...hashes];
    for (const [i, code] of codes.entries()) {
      const matched = matchRecoveryCode(code, unused);
      expect(matched).toBe(hashes[i]);
      unused = unused.filter((hash) => hash !== matched);
      expect(matchRecoveryCode(code, unused)).toBeUndefined();
    }
    expect(unused).toEqual([]);
  });

  it('normalises case, spaces, dashes and the usual misreadings', () => {
    const { codes, hashes } = newRecoveryCodes();
    const code = codes[0]!;
    const bare = code.replace(/-/g, '');
    expect(normaliseRecoveryCode(code)).toBe(bare);
    expect(normaliseRecoveryCode(` ${code.toUpperCase()} `)).toBe(bare);
    expect(normaliseRecoveryCode(bare.match(/.{1,2}/g)!.join(' '))).toBe(bare);
    expect(normaliseRecoveryCode(code.replace(/-/g, '\u2013'))).toBe(bare);
    expect(matchRecoveryCode(code.toUpperCase().replace(/-/g, ' '), hashes)).toBe(hashes[0]);
    // Crockford's corrections: o reads as 0, i and l as 1.
    expect(normaliseRecoveryCode('0OoI-1iLl-abcd-efgh')).toBe('00011111abcdefgh');
  });

  it('does not match a wrong, truncated or malformed code', () => {
    const { codes, hashes } = newRecoveryCodes();
    const code = codes[0]!;
    const last = code.at(-1)!;
    const changed = code.slice(0, -1) + (last === 'a' ? 'b' : 'a');
    expect(matchRecoveryCode(changed, hashes)).toBeUndefined();
    expect(matchRecoveryCode(newRecoveryCodes(1).codes[0]!, hashes)).toBeUndefined();
    expect(matchRecoveryCode(code.slice(0, -1), hashes)).toBeUndefined();
    expect(matchRecoveryCode(code + 'a', hashes)).toBeUndefined();
    expect(matchRecoveryCode('', hashes)).toBeUndefined();
    expect(matchRecoveryCode('uuuu-uuuu-uuuu-uuuu', hashes)).toBeUndefined();
    expect(normaliseRecoveryCode('uuuu-uuuu-uuuu-uuuu')).toBeUndefined();
    // The stored hash itself is not accepted as a code.
    expect(matchRecoveryCode(hashes[0]!, hashes)).toBeUndefined();
    expect(matchRecoveryCode(code, [])).toBeUndefined();
  });
});
