import type { DeskPolicy, Person, Severity } from '../domain/policy.ts';
import type { EscalationMatrix, Organisation } from '../domain/service-terms.ts';

/**
 * What a new configuration would change against the one in use, in lines an operator reads
 * before applying it (`mesa config check`). Open tickets keep the service terms recorded on
 * them; the lines say so where it matters.
 */
export function describeConfigChanges(current: DeskPolicy, next: DeskPolicy): string[] {
  const lines: string[] = [];
  for (const s of [1, 2, 3, 4] as const) {
    const a = severityFacts(current, s);
    const b = severityFacts(next, s);
    for (const k of Object.keys(b) as Array<keyof typeof b>) {
      if (a[k] !== b[k]) lines.push(`severidad ${s}: ${k} ${a[k]} → ${b[k]} (los tickets abiertos de una organización conservan sus plazos registrados)`);
    }
  }
  for (const l of [1, 2, 3] as const) {
    const [added, removed] = diffBy(current.levels[l].people, next.levels[l].people, (p) => p.email);
    for (const p of added) lines.push(`nivel ${l}: se agrega ${who(p)}`);
    for (const p of removed) lines.push(`nivel ${l}: se quita ${who(p)}`);
  }
  diffNamed('organización', current.organisations, next.organisations, organisationFacts, lines);
  diffNamed('matriz', current.matrices, next.matrices, matrixFacts, lines);
  const [rulesAdded, rulesRemoved] = diffBy(current.classification.rules, next.classification.rules, (r) => r.id);
  for (const r of rulesAdded) lines.push(`regla de clasificación nueva: ${r.id}`);
  for (const r of rulesRemoved) lines.push(`regla de clasificación quitada: ${r.id}`);
  for (const r of next.classification.rules) {
    const before = current.classification.rules.find((x) => x.id === r.id);
    if (before && ruleFacts(before) !== ruleFacts(r)) lines.push(`regla de clasificación cambiada: ${r.id}`);
  }
  if (current.classification.minimumScore !== next.classification.minimumScore) lines.push(`clasificación: puntaje mínimo ${current.classification.minimumScore} → ${next.classification.minimumScore}`);
  if (JSON.stringify(current.businessHours) !== JSON.stringify(next.businessHours)) {
    lines.push('horario de atención del escritorio cambiado (rige para los plazos que se calculen desde ahora; los ya calculados no se mueven)');
  }
  // The rest, section by section: enough for an operator to know where to look.
  for (const key of ['desk', 'sla', 'etr', 'phone', 'web', 'operations', 'intake', 'outbound', 'agents', 'responsables', 'people'] as const) {
    if (JSON.stringify(current[key]) !== JSON.stringify(next[key])) lines.push(`sección ${key} cambiada`);
  }
  const [mbAdded, mbRemoved] = diffBy(current.mailboxes, next.mailboxes, (m) => `${m.id} ${m.address}`);
  for (const m of mbAdded) lines.push(`buzón: ${m.id} <${m.address}>`);
  for (const m of mbRemoved) lines.push(`buzón quitado: ${m.id} <${m.address}>`);
  return lines;
}

function severityFacts(p: DeskPolicy, s: Severity): Record<string, string> {
  const v = p.severities[s];
  return {
    reloj: v.clock, primeraRespuesta: `${v.firstResponseMinutes} min`, resolucion: `${v.resolutionMinutes} min`,
    escalarNivel1: `${v.escalateAfterMinutes[1] ?? '—'} min`, escalarNivel2: `${v.escalateAfterMinutes[2] ?? '—'} min`,
    actualizacion: v.customerUpdateMinutes === null ? '—' : `${v.customerUpdateMinutes} min`, sms: v.sms ? 'sí' : 'no',
  };
}

function ruleFacts(r: DeskPolicy['classification']['rules'][number]): string {
  return JSON.stringify({ ...r, patterns: r.patterns.map(String) });
}

function organisationFacts(o: Organisation): string {
  return JSON.stringify({ name: o.name, match: o.match, contract: o.contract });
}

function matrixFacts(m: EscalationMatrix): string {
  return JSON.stringify({ organisation: m.organisation, category: m.category, fallback: m.fallback, levels: Object.fromEntries(Object.entries(m.levels).map(([l, people]) => [l, people.map((p) => p.email)])) });
}

function diffNamed<T extends { id: string }>(what: string, a: readonly T[], b: readonly T[], facts: (x: T) => string, lines: string[]): void {
  for (const x of b) {
    const before = a.find((y) => y.id === x.id);
    if (!before) lines.push(`${what} nueva: ${x.id}`);
    else if (facts(before) !== facts(x)) lines.push(`${what} cambiada: ${x.id} (solo para tickets nuevos; los abiertos conservan sus términos)`);
  }
  for (const x of a) if (!b.some((y) => y.id === x.id)) lines.push(`${what} quitada: ${x.id}`);
}

function diffBy<T>(a: readonly T[], b: readonly T[], key: (x: T) => string): [T[], T[]] {
  const ka = new Set(a.map(key));
  const kb = new Set(b.map(key));
  return [b.filter((x) => !ka.has(key(x))), a.filter((x) => !kb.has(key(x)))];
}

function who(p: Person): string {
  return `${p.name} <${p.email}>`;
}
