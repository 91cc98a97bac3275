import { hash } from '@node-rs/argon2';
import { beforeAll, describe, expect, it } from 'vitest';
import { ARGON2_PARAMETERS, dummyVerify, hashPassword, needsRehash, preparePasswordHashing, verifyPassword } from './password-hash.ts';

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function phcParameters(stored: string): { m: number; t: number; p: number; saltBytes: number; hashBytes: number } {
  const match = PHC.exec(stored);
  if (!match) throw new Error('not an argon2id PHC string');
  const [, m, t, p, salt, digest] = match;
  return {
    m: Number(m),
    t: Number(t),
    p: Number(p),
    saltBytes: Buffer.from(salt!, 'base64').length,
    hashBytes: Buffer.from(digest!, 'base64').length,
  };
}

/** Medians of the two actions' durations, run alternately so a change in machine load hits both alike. */
async function alternatingMediansMs(rounds: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number, number]> {
  const samples: [number[], number[]] = [[], []];
  for (let i = 0; i < rounds; i++) {
    for (const [index, action] of [a, b].entries()) {
      const started = performance.now();
      await action();
      samples[index]!.push(performance.now() - started);
    }
  }
  const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  return [median(samples[0]), median(samples[1])];
}

describe('password hashing (C02, C03, C56)', () => {
  it('C56: stores argon2id PHC strings with the exported parameters, at or above ASVS Appendix C / OWASP', async () => {
    const stored = await hashPassword('Quartz-Lantern-47-Harbour');
    const used = phcParameters(stored);
    expect(used).toMatchObject({
      m: ARGON2_PARAMETERS.memoryCost,
      t: ARGON2_PARAMETERS.timeCost,
      p: ARGON2_PARAMETERS.parallelism,
      saltBytes: 16,
      hashBytes: ARGON2_PARAMETERS.outputLen,
    });
    // OWASP's equivalent minimum settings: m=47104 with t=1, or m=19456 with t=2.
    expect((used.m >= 19456 && used.t >= 2) || (used.m >= 47104 && used.t >= 1)).toBe(true);
  });

  it('C56: salts each hash, so the same password never gives the same string twice', async () => {
    const [a, b] = await Promise.all([hashPassword('Quartz-Lantern-47-Harbour'), hashPassword('Quartz-Lantern-47-Harbour')]);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, 'Quartz-Lantern-47-Harbour')).toBe(true);
    expect(await verifyPassword(b, 'Quartz-Lantern-47-Harbour')).toBe(true);
  });

  it('C02: a 64-character and a 128-character passphrase hash and verify; a changed one does not', async () => {
    const at64 = 'lantern quince oboe marmot velvet fjord tablespoon gravel kettle';
    const at128 = `${at64} harbour saffron tundra lichen octagon marsupial drum bellow qu!`;
    expect([...at64]).toHaveLength(64);
    expect([...at128]).toHaveLength(128);
    for (const passphrase of [at64, at128]) {
      const stored = await hashPassword(passphrase);
      expect(await verifyPassword(stored, passphrase)).toBe(true);
      expect(await verifyPassword(stored, `${passphrase.slice(0, -1)}?`)).toBe(false);
    }
  });

  it('C02: two passwords sharing their first 72 bytes do not both verify (no bcrypt-style truncation)', async () => {
    const shared = 'correct horse battery staple, correct horse battery staple, correct hors';
    expect(Buffer.byteLength(shared)).toBe(72);
    const stored = await hashPassword(`${shared}e-1`);
    expect(await verifyPassword(stored, `${shared}e-1`)).toBe(true);
    expect(await verifyPassword(stored, `${shared}e-2`)).toBe(false);
    expect(await verifyPassword(stored, shared)).toBe(false);

    // The same with multi-byte characters: 24 × '€' is 72 bytes of UTF-8.
    const euros = '€'.repeat(24);
    expect(Buffer.byteLength(euros)).toBe(72);
    const storedEuros = await hashPassword(`${euros}A`);
    expect(await verifyPassword(storedEuros, `${euros}A`)).toBe(true);
    expect(await verifyPassword(storedEuros, `${euros}B`)).toBe(false);
  });

  it('C03: verification is exact: case, surrounding spaces and Unicode form all matter', async () => {
    const stored = await hashPassword('Secret-pass1');
    expect(await verifyPassword(stored, 'Secret-pass1')).toBe(true);
    expect(await verifyPassword(stored, 'secret-pass1')).toBe(false);
    expect(await verifyPassword(stored, 'SECRET-PASS1')).toBe(false);
    expect(await verifyPassword(stored, ' Secret-pass1')).toBe(false);
    expect(await verifyPassword(stored, 'Secret-pass1 ')).toBe(false);

    const spaced = await hashPassword(' pass');
    expect(await verifyPassword(spaced, ' pass')).toBe(true);
    expect(await verifyPassword(spaced, 'pass')).toBe(false);
    expect(await verifyPassword(spaced, ' pass ')).toBe(false);

    // No normalisation either: "é" typed precomposed is not "e" + combining accent.
    const accented = await hashPassword('caf\u00e9-Secret-1');
    expect(await verifyPassword(accented, 'caf\u00e9-Secret-1')).toBe(true);
    expect(await verifyPassword(accented, 'cafe\u0301-Secret-1')).toBe(false);
  });

  it('refuses to treat a damaged stored hash as a wrong password', async () => {
    await expect(verifyPassword('not a hash', 'anything')).rejects.toThrow();
  });
});

describe('re-hashing', () => {
  it('needsRehash is false for a hash made today', async () => {
    expect(needsRehash(await hashPassword('Quartz-Lantern-47-Harbour'))).toBe(false);
  });

  it('needsRehash is true for weaker or other parameters, other variants and non-argon2 hashes; old hashes still verify', async () => {
    const password = 'Quartz-Lantern-47-Harbour';
    const owaspMinimum = await hash(password, { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 });
    const fewerPasses = await hash(password, { ...ARGON2_PARAMETERS, timeCost: ARGON2_PARAMETERS.timeCost - 1 });
    const moreLanes = await hash(password, { ...ARGON2_PARAMETERS, parallelism: 2 });
    const argon2i = await hash(password, { ...ARGON2_PARAMETERS, algorithm: 1 });
    for (const old of [owaspMinimum, fewerPasses, moreLanes, argon2i]) {
      expect(needsRehash(old), old).toBe(true);
      expect(await verifyPassword(old, password), old).toBe(true);
    }
    expect(needsRehash('$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234')).toBe(true);
    expect(needsRehash('')).toBe(true);
  });
});

describe('dummy verification (same answer time whether or not the account exists)', () => {
  beforeAll(async () => {
    await preparePasswordHashing();
  });

  it('always answers false, even for a password that might be anyone’s', async () => {
    for (const password of ['', 'Quartz-Lantern-47-Harbour', 'x'.repeat(200)]) {
      expect(await dummyVerify(password)).toBe(false);
    }
  });

  it('takes about as long as verifying a real hash', async () => {
    const stored = await hashPassword('Quartz-Lantern-47-Harbour');
    await verifyPassword(stored, 'warm-up');
    await dummyVerify('warm-up');
    const [real, dummy] = await alternatingMediansMs(
      7,
      () => verifyPassword(stored, 'Wrong-Guess-1'),
      () => dummyVerify('Wrong-Guess-1'),
    );
    // Generous: the machine runs other tests at the same time. A dummy that skipped argon2 would
    // take well under a millisecond; one that hashed anew each time would take about twice as long.
    expect(dummy / real).toBeGreaterThan(0.5);
    expect(dummy / real).toBeLessThan(1.8);
  });
});
