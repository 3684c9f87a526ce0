import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.ts';

const REPO_CONFIG = join(import.meta.dirname, '../../config');
const DEFAULT_YAML = readFileSync(join(REPO_CONFIG, 'default.yaml'), 'utf8');

/** The `agents` section and `outbound.smsMaxSegments` (issue 5). */
describe('agents and SMS budget configuration', () => {
  const dirs: string[] = [];
  afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
  const withLocal = (local: string | null, def = DEFAULT_YAML): string => {
    const dir = mkdtempSync(join(tmpdir(), 'mesa-config-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'default.yaml'), def);
    if (local !== null) writeFileSync(join(dir, 'local.yaml'), local);
    return dir;
  };

  it('ships with the stricter check off and three segments per SMS', () => {
    const p = loadConfig(REPO_CONFIG);
    expect(p.agents.requireAuthentication).toEqual({ enabled: false, domains: [], trustedAuthservIds: [] });
    expect(p.outbound.smsMaxSegments).toBe(3);
  });

  it('defaults both when an older config has neither', () => {
    const old = DEFAULT_YAML.replace(/\n# Agents work by replying[\s\S]*$/, '\n').replace(/\n {2}# An agent's reply relayed by SMS[\s\S]*?smsMaxSegments: 3\n/, '\n');
    expect(old).not.toContain('agents:');
    expect(old).not.toContain('smsMaxSegments');
    const p = loadConfig(withLocal(null, old));
    expect(p.agents.requireAuthentication.enabled).toBe(false);
    expect(p.outbound.smsMaxSegments).toBe(3);
  });

  it('lower-cases domains and authserv-ids', () => {
    const p = loadConfig(withLocal('agents:\n  requireAuthentication:\n    enabled: true\n    domains: [ProditmaPac.com]\n    trustedAuthservIds: [MX.proditmapac.com]\n'));
    expect(p.agents.requireAuthentication).toEqual({ enabled: true, domains: ['proditmapac.com'], trustedAuthservIds: ['mx.proditmapac.com'] });
  });

  it('refuses to turn the check on without a trusted server, naming file, line and key', () => {
    const dir = withLocal('agents:\n  requireAuthentication:\n    enabled: true\n');
    let problems: string[] = [];
    try { loadConfig(dir); } catch (err) { expect(err).toBeInstanceOf(ConfigError); problems = (err as ConfigError).problems; }
    expect(problems).toEqual([expect.stringMatching(/local\.yaml:3: agents\.requireAuthentication\.enabled: on, but trustedAuthservIds is empty: list the authserv-id/)]);
  });

  it('validates values', () => {
    const bad = withLocal('outbound:\n  smsMaxSegments: 0\nagents:\n  requireAuthentication:\n    domains: ["no es dominio"]\n    trustedAuthservIds: ["mx; dkim=pass"]\n');
    let problems: string[] = [];
    try { loadConfig(bad); } catch (err) { problems = (err as ConfigError).problems; }
    expect(problems.some((p) => p.includes('outbound.smsMaxSegments'))).toBe(true);
    expect(problems.some((p) => p.includes('agents.requireAuthentication.domains.0: a domain name'))).toBe(true);
    expect(problems.some((p) => p.includes('agents.requireAuthentication.trustedAuthservIds.0'))).toBe(true);
  });
});
