import { generateSync, ScureBase32Plugin } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../../test/harness.ts';
import { DecryptionError } from '../../crypto/aead.ts';
import {
  currentTotp,
  newTotpSecret,
  openTotpSecret,
  sealTotpSecret,
  totpQrSvg,
  totpStep,
  totpUri,
  verifyTotp,
} from './index.ts';

const base32 = new ScureBase32Plugin();
// RFC 6238 appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
const RFC_SECRET = base32.encode(new TextEncoder().encode('12345678901234567890'), { padding: false });

/** A code computed by otplib directly, independent of our wrapper. */
const otplibCode = (secret: string, at: Date) => generateSync({ secret, epoch: Math.floor(at.getTime() / 1000) });

describe('TOTP secret and enrolment URI', () => {
  it('makes 160-bit base32 secrets from the CSPRNG, different every time', () => {
    const secrets = new Set(Array.from({ length: 50 }, () => newTotpSecret()));
    expect(secrets.size).toBe(50);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(base32.decode(secret)).toHaveLength(20);
    }
  });

  it('builds an otpauth URI with the right parameters and encodes issuer and account', () => {
    const secret = newTotpSecret();
    const uri = totpUri({ secret, accountName: 'ada lovelace+mfa@example.test', issuer: 'Custos & Co' });
    const url = new URL(uri);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    // The label is Issuer:account with each part percent-encoded (no raw space, @ or &).
    expect(url.pathname).toBe('/Custos%20%26%20Co:ada%20lovelace%2Bmfa%40example.test');
    const [issuerPart, accountPart] = url.pathname.slice(1).split(':');
    expect(decodeURIComponent(issuerPart!)).toBe('Custos & Co');
    expect(decodeURIComponent(accountPart!)).toBe('ada lovelace+mfa@example.test');
    expect(url.searchParams.get('secret')).toBe(secret);
    expect(url.searchParams.get('issuer')).toBe('Custos & Co');
    expect(url.searchParams.get('algorithm')).toBe('SHA1');
    expect(url.searchParams.get('digits')).toBe('6');
    expect(url.searchParams.get('period')).toBe('30');
    expect([...url.searchParams.keys()].sort()).toEqual(['algorithm', 'digits', 'issuer', 'period', 'secret']);
  });

  it('defaults the issuer to Custos and refuses colons that would break the label', () => {
    const secret = newTotpSecret();
    const url = new URL(totpUri({ secret, accountName: 'head@school.test' }));
    expect(url.pathname).toBe('/Custos:head%40school.test');
    expect(url.searchParams.get('issuer')).toBe('Custos');
    expect(() => totpUri({ secret, accountName: 'a:b@example.test' })).toThrow(/colon/);
    expect(() => totpUri({ secret, accountName: 'a@example.test', issuer: 'Evil:Co' })).toThrow(/colon/);
    expect(() => totpUri({ secret: 'not base32!', accountName: 'a@example.test' })).toThrow(/base32/);
  });

  it('draws the QR code as an accessible SVG with a title and without the secret in plain sight', async () => {
    const secret = newTotpSecret();
    const svg = await totpQrSvg(totpUri({ secret, accountName: 'head@school.test' }));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toMatch(/^<svg[^>]*\brole="img"[^>]*><title>QR code[^<]+<\/title>/);
    expect(svg).toContain('<path');
    expect(svg).not.toContain(secret);
    const custom = await totpQrSvg('otpauth://totp/x', { title: 'Scan <this> & go' });
    expect(custom).toContain('<title>Scan &lt;this&gt; &amp; go</title>');
  });
});

describe('TOTP verification', () => {
  const secret = newTotpSecret();
  const now = new Date('2026-03-02T10:15:07Z');
  const step = totpStep(now);
  const at = (offsetSeconds: number) => new Date(now.getTime() + offsetSeconds * 1000);

  it('matches RFC 6238 SHA-1 test vectors', () => {
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, eight] of vectors) {
      // Our 6-digit codes are the RFC's 8-digit values mod 10^6.
      expect(generateSync({ secret: RFC_SECRET, epoch: seconds, digits: 8 })).toBe(eight);
      expect(currentTotp(RFC_SECRET, new Date(seconds * 1000))).toBe(eight.slice(2));
      expect(verifyTotp({ secret: RFC_SECRET, code: eight.slice(2), lastUsedStep: null, now: new Date(seconds * 1000) })).toEqual({
        ok: true,
        step: Math.floor(seconds / 30),
      });
    }
  });

  it('accepts a code otplib generates for now and returns its step', () => {
    const code = otplibCode(secret, now);
    expect(currentTotp(secret, now)).toBe(code);
    expect(verifyTotp({ secret, code, lastUsedStep: null, now })).toEqual({ ok: true, step });
  });

  it('accepts one step of drift either way (±30 s) and refuses two or three steps (±60 s, ±90 s)', () => {
    const behind = otplibCode(secret, at(-30));
    const ahead = otplibCode(secret, at(30));
    expect(verifyTotp({ secret, code: behind, lastUsedStep: null, now })).toEqual({ ok: true, step: step - 1 });
    expect(verifyTotp({ secret, code: ahead, lastUsedStep: null, now })).toEqual({ ok: true, step: step + 1 });
    for (const offset of [-90, -60, 60, 90]) {
      const far = otplibCode(secret, at(offset));
      // Guard against the one-in-a-million case where the far code equals a code in the window.
      const window = [-30, 0, 30].map((o) => otplibCode(secret, at(o)));
      expect(window).not.toContain(far);
      expect(verifyTotp({ secret, code: far, lastUsedStep: null, now })).toEqual({ ok: false, reason: 'wrong' });
    }
  });

  it('refuses the same code a second time once the returned step is stored', () => {
    const code = otplibCode(secret, now);
    const first = verifyTotp({ secret, code, lastUsedStep: step - 5, now });
    expect(first).toEqual({ ok: true, step });
    if (!first.ok) throw new Error('unreachable');
    expect(verifyTotp({ secret, code, lastUsedStep: first.step, now })).toEqual({ ok: false, reason: 'replayed' });
    // Still refused 20 s later, while the code is inside the drift window.
    expect(verifyTotp({ secret, code, lastUsedStep: first.step, now: at(20) })).toEqual({ ok: false, reason: 'replayed' });
  });

  it('refuses a code from a step before the last one used, and accepts the next step', () => {
    const earlier = otplibCode(secret, at(-30));
    expect(verifyTotp({ secret, code: earlier, lastUsedStep: step, now })).toEqual({ ok: false, reason: 'replayed' });
    const next = otplibCode(secret, at(30));
    expect(verifyTotp({ secret, code: next, lastUsedStep: step, now })).toEqual({ ok: true, step: step + 1 });
  });

  it('says wrong for a well-formed code that is not the current one', () => {
    const code = otplibCode(secret, now);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const window = [-30, 0, 30].map((o) => otplibCode(secret, at(o)));
    expect(window).not.toContain(wrong);
    expect(verifyTotp({ secret, code: wrong, lastUsedStep: null, now })).toEqual({ ok: false, reason: 'wrong' });
    // A code for another secret does not verify either.
    expect(window).not.toContain(otplibCode(newTotpSecret(), now));
  });

  it('refuses malformed input before checking it', () => {
    for (const code of ['12345', 'abcdef', '1234567', '', '12345a', '12-3456', '１２３４５６', '0x1234']) {
      expect(verifyTotp({ secret, code, lastUsedStep: null, now }), code).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('ignores spaces in what the user typed', () => {
    const code = otplibCode(secret, now);
    const spaced = ` ${code.slice(0, 3)} ${code.slice(3)}\t`;
    expect(verifyTotp({ secret, code: spaced, lastUsedStep: null, now })).toEqual({ ok: true, step });
  });
});

describe('TOTP secret at rest', () => {
  let platform: TestPlatform;
  let org: TestOrganisation;

  beforeAll(async () => {
    platform = await startTestPlatform();
    org = await createTestOrganisation(platform);
  });
  afterAll(async () => platform?.close());

  it('seals the secret with the tenant key, round-trips it, and binds it to its purpose', async () => {
    const secret = newTotpSecret();
    const { sealed, opened } = await asSystem(platform, org.id, async (scope) => {
      const sealed = sealTotpSecret(scope.cipher, secret);
      return { sealed, opened: openTotpSecret(scope.cipher, sealed) };
    });
    expect(opened).toBe(secret);
    expect(sealed).not.toContain(secret);
    expect(sealed.toLowerCase()).not.toContain(secret.toLowerCase());
    expect(Buffer.from(sealed.split('.')[2]!, 'base64url').toString('latin1')).not.toContain(secret);
    // Sealed for users.totp_secret, it cannot be opened as another field.
    await expect(asSystem(platform, org.id, async (scope) => scope.cipher.open('users.email', sealed))).rejects.toThrow(DecryptionError);
    // Nor with another tenant's keys.
    const other = await createTestOrganisation(platform);
    await expect(asSystem(platform, other.id, async (scope) => openTotpSecret(scope.cipher, sealed))).rejects.toThrow(DecryptionError);
  });
});
