import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it, expect } from 'vitest';
import { readEnvironment } from '../../src/config/environment.ts';
import { ConfigError } from '../../src/config/load-config.ts';

const SECRET = 'x'.repeat(32);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempCwd(): string {
  const d = mkdtempSync(join(tmpdir(), 'mesa-env-'));
  dirs.push(d);
  return d;
}

/** The problems of the ConfigError readEnvironment throws (fails the test when it does not). */
function problemsOf(env: Record<string, string | undefined>, cwd = tempCwd()): string[] {
  try {
    readEnvironment(env, cwd);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('readEnvironment defaults', () => {
  it('runs with an empty environment on embedded defaults', () => {
    const cwd = tempCwd();
    const e = readEnvironment({}, cwd);
    expect(e).toMatchObject({
      dataDir: join(cwd, 'data'),
      configDir: join(cwd, 'config'),
      httpPort: 8080,
      publicUrl: null,
      imap: null,
      smtp: null,
      twilio: null,
      mailboxCredentials: {},
      mailboxAddresses: {},
    });
  });

  it('resolves relative dirs against cwd and keeps absolute ones', () => {
    const cwd = tempCwd();
    const abs = join(cwd, 'elsewhere');
    const e = readEnvironment({ MESA_DATA_DIR: 'var/mesa', MESA_CONFIG_DIR: abs, MESA_SECRET: SECRET }, cwd);
    expect(e.dataDir).toBe(join(cwd, 'var/mesa'));
    expect(e.configDir).toBe(abs);
  });

  it('treats blank variables as unset', () => {
    const e = readEnvironment({ MESA_HTTP_PORT: '   ', IMAP_HOST: '', MESA_SECRET: SECRET, MESA_PUBLIC_URL: ' ' }, tempCwd());
    expect(e.httpPort).toBe(8080);
    expect(e.imap).toBeNull();
    expect(e.publicUrl).toBeNull();
  });
});

describe('MESA_SECRET', () => {
  it('comes from the environment when set', () => {
    const cwd = tempCwd();
    const e = readEnvironment({ MESA_SECRET: SECRET }, cwd);
    expect(e).toMatchObject({ secret: SECRET, secretSource: 'env' });
    expect(existsSync(join(cwd, 'data', 'secret.key'))).toBe(false);
  });

  it('is generated once into the data dir, mode 0600, and reused afterwards', () => {
    const cwd = tempCwd();
    const first = readEnvironment({}, cwd);
    expect(first.secretSource).toBe('generated');
    expect(first.secret.length).toBeGreaterThanOrEqual(32);
    const file = join(cwd, 'data', 'secret.key');
    expect(readFileSync(file, 'utf8').trim()).toBe(first.secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = readEnvironment({}, cwd);
    expect(second).toMatchObject({ secret: first.secret, secretSource: 'data-dir' });
    expect(readEnvironment({}, tempCwd()).secret).not.toBe(first.secret);
  });

  it('an environment secret wins over the stored one', () => {
    const cwd = tempCwd();
    readEnvironment({}, cwd);
    expect(readEnvironment({ MESA_SECRET: SECRET }, cwd)).toMatchObject({ secret: SECRET, secretSource: 'env' });
  });

  it('rejects a short secret and never echoes it', () => {
    const problems = problemsOf({ MESA_SECRET: 'corto-123' });
    expect(problems).toEqual(['environment: MESA_SECRET: must be at least 16 characters']);
    expect(problems.join()).not.toContain('corto-123');
  });

  it('accepts exactly 16 characters', () => {
    expect(readEnvironment({ MESA_SECRET: '0123456789abcdef' }, tempCwd()).secret).toBe('0123456789abcdef');
  });

  // Regression (fixed): the stored secret is trusted blindly: an empty or truncated data/secret.key yields
  // secret "" and every reply token is then an HMAC under an empty key, which anyone can forge.
  it('rejects a stored secret that is empty or too short', () => {
    const cwd = tempCwd();
    mkdirSync(join(cwd, 'data'));
    writeFileSync(join(cwd, 'data', 'secret.key'), '\n');
    expect(() => readEnvironment({}, cwd)).toThrow(/secret/i);
  });
});

describe('ports and booleans', () => {
  it.each([
    ['MESA_HTTP_PORT', 'abc'],
    ['MESA_HTTP_PORT', '-1'],
    ['MESA_HTTP_PORT', '65536'],
    ['MESA_HTTP_PORT', '80.5'],
    ['MESA_HTTP_PORT', '8080x'],
  ])('rejects %s=%s naming the variable', (name, v) => {
    expect(problemsOf({ [name]: v, MESA_SECRET: SECRET })).toEqual([`environment: ${name}: "${v}" is not a port number`]);
  });

  it('rejects a bad IMAP or SMTP port when its host is set', () => {
    expect(problemsOf({ IMAP_HOST: 'imap.x.mx', IMAP_PORT: '99999', MESA_SECRET: SECRET })).toEqual(['environment: IMAP_PORT: "99999" is not a port number']);
    expect(problemsOf({ SMTP_HOST: 'smtp.x.mx', SMTP_PORT: 'smtp', MESA_SECRET: SECRET })).toEqual(['environment: SMTP_PORT: "smtp" is not a port number']);
  });

  // Regression (fixed): `Number(v)` accepts hex, exponent and binary forms, so MESA_HTTP_PORT=0x1F90 silently
  // means 8080 and 1e3 means 1000; a typo should be reported, not reinterpreted.
  it('rejects ports that are not plain decimal digits', () => {
    for (const v of ['0x1F90', '1e3', '0b1010']) {
      expect(() => readEnvironment({ MESA_HTTP_PORT: v, MESA_SECRET: SECRET }, tempCwd()), v).toThrow(ConfigError);
    }
  });

  it.each(['1', 'true', 'YES', 'si', 'Sí'])('reads %s as true', (v) => {
    expect(readEnvironment({ SMTP_HOST: 'h', SMTP_TLS: v, MESA_SECRET: SECRET }, tempCwd()).smtp?.secure).toBe(true);
  });

  it.each(['0', 'false', 'No'])('reads %s as false', (v) => {
    expect(readEnvironment({ IMAP_HOST: 'h', IMAP_TLS: v, MESA_SECRET: SECRET }, tempCwd()).imap?.secure).toBe(false);
  });

  it('rejects a bad boolean naming the variable', () => {
    expect(problemsOf({ SMTP_HOST: 'h', SMTP_TLS: 'quizás', MESA_SECRET: SECRET })).toEqual(['environment: SMTP_TLS: "quizás" is not true/false']);
    expect(problemsOf({ IMAP_TLS: 'maybe', MESA_SECRET: SECRET })[0]).toMatch(/^environment: IMAP_TLS: /);
  });

  it('reports all problems together', () => {
    expect(problemsOf({ MESA_HTTP_PORT: 'x', SMTP_TLS: 'y', MESA_PUBLIC_URL: 'ftp://x', MESA_SECRET: SECRET })).toHaveLength(3);
  });
});

describe('IMAP, SMTP, Twilio and mailboxes', () => {
  it('IMAP and SMTP are null without a host, whatever else is set', () => {
    const e = readEnvironment({ IMAP_PORT: '993', SMTP_PORT: '25', SMTP_USER: 'u', SMTP_PASSWORD: 'p', MESA_SECRET: SECRET }, tempCwd());
    expect(e.imap).toBeNull();
    expect(e.smtp).toBeNull();
  });

  it('IMAP defaults to TLS on 993, plain on 143', () => {
    expect(readEnvironment({ IMAP_HOST: 'imap.x.mx', MESA_SECRET: SECRET }, tempCwd()).imap).toEqual({ host: 'imap.x.mx', port: 993, secure: true });
    expect(readEnvironment({ IMAP_HOST: 'imap.x.mx', IMAP_TLS: 'false', MESA_SECRET: SECRET }, tempCwd()).imap).toEqual({ host: 'imap.x.mx', port: 143, secure: false });
  });

  it('SMTP defaults to 587 with STARTTLS, 465 with TLS', () => {
    expect(readEnvironment({ SMTP_HOST: 's', MESA_SECRET: SECRET }, tempCwd()).smtp).toEqual({ host: 's', port: 587, secure: false, user: null, password: null });
    expect(readEnvironment({ SMTP_HOST: 's', SMTP_TLS: '1', SMTP_USER: 'u', SMTP_PASSWORD: 'p', MESA_SECRET: SECRET }, tempCwd()).smtp)
      .toEqual({ host: 's', port: 465, secure: true, user: 'u', password: 'p' });
  });

  it('reads mailbox credentials and lower-cases mailbox addresses', () => {
    const e = readEnvironment({
      IMAP_HOST: 'imap', MESADEAYUDA_USER: 'mesa', MESADEAYUDA_PASSWORD: 'pw', SOPORTETECNICO_ADDRESS: 'Soporte@Cliente.MX', MESA_SECRET: SECRET,
    }, tempCwd());
    expect(e.mailboxCredentials).toEqual({ mesadeayuda: { user: 'mesa', password: 'pw' } });
    expect(e.mailboxAddresses).toEqual({ soportetecnico: 'soporte@cliente.mx' });
  });

  it('with IMAP configured, a user without password is an error naming both variables', () => {
    expect(problemsOf({ IMAP_HOST: 'imap', SOPORTETECNICO_USER: 'soporte', MESA_SECRET: SECRET }))
      .toEqual(['environment: SOPORTETECNICO_USER and SOPORTETECNICO_PASSWORD go together']);
  });

  it('Twilio needs the SID, the token and the public URL its signatures cover', () => {
    expect(problemsOf({ TWILIO_ACCOUNT_SID: 'AC1', MESA_PUBLIC_URL: 'https://mesa.x.mx', MESA_SECRET: SECRET }))
      .toEqual(['environment: TWILIO_AUTH_TOKEN is required when TWILIO_ACCOUNT_SID is set (every Twilio webhook signature is checked with it)']);
    expect(problemsOf({ TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: 't', MESA_SECRET: SECRET }))
      .toEqual(['environment: MESA_PUBLIC_URL is required when TWILIO_ACCOUNT_SID is set (Twilio signs the public URL of each webhook)']);
    expect(readEnvironment({ TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: 't', MESA_PUBLIC_URL: 'https://mesa.x.mx', MESA_SECRET: SECRET }, tempCwd()).twilio)
      .toEqual({ accountSid: 'AC1', authToken: 't', phoneNumber: null });
  });

  it('MESA_PUBLIC_URL must be http(s)', () => {
    expect(readEnvironment({ MESA_PUBLIC_URL: 'https://mesa.x.mx', MESA_SECRET: SECRET }, tempCwd()).publicUrl).toBe('https://mesa.x.mx');
    expect(problemsOf({ MESA_PUBLIC_URL: 'javascript:alert(1)', MESA_SECRET: SECRET })).toEqual(['environment: MESA_PUBLIC_URL: "javascript:alert(1)" is not an http(s) URL']);
  });

  it('does not write a secret file when validation fails', () => {
    const cwd = tempCwd();
    problemsOf({ MESA_HTTP_PORT: 'x' }, cwd);
    expect(existsSync(join(cwd, 'data', 'secret.key'))).toBe(false);
  });

  it('links start at MESA_PUBLIC_URL, else at the local HTTP port', () => {
    expect(readEnvironment({ MESA_PUBLIC_URL: 'https://mesa.x.mx/', MESA_SECRET: SECRET }, tempCwd()).linkBaseUrl).toBe('https://mesa.x.mx');
    expect(readEnvironment({ MESA_HTTP_PORT: '9090', MESA_SECRET: SECRET }, tempCwd()).linkBaseUrl).toBe('http://localhost:9090');
  });

  it('MESA_TRUST_PROXY: loopback by default, false, or a list of addresses and CIDRs', () => {
    expect(readEnvironment({ MESA_SECRET: SECRET }, tempCwd()).trustProxy).toEqual(['loopback']);
    expect(readEnvironment({ MESA_SECRET: SECRET, MESA_TRUST_PROXY: 'false' }, tempCwd()).trustProxy).toBe(false);
    expect(readEnvironment({ MESA_SECRET: SECRET, MESA_TRUST_PROXY: 'loopback, 10.0.0.0/8' }, tempCwd()).trustProxy).toEqual(['loopback', '10.0.0.0/8']);
    expect(problemsOf({ MESA_SECRET: SECRET, MESA_TRUST_PROXY: 'everyone' })[0]).toContain('MESA_TRUST_PROXY');
  });

  it('MESA_PANEL_TOKEN: taken from the environment, else generated once into the data dir (0600)', () => {
    const cwd = tempCwd();
    const first = readEnvironment({ MESA_SECRET: SECRET }, cwd);
    expect(first.panelTokenSource).toBe('generated');
    expect(first.panelToken.length).toBeGreaterThanOrEqual(32);
    expect(statSync(join(cwd, 'data', 'panel.token')).mode & 0o777).toBe(0o600);
    const again = readEnvironment({ MESA_SECRET: SECRET }, cwd);
    expect(again).toMatchObject({ panelToken: first.panelToken, panelTokenSource: 'data-dir' });
    expect(first.panelToken).not.toBe(readEnvironment({ MESA_SECRET: SECRET }, tempCwd()).panelToken);
    expect(readEnvironment({ MESA_SECRET: SECRET, MESA_PANEL_TOKEN: 'p'.repeat(20) }, tempCwd())).toMatchObject({ panelToken: 'p'.repeat(20), panelTokenSource: 'env' });
    expect(problemsOf({ MESA_SECRET: SECRET, MESA_PANEL_TOKEN: 'short' })).toEqual(['environment: MESA_PANEL_TOKEN: must be at least 16 characters']);
  });
});
