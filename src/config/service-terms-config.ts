import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { BusinessHours, Level, Person, Severity, SeverityPolicy } from '../domain/policy.ts';
import type { Contract, EscalationMatrix, Organisation, SeverityTargets } from '../domain/service-terms.ts';
import type { RawConfig } from './schema.ts';

/**
 * Organisations, their contracts and the escalation matrices, from the validated config into
 * the domain's types. Everything the schema cannot see is checked here and reported as
 * `file:line: key: problem` through `problem` (the caller throws them all at once).
 */
export function resolveServiceTerms(raw: RawConfig, tools: {
  minutes: (text: string, path: Array<string | number>) => number;
  problem: (path: Array<string | number>, message: string) => void;
  severities: Record<Severity, SeverityPolicy>;
  weeklyHours: (weekly: RawConfig['businessHours']['weekly']) => BusinessHours['weeklyHours'];
}): { organisations: Organisation[]; matrices: EscalationMatrix[] } {
  const { minutes, problem } = tools;
  const contract = (c: NonNullable<RawConfig['organisations'][number]['contract']>, at: Array<string | number>): Contract => {
    const severities: Contract['severities'] = {};
    for (const s of [1, 2, 3, 4] as const) {
      const t = c.severities[s];
      if (!t) continue;
      const p = [...at, 'severities', s];
      const clock = t.clock ?? tools.severities[s].clock;
      const targets: Partial<SeverityTargets> = {};
      if (t.clock) targets.clock = t.clock;
      if (t.sms !== undefined) targets.sms = t.sms;
      const timed = (text: string, key: Array<string | number>): number => {
        if (clock === 'continuous' && text.trim().toLowerCase().endsWith('bd')) problem([...p, ...key], 'business days on a continuous clock');
        return minutes(text, [...p, ...key]);
      };
      if (t.firstResponse) targets.firstResponseMinutes = timed(t.firstResponse, ['firstResponse']);
      if (t.resolution) targets.resolutionMinutes = timed(t.resolution, ['resolution']);
      if (t.customerUpdateEvery !== undefined) targets.customerUpdateMinutes = t.customerUpdateEvery === null ? null : timed(t.customerUpdateEvery, ['customerUpdateEvery']);
      if (t.escalateAfter) {
        const e: Partial<Record<Level, number>> = {};
        for (const [lvl, text] of Object.entries(t.escalateAfter)) e[Number(lvl) as Level] = timed(text, ['escalateAfter', lvl]);
        targets.escalateAfterMinutes = e;
      }
      severities[s] = targets;
    }
    // The contract's calendar starts from the desk's and replaces what it names.
    const desk = raw.businessHours;
    const calendar: BusinessHours | null = c.calendar === null ? null : {
      timeZone: c.calendar.timeZone ?? desk.timeZone,
      weeklyHours: tools.weeklyHours(c.calendar.weekly ?? desk.weekly),
      holidayCountry: c.calendar.holidayCountry === undefined ? desk.holidayCountry : c.calendar.holidayCountry,
      extraClosedDates: c.calendar.extraClosedDates ?? desk.extraClosedDates,
    };
    if (calendar && Object.values(calendar.weeklyHours).every((day) => day.length === 0)) problem([...at, 'calendar', 'weekly'], 'the calendar is never open (no weekday has hours)');
    const customer = c.customer === null ? null : { ...c.customer, updatesFor: c.customer.updatesFor?.map((n) => n as Severity) ?? null };
    if (customer && customer.channel === 'sms' && !customer.sms) problem([...at, 'customer', 'channel'], 'the agreed channel is sms but sms is false');
    return { until: c.until, calendar, customer, severities, sharedMessages: c.sharedMessages };
  };

  const organisations: Organisation[] = [];
  const claimed = new Map<string, string>(); // "domain bnorte.mx" → organisation id
  const claim = (what: string, orgId: string, path: Array<string | number>): void => {
    const other = claimed.get(what);
    if (other !== undefined && other !== orgId) problem(path, `${what} belongs to two organisations ("${other}" and "${orgId}"); one must use a more specific rule`);
    claimed.set(what, orgId);
  };
  raw.organisations.forEach((o, i) => {
    const at = ['organisations', i];
    if (raw.organisations.findIndex((x) => x.id === o.id) !== i) problem([...at, 'id'], `duplicate organisation id "${o.id}"`);
    o.match.domains.forEach((d, j) => claim(`domain ${d}`, o.id, [...at, 'match', 'domains', j]));
    o.match.addresses.forEach((a, j) => claim(`address ${a}`, o.id, [...at, 'match', 'addresses', j]));
    o.match.phones.forEach((p, j) => {
      const path = [...at, 'match', 'phones', j];
      if (p.endsWith('*')) {
        if (!/^\+\d{1,14}\*$/.test(p)) problem(path, `"${p}" is not an E.164 prefix (a + and digits, then *)`);
      } else {
        const parsed = parsePhoneNumberFromString(p);
        if (!parsed || !parsed.isValid() || parsed.number !== p) problem(path, `"${p}" is not a valid phone number in E.164 form (e.g. +528112345678)${parsed?.isValid() ? `; did you mean ${parsed.number}?` : ''}`);
      }
      claim(`phone ${p}`, o.id, path);
    });
    if (o.match.domains.length + o.match.addresses.length + o.match.phones.length === 0) problem([...at, 'match'], `organisation "${o.id}" has no domain, address or phone to recognise its contacts by`);
    organisations.push({ id: o.id, name: o.name, match: o.match, contract: o.contract ? contract(o.contract, [...at, 'contract']) : null });
  });

  // Matrices name people of the directory: the levels, the responsables and `people`.
  const directory: Person[] = [...([1, 2, 3] as const).flatMap((l) => raw.levels[l].people), ...raw.responsables, ...raw.people];
  const person = (ref: string, path: Array<string | number>): Person | null => {
    const r = ref.trim().toLowerCase();
    const found = directory.find((p) => p.email === r || p.name.toLowerCase() === r);
    if (!found) problem(path, `unknown person "${ref}" (name or address of someone in levels, responsables or people)`);
    return found ?? null;
  };
  const orgIds = new Set(organisations.map((o) => o.id));
  const matrixIds = new Set(raw.matrices.map((m) => m.id));
  const pairs = new Map<string, string>();
  const matrices = raw.matrices.map((m, i): EscalationMatrix => {
    const at = ['matrices', i];
    if (raw.matrices.findIndex((x) => x.id === m.id) !== i) problem([...at, 'id'], `duplicate matrix id "${m.id}"`);
    if (m.organisation !== null && !orgIds.has(m.organisation)) problem([...at, 'organisation'], `unknown organisation "${m.organisation}"`);
    if (m.organisation === null && m.category === null) problem(at, `matrix "${m.id}" names neither an organisation nor a category (the default matrix is the levels' people)`);
    if (m.fallback !== null && !matrixIds.has(m.fallback)) problem([...at, 'fallback'], `unknown matrix "${m.fallback}"`);
    const pair = `${m.organisation ?? '*'} / ${m.category ?? '*'}`;
    const twin = pairs.get(pair);
    if (twin !== undefined) problem(at, `matrices "${twin}" and "${m.id}" are both for ${pair}`);
    pairs.set(pair, m.id);
    const levels: EscalationMatrix['levels'] = {};
    for (const l of [1, 2, 3] as const) {
      const refs = m.levels[l];
      if (refs) levels[l] = refs.flatMap((ref, j) => person(ref, [...at, 'levels', l, j]) ?? []);
    }
    return { id: m.id, organisation: m.organisation, category: m.category, levels, fallback: m.fallback };
  });
  return { organisations, matrices };
}
