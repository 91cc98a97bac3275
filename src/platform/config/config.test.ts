import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

function problemsOf(env: Record<string, string>): { setting: string; reason: string }[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('defaults to the embedded database in ./data on port 3000', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toMatch(/\/data$/);
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://127.0.0.1:3000');
    expect(config.tls).toBeUndefined();
  });

  it('names each bad setting and why', () => {
    expect(problemsOf({ PORT: 'abc' })).toEqual([{ setting: 'PORT', reason: expect.any(String) }]);
    expect(problemsOf({ DATABASE_URL: 'mysql://localhost/x' })[0]).toEqual({ setting: 'DATABASE_URL', reason: expect.stringMatching(/postgres/) });
    expect(problemsOf({ CUSTOS_MASTER_KEY: 'c2hvcnQ=' })[0]).toEqual({ setting: 'CUSTOS_MASTER_KEY', reason: expect.stringMatching(/32 bytes/) });
    expect(problemsOf({ TLS_CERT_FILE: '/tmp/cert.pem' })[0]!.setting).toBe('TLS_KEY_FILE');
    expect(problemsOf({ SMTP_URL: 'http://mail' })[0]!.setting).toBe('SMTP_URL');
    expect(problemsOf({ LOG_LEVEL: 'loud' })[0]!.setting).toBe('LOG_LEVEL');
    const many = problemsOf({ PORT: '70000', CUSTOS_PUBLIC_URL: 'ftp://x' }).map((p) => p.setting);
    expect(many.sort()).toEqual(['CUSTOS_PUBLIC_URL', 'PORT']);
  });

  it('serves HTTPS and says so in the public URL when a certificate is given', () => {
    const config = loadConfig({ TLS_CERT_FILE: '/c.pem', TLS_KEY_FILE: '/k.pem', PORT: '8443' });
    expect(config.tls).toEqual({ certFile: '/c.pem', keyFile: '/k.pem' });
    expect(config.publicUrl).toBe('https://127.0.0.1:8443');
  });
});
