import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate as validateCron } from 'node-cron';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { ZodError } from 'zod';
import { MesaError } from '../errors.ts';
import { parseDuration } from '../domain/duration.ts';
import type { ClassificationRule, DeskPolicy, Level, Severity, SeverityPolicy } from '../domain/policy.ts';
import { normalizeForMatching } from '../domain/text-normalize.ts';
import { resolveServiceTerms } from './service-terms-config.ts';
import { configSchema, type RawConfig } from './schema.ts';

/** A configuration problem, worded for the operator: file, key, line and what is wrong. */
export class ConfigError extends MesaError {
  constructor(readonly problems: string[]) {
    super('MESA_CONFIG_INVALID', `configuración inválida / invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

interface LoadedFile { path: string; doc: Document; lines: LineCounter }

/**
 * Reads `default.yaml` and, when present, `organisations.yaml` (the desk's customers and their
 * contracts, kept apart because they change most) and `local.yaml` merged over it (objects deep-merged,
 * lists replaced), validates with zod and resolves it into a frozen `DeskPolicy`.
 */
export function loadConfig(configDir: string, overrides: { mailboxAddresses?: Record<string, string> } = {}): DeskPolicy {
  const files = ['default.yaml', 'organisations.yaml', 'local.yaml'].map((f) => join(configDir, f)).filter((p) => existsSync(p));
  if (files.length === 0) throw new ConfigError([`${join(configDir, 'default.yaml')}: file not found`]);
  const loaded = files.map(readYaml);
  let merged: unknown = {};
  for (const f of loaded) merged = deepMerge(merged, f.doc.toJS() ?? {});
  for (const [id, address] of Object.entries(overrides.mailboxAddresses ?? {})) {
    const list = (merged as { mailboxes?: Array<{ id: string; address: string }> }).mailboxes ?? [];
    for (const m of list) if (m.id === id) m.address = address;
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(describe(result.error, loaded, merged));
  return Object.freeze(resolve(result.data, loaded));
}

function readYaml(path: string): LoadedFile {
  const lines = new LineCounter();
  const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${path}: ${e.message.split('\n')[0]}`));
  }
  return { path, doc, lines };
}

/** Names the file that set the offending key (the last one that has it) and its line. */
function locate(path: Array<string | number>, files: LoadedFile[]): string {
  for (let depth = path.length; depth > 0; depth--) {
    for (const f of [...files].reverse()) {
      const node = (f.doc.getIn(path.slice(0, depth).map((p) => (typeof p === 'string' && /^\d+$/.test(p) ? Number(p) : p)), true)
        ?? f.doc.getIn(path.slice(0, depth), true)) as { range?: [number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) {
        const pos = f.lines.linePos(node.range[0]);
        return `${f.path}:${pos.line}`;
      }
    }
  }
  return files[files.length - 1]?.path ?? 'config';
}

function describe(error: ZodError, files: LoadedFile[], merged: unknown): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const key = path.length > 0 ? path.join('.') : '(root)';
    const at = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0] as string] : path;
    return `${locate(at, files)}: ${key}${organisationOf(path, merged)}: ${issue.message}`;
  });
}

/** ` (organisation "bnorte")` for a key inside one, so the operator knows whose entry is wrong. */
function organisationOf(path: ReadonlyArray<string | number>, config: unknown): string {
  if (path[0] !== 'organisations' || path.length < 2) return '';
  const list = (config as { organisations?: unknown }).organisations;
  const entry = Array.isArray(list) ? (list[Number(path[1])] as { id?: unknown } | undefined) : undefined;
  return typeof entry?.id === 'string' ? ` (organisation "${entry.id}")` : '';
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      Object.defineProperty(out, k, { value: deepMerge(Object.hasOwn(base, k) ? base[k] : undefined, v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return over === undefined ? base : over;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** `weekly: {mon: ['09:00-18:00']}` → ISO weekday → intervals. */
export function weeklyHours(weekly: RawConfig['businessHours']['weekly']): Record<number, Array<{ start: string; end: string }>> {
  const out: Record<number, Array<{ start: string; end: string }>> = {};
  WEEKDAYS.forEach((d, i) => {
    out[i + 1] = weekly[d].map((r) => {
      const [start, end] = r.split('-') as [string, string];
      return { start, end };
    });
  });
  return out;
}

function resolve(raw: RawConfig, files: LoadedFile[]): DeskPolicy {
  const bdm = raw.businessHours.businessDayMinutes;
  const problems: string[] = [];
  const minutes = (text: string, path: Array<string | number>): number => {
    const d = parseDuration(text, bdm);
    if (!d) { problems.push(`${locate(path, files)}: ${path.join('.')}: invalid duration "${text}"`); return 1; }
    return d.minutes;
  };
  const severities = {} as Record<Severity, SeverityPolicy>;
  for (const id of [1, 2, 3, 4] as const) {
    const s = raw.severities[id];
    const p = ['severities', id];
    const escalateAfterMinutes: Partial<Record<Level, number>> = {};
    for (const [lvl, text] of Object.entries(s.escalateAfter)) {
      if (s.clock === 'continuous' && text.trim().toLowerCase().endsWith('bd')) problems.push(`${locate([...p, 'escalateAfter', lvl], files)}: severities.${id}.escalateAfter.${lvl}: business days on a continuous clock`);
      escalateAfterMinutes[Number(lvl) as Level] = minutes(text, [...p, 'escalateAfter', lvl]);
    }
    if (s.clock === 'continuous') {
      for (const key of ['firstResponse', 'resolution', 'customerUpdateEvery'] as const) {
        if (s[key]?.trim().toLowerCase().endsWith('bd')) problems.push(`${locate([...p, key], files)}: severities.${id}.${key}: business days on a continuous clock`);
      }
    }
    severities[id] = {
      id, name: s.name, clock: s.clock, sms: s.sms,
      firstResponseMinutes: minutes(s.firstResponse, [...p, 'firstResponse']),
      resolutionMinutes: minutes(s.resolution, [...p, 'resolution']),
      escalateAfterMinutes,
      customerUpdateMinutes: s.customerUpdateEvery === null ? null : minutes(s.customerUpdateEvery, [...p, 'customerUpdateEvery']),
    };
  }
  const ids = new Set<string>();
  raw.mailboxes.forEach((m, i) => {
    if (ids.has(m.id)) problems.push(`${locate(['mailboxes', i, 'id'], files)}: mailboxes.${i}.id: duplicate mailbox id "${m.id}"`);
    ids.add(m.id);
  });
  const rules: ClassificationRule[] = raw.classification.rules.map((r, i) => {
    for (const mb of r.mailboxes ?? []) if (!ids.has(mb)) problems.push(`${locate(['classification', 'rules', i, 'mailboxes'], files)}: classification.rules.${i}.mailboxes: unknown mailbox "${mb}"`);
    return {
      id: r.id,
      words: r.words.map(normalizeForMatching),
      patterns: r.patterns.map((p) => new RegExp(p, 'iu')),
      mailboxes: r.mailboxes ?? null,
      weight: r.weight,
      set: { ...r.set, severity: r.set.severity as Severity | undefined, level: r.set.level as Level | undefined },
    };
  });
  if (raw.agents.requireAuthentication.enabled && raw.agents.requireAuthentication.trustedAuthservIds.length === 0) {
    problems.push(`${locate(['agents', 'requireAuthentication', 'enabled'], files)}: agents.requireAuthentication.enabled: on, but trustedAuthservIds is empty: list the authserv-id of your receiving mail server (without it no agent reply could pass)`);
  }
  if (!validateCron(raw.sla.sweepSchedule)) problems.push(`${locate(['sla', 'sweepSchedule'], files)}: sla.sweepSchedule: "${raw.sla.sweepSchedule}" is not a valid cron expression`);
  const { organisations, matrices } = resolveServiceTerms(raw, {
    minutes, severities, weeklyHours,
    problem: (path, message) => problems.push(`${locate(path, files)}: ${path.join('.')}${organisationOf(path, raw)}: ${message}`),
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    desk: raw.desk,
    mailboxes: raw.mailboxes.map((m) => ({ ...m, defaultSeverity: m.defaultSeverity as Severity })),
    businessHours: {
      timeZone: raw.businessHours.timeZone,
      weeklyHours: weeklyHours(raw.businessHours.weekly),
      holidayCountry: raw.businessHours.holidayCountry,
      extraClosedDates: raw.businessHours.extraClosedDates,
      businessDayMinutes: bdm,
    },
    severities,
    levels: raw.levels,
    responsables: raw.responsables,
    people: raw.people,
    organisations,
    matrices,
    sla: raw.sla,
    etr: raw.etr,
    classification: { minimumScore: raw.classification.minimumScore, rules },
    phone: raw.phone,
    web: raw.web,
    incidents: { ...raw.incidents, severities: raw.incidents.severities.map((n) => n as Severity) },
    operations: raw.operations,
    intake: raw.intake,
    outbound: {
      fromName: raw.outbound.from.name,
      retry: raw.outbound.retry,
      autoReplyLimit: raw.outbound.autoReplyLimit,
      followUpAckQuietMinutes: raw.outbound.followUpAckQuietMinutes,
      smsMaxSegments: raw.outbound.smsMaxSegments,
    },
    agents: raw.agents,
  };
}
