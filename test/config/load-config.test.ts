import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it, expect } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.ts';

const REPO_CONFIG = join(import.meta.dirname, '../../config');
const DEFAULT_YAML = readFileSync(join(REPO_CONFIG, 'default.yaml'), 'utf8');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A config dir holding `default` (the repo's default.yaml unless given) and optionally `local`. */
function configDir(local: string | null, def = DEFAULT_YAML): string {
  const dir = mkdtempSync(join(tmpdir(), 'mesa-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'default.yaml'), def);
  if (local !== null) writeFileSync(join(dir, 'local.yaml'), local);
  return dir;
}

/** 1-based line of the first line of `text` that contains `needle` (after line `after`). */
function lineOf(text: string, needle: string, after = 0): number {
  const i = text.split('\n').findIndex((l, n) => n + 1 > after && l.includes(needle));
  if (i < 0) throw new Error(`"${needle}" not in text`);
  return i + 1;
}

/** The ConfigError that loading `dir` throws (fails the test when it does not throw one). */
function problemsOf(dir: string): string[] {
  try {
    loadConfig(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.code).toBe('MESA_CONFIG_INVALID');
    for (const p of e.problems) expect(e.message).toContain(p);
    return e.problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig on the repository’s config/', () => {
  const policy = loadConfig(REPO_CONFIG);

  it('resolves desk, mailboxes and the SLA matrix of DESIGN §2', () => {
    expect(policy.desk).toMatchObject({ ticketPrefix: 'MDA', locale: 'es-MX', timeZone: 'America/Mexico_City', reopenWindowDays: 7 });
    expect(policy.mailboxes.map((m) => [m.id, m.address, m.defaultSeverity])).toEqual([
      ['mesadeayuda', 'mesadeayuda@proditmapac.com', 4],
      ['soportetecnico', 'soportetecnico@proditmapac.com', 3],
    ]);
    const s = policy.severities;
    expect([s[1].firstResponseMinutes, s[1].resolutionMinutes, s[1].escalateAfterMinutes, s[1].customerUpdateMinutes, s[1].clock])
      .toEqual([15, 240, { 1: 30, 2: 120 }, 60, 'continuous']);
    expect([s[2].firstResponseMinutes, s[2].resolutionMinutes, s[2].escalateAfterMinutes, s[2].customerUpdateMinutes])
      .toEqual([60, 480, { 1: 120, 2: 360 }, 240]);
    expect([s[3].firstResponseMinutes, s[3].resolutionMinutes, s[3].customerUpdateMinutes, s[3].clock])
      .toEqual([240, 3 * 540, 540, 'business']);
    expect([s[4].firstResponseMinutes, s[4].resolutionMinutes, s[4].escalateAfterMinutes, s[4].customerUpdateMinutes])
      .toEqual([540, 5 * 540, { 1: 2 * 540, 2: 5 * 540 }, null]);
  });

  it('turns the weekly hours into ISO weekdays, weekends closed', () => {
    expect(policy.businessHours.weeklyHours[1]).toEqual([{ start: '09:00', end: '18:00' }]);
    expect(policy.businessHours.weeklyHours[5]).toEqual([{ start: '09:00', end: '18:00' }]);
    expect(policy.businessHours.weeklyHours[6]).toEqual([]);
    expect(policy.businessHours.weeklyHours[7]).toEqual([]);
    expect(policy.businessHours.businessDayMinutes).toBe(540);
  });

  it('normalises rule words and compiles patterns case-insensitively', () => {
    const portal = policy.classification.rules.find((r) => r.id === 'portal-caido');
    expect(portal?.words).toContain('portal caido');
    for (const r of policy.classification.rules) {
      for (const w of r.words) expect(w, r.id).toBe(w.normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase());
    }
    const codes = policy.classification.rules.find((r) => r.id === 'patron-codigo-error');
    expect(codes?.patterns[0]?.flags).toContain('i');
    expect(codes?.patterns[0]?.test('ERROR 503')).toBe(true);
    expect(codes?.mailboxes).toBeNull();
  });

  it('is frozen', () => {
    expect(Object.isFrozen(policy)).toBe(true);
  });

  it('applies mailbox address overrides from the environment', () => {
    const p = loadConfig(REPO_CONFIG, { mailboxAddresses: { soportetecnico: 'soporte@cliente-demo.mx', nonexistent: 'x@y.mx' } });
    expect(p.mailboxes.find((m) => m.id === 'soportetecnico')?.address).toBe('soporte@cliente-demo.mx');
    expect(p.mailboxes).toHaveLength(2);
  });

  it('validates an overridden address like any other', () => {
    expect(() => loadConfig(REPO_CONFIG, { mailboxAddresses: { mesadeayuda: 'not an address' } })).toThrow(ConfigError);
  });
});

describe('loadConfig with a local.yaml', () => {
  it('deep-merges objects over default.yaml', () => {
    const p = loadConfig(configDir('desk:\n  name: Mesa de Pruebas\n  reopenWindowDays: 3\nseverities:\n  2:\n    firstResponse: 30m\n'));
    expect(p.desk.name).toBe('Mesa de Pruebas');
    expect(p.desk.reopenWindowDays).toBe(3);
    expect(p.desk.ticketPrefix).toBe('MDA');
    expect(p.severities[2].firstResponseMinutes).toBe(30);
    expect(p.severities[2].resolutionMinutes).toBe(480);
  });

  it('replaces lists instead of merging them', () => {
    const p = loadConfig(configDir([
      'mailboxes:',
      '  - { id: soporte, address: Soporte@Cliente.MX, defaultSeverity: 2, defaultType: incidente, defaultCategory: tecnico }',
      'classification:',
      '  rules:',
      '    - { id: solo, words: [Caído], set: { severity: 1 } }',
    ].join('\n')));
    expect(p.mailboxes).toEqual([{ id: 'soporte', address: 'soporte@cliente.mx', defaultSeverity: 2, defaultType: 'incidente', defaultCategory: 'tecnico', folder: 'INBOX', processedFolder: null, pollIntervalSeconds: 30 }]);
    expect(p.classification.rules.map((r) => [r.id, r.words, r.weight])).toEqual([['solo', ['caido'], 1]]);
    expect(p.classification.minimumScore).toBe(1);
  });

  it('works with only a local.yaml missing (default alone)', () => {
    expect(loadConfig(configDir(null)).desk.ticketPrefix).toBe('MDA');
  });

  // Regression (fixed): a local.yaml holding only comments (or nothing) parses to null and deepMerge replaces
  // the whole configuration with it: "(root): expected object, received null".
  it('accepts a local.yaml that is empty or only comments', () => {
    expect(loadConfig(configDir('# overrides go here\n')).desk.ticketPrefix).toBe('MDA');
    expect(loadConfig(configDir('')).desk.ticketPrefix).toBe('MDA');
  });
});

describe('loadConfig errors name file, line, key path and problem', () => {
  it('a missing config dir', () => {
    const dir = join(tmpdir(), 'mesa-config-does-not-exist');
    expect(() => loadConfig(dir)).toThrow(`${join(dir, 'default.yaml')}: file not found`);
  });

  it('a bad ticket prefix', () => {
    const dir = configDir('desk:\n  ticketPrefix: mda1\n');
    expect(problemsOf(dir)).toEqual([`${join(dir, 'local.yaml')}:2: desk.ticketPrefix: two to six capital letters`]);
  });

  it('a bad ticket prefix in default.yaml', () => {
    const def = DEFAULT_YAML.replace('ticketPrefix: MDA', 'ticketPrefix: Mesa-1');
    const dir = configDir(null, def);
    expect(problemsOf(dir)).toEqual([`${join(dir, 'default.yaml')}:${lineOf(def, 'ticketPrefix')}: desk.ticketPrefix: two to six capital letters`]);
  });

  it('a duration the schema rejects: file, key path and problem', () => {
    const dir = configDir('severities:\n  2:\n    firstResponse: 1 hora\n');
    const [p] = problemsOf(dir);
    expect(p).toMatch(new RegExp(`^${join(dir, 'local.yaml')}:\\d+: severities\\.2\\.firstResponse: expected a duration such as 15m, 4h, 2d or 3bd$`));
  });

  // Regression (fixed): zod reports the path as ['severities', '2', ...] with string keys, but YAML parsed `2:` as
  // a number key, so `doc.getIn` misses and `locate` falls back to the `severities:` map (line 2
  // here, line 52 in default.yaml) instead of the offending line.
  it('a duration the schema rejects: the line of the key', () => {
    const dir = configDir('severities:\n  2:\n    firstResponse: 1 hora\n');
    expect(problemsOf(dir)[0]).toContain(`${join(dir, 'local.yaml')}:3: severities.2.firstResponse`);
    const def = DEFAULT_YAML.replace('firstResponse: 4h', 'firstResponse: 4 horas');
    const dir2 = configDir(null, def);
    expect(problemsOf(dir2)[0]).toContain(`default.yaml:${lineOf(def, 'firstResponse: 4 horas')}: severities.3.firstResponse`);
  });

  it('a duration the schema accepts but that resolves to nothing (0m), with its line', () => {
    const dir = configDir('severities:\n  2:\n    firstResponse: 0m\n');
    expect(problemsOf(dir)).toEqual([`${join(dir, 'local.yaml')}:3: severities.2.firstResponse: invalid duration "0m"`]);
  });

  it('business days on a continuous clock', () => {
    const dir = configDir('severities:\n  1:\n    resolution: 2bd\n    customerUpdateEvery: 1bd\n');
    expect(problemsOf(dir)).toEqual([
      `${join(dir, 'local.yaml')}:3: severities.1.resolution: business days on a continuous clock`,
      `${join(dir, 'local.yaml')}:4: severities.1.customerUpdateEvery: business days on a continuous clock`,
    ]);
  });

  // Regression (fixed): the continuous-clock check in resolve() skips escalateAfter, so `escalateAfter: {1: 1bd}`
  // on severity 1 loads as 540 minutes of wall-clock time.
  it('business days in escalateAfter on a continuous clock', () => {
    const dir = configDir('severities:\n  1:\n    escalateAfter: { 1: 1bd, 2: 2h }\n');
    expect(problemsOf(dir).join('\n')).toContain('severities.1.escalateAfter.1: business days on a continuous clock');
  });

  it('business days on a business clock are fine', () => {
    expect(loadConfig(configDir('severities:\n  3:\n    firstResponse: 1bd\n')).severities[3].firstResponseMinutes).toBe(540);
  });

  it('an unknown mailbox in a rule', () => {
    const dir = configDir('classification:\n  rules:\n    - id: r\n      words: [x]\n      mailboxes: [mesadeayuda, ventas]\n      set: { severity: 1 }\n');
    expect(problemsOf(dir)).toEqual([`${join(dir, 'local.yaml')}:5: classification.rules.0.mailboxes: unknown mailbox "ventas"`]);
  });

  it('an invalid regex', () => {
    const dir = configDir('classification:\n  rules:\n    - id: r\n      patterns: ["ok", "(unclosed"]\n      set: { severity: 1 }\n');
    expect(problemsOf(dir)).toEqual([`${join(dir, 'local.yaml')}:4: classification.rules.0.patterns.1: invalid regular expression`]);
  });

  it('a rule with neither words nor patterns', () => {
    const dir = configDir('classification:\n  rules:\n    - id: vacia\n      set: { severity: 1 }\n');
    expect(problemsOf(dir)[0]).toMatch(/local\.yaml:\d+: classification\.rules\.0: a rule needs words or patterns$/);
  });

  it('a duplicate mailbox id', () => {
    const dir = configDir([
      'mailboxes:',
      '  - { id: a, address: a@x.mx, defaultSeverity: 4, defaultType: solicitud, defaultCategory: g }',
      '  - { id: a, address: b@x.mx, defaultSeverity: 4, defaultType: solicitud, defaultCategory: g }',
    ].join('\n'));
    expect(problemsOf(dir)).toEqual([`${join(dir, 'local.yaml')}:3: mailboxes.1.id: duplicate mailbox id "a"`]);
  });

  it('an unknown key (strict schema): file, parent path and the key', () => {
    const dir = configDir('desk:\n  name: X\n  colour: red\n');
    const [p] = problemsOf(dir);
    expect(p).toMatch(new RegExp(`^${join(dir, 'local.yaml')}:\\d+: desk: .*"colour"`));
  });

  // Regression (fixed): for an `unrecognized_keys` issue zod's path is the parent object, so `locate` names the
  // first line of `desk`'s map (the `name:` line, 2) rather than the `colour:` line (3).
  it('an unknown key: the line of the key itself', () => {
    const dir = configDir('desk:\n  name: X\n  colour: red\n');
    expect(problemsOf(dir)[0]).toContain(`${join(dir, 'local.yaml')}:3:`);
  });

  it('an unknown top-level section', () => {
    const dir = configDir('alarmas:\n  foo: 1\n');
    expect(problemsOf(dir)[0]).toMatch(/local\.yaml(:\d+)?: \(root\): .*"alarmas"/);
  });

  it('a __proto__ key neither pollutes prototypes nor changes a setting', () => {
    let prefix: string | null = null;
    try {
      prefix = loadConfig(configDir('desk:\n  __proto__: { ticketPrefix: ZZ }\n')).desk.ticketPrefix;
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
    }
    expect(prefix === null || prefix === 'MDA').toBe(true);
    expect(({} as Record<string, unknown>).ticketPrefix).toBeUndefined();
  });

  // Regression (fixed): deepMerge assigns `out['__proto__'] = …`, which sets the merged object's prototype instead
  // of adding a key, so the strict schema never sees the unknown key and it is silently dropped.
  it('a __proto__ key is rejected like any unknown key', () => {
    expect(problemsOf(configDir('desk:\n  __proto__: { ticketPrefix: ZZ }\n'))[0]).toContain('__proto__');
  });

  it('a value of the wrong type', () => {
    const dir = configDir('desk:\n  reopenWindowDays: siete\n');
    expect(problemsOf(dir)[0]).toMatch(new RegExp(`^${join(dir, 'local.yaml')}:2: desk\\.reopenWindowDays: .*number`));
  });

  it('a YAML syntax error names the file and the position', () => {
    const dir = configDir('desk:\n  name: [sin cerrar\n  phone: x\n');
    const [p] = problemsOf(dir);
    expect(p).toContain(`${join(dir, 'local.yaml')}: `);
    expect(p).toMatch(/line \d+, column \d+/);
  });

  it('a YAML syntax error in default.yaml', () => {
    const dir = configDir(null, `${DEFAULT_YAML}\nintake: {attachmentMaxBytes: 1\n`);
    expect(problemsOf(dir)[0]).toContain(`${join(dir, 'default.yaml')}: `);
  });

  it('duplicate keys in one file are a YAML error, not a silent override', () => {
    const dir = configDir('desk:\n  name: A\n  name: B\n');
    expect(problemsOf(dir)[0]).toContain('local.yaml');
  });

  it('reports every problem at once', () => {
    const dir = configDir('desk:\n  ticketPrefix: x\n  locale: fr\noutbound:\n  retry: { maxAttempts: 0 }\n');
    const problems = problemsOf(dir);
    expect(problems.some((p) => p.includes('desk.ticketPrefix'))).toBe(true);
    expect(problems.some((p) => p.includes('desk.locale'))).toBe(true);
    expect(problems.some((p) => p.includes('outbound.retry.maxAttempts'))).toBe(true);
  });

  // Regression (fixed): `locate` walks the files newest first and, inside each, accepts any prefix of the path,
  // so a local.yaml that merely has a `desk:` section is blamed for a bad `desk.ticketPrefix`
  // that only default.yaml sets.
  it('blames the file that set the bad value, not a later file sharing its parent', () => {
    const def = DEFAULT_YAML.replace('ticketPrefix: MDA', 'ticketPrefix: mda');
    const dir = configDir('desk:\n  name: Otra Mesa\n', def);
    expect(problemsOf(dir)).toEqual([`${join(dir, 'default.yaml')}:${lineOf(def, 'ticketPrefix')}: desk.ticketPrefix: two to six capital letters`]);
  });
});
