import { describe, expect, it } from 'vitest';
import { detectBurst, matchIncident, significantWords, type IncidentPolicy, type Report } from '../../src/domain/incident-detection.ts';

const POLICY: IncidentPolicy = { windowMinutes: 10, minTickets: 5, severities: [1, 2], minSharedWords: 2 };
const MIN = 60_000;
const T0 = Date.parse('2026-12-07T16:00:00Z');

let next = 1;
const report = (text: string, minute: number, over: Partial<Report> = {}): Report => ({
  ticketId: next++, at: T0 + minute * MIN, category: 'disponibilidad', severity: 1, organisation: null, isolated: false, words: significantWords(text), ...over,
});

const OUTAGE = [
  'Hola, el portal no carga, marca error 503 desde hace rato.',
  'Buenas tardes: no puedo entrar al portal, aparece error 503.',
  'El portal está caído para toda la oficina, error 503 al abrir.',
  'No carga el portal de facturación, sale Service Unavailable 503 error.',
  'Urgente: portal sin servicio, error 503 a todos los usuarios.',
  'PORTAL CAÍDO!!! error 503',
];

describe('significant words', () => {
  it('keeps what names the failure: normalised, no filler, plurals folded, each once', () => {
    expect(significantWords('Hola, buenas tardes. Desde hace rato el Portal no carga: marca ERRORES 503 en las páginas.')).toEqual(['rato', 'portal', 'carga', 'error', 'pagina']);
    expect(significantWords('Gracias por su ayuda, quedo pendiente.')).toEqual([]);
    expect(significantWords('')).toEqual([]);
  });
});

describe('detecting a burst of one outage', () => {
  it('opens at the fifth alike report of severity 1–2 in the window, with the words they share', () => {
    const earlier = OUTAGE.slice(0, 4).map((t, i) => report(t, i));
    const fifth = report(OUTAGE[4]!, 5);
    const burst = detectBurst(fifth, earlier, fifth.at, POLICY);
    expect(burst?.reports.map((r) => r.ticketId)).toEqual([fifth.ticketId, ...earlier.map((r) => r.ticketId)]);
    expect(burst?.signature.slice(0, 2)).toEqual(['portal', 'error']);
    expect(burst?.reason).toBe(`5 reportes de disponibilidad en 10 min comparten ${burst!.signature.map((w) => `«${w}»`).join(', ')}`);
    // Four are not enough.
    expect(detectBurst(earlier[3]!, earlier.slice(0, 3), earlier[3]!.at, POLICY)).toBeNull();
  });

  it('leaves out what is older than the window, of another category or severity, or about something else', () => {
    const old = OUTAGE.slice(0, 2).map((t, i) => report(t, i - 30)); // 30 minutes before
    const otherCategory = report(OUTAGE[2]!, 1, { category: 'facturacion' });
    const lowSeverity = report(OUTAGE[3]!, 2, { severity: 3 });
    const unrelated = [report('No me llegan los correos de notificación de pagos.', 3), report('Error al timbrar la factura 503 del cliente.', 3)];
    const recent = [report(OUTAGE[4]!, 4), report(OUTAGE[5]!, 5)];
    const now = report(OUTAGE[0]!, 6);
    const pool = [...old, otherCategory, lowSeverity, ...unrelated, ...recent];
    expect(detectBurst(now, pool, now.at, POLICY)).toBeNull();
    const burst = detectBurst(now, pool, now.at, { ...POLICY, minTickets: 3 });
    expect(burst?.reports.map((r) => r.ticketId).sort()).toEqual([now, ...recent].map((r) => r.ticketId).sort());
    // A severity outside the policy never starts one.
    expect(detectBurst({ ...now, severity: 3 }, pool, now.at, { ...POLICY, minTickets: 3 })).toBeNull();
  });

  it('never groups an isolated organisation\'s reports with others', () => {
    const others = OUTAGE.slice(0, 4).map((t, i) => report(t, i));
    const bank = report(OUTAGE[4]!, 5, { organisation: 'bnorte', isolated: true });
    expect(detectBurst(bank, others, bank.at, POLICY)).toBeNull();
    const own = OUTAGE.slice(0, 4).map((t, i) => report(t, i, { organisation: 'bnorte', isolated: true }));
    expect(detectBurst(bank, [...others, ...own], bank.at, POLICY)?.reports).toHaveLength(5);
  });
});

describe('joining an open incident', () => {
  const incident = { id: 7, category: 'disponibilidad', signature: ['portal', 'error', 'carga', 'caido'], organisation: null };

  it('joins the one it shares most words with, and says why or why not', () => {
    const r = report('Sigue sin cargar el portal, error 503', 0);
    expect(matchIncident(r, [incident], POLICY)).toEqual({ incident, shared: ['portal', 'error'], reason: 'incidente #7: misma categoría y comparte «portal», «error»' });
    const other = { id: 8, category: 'disponibilidad', signature: ['correo', 'notificacion'], organisation: null };
    expect(matchIncident(report('No llegan correos de notificación', 0), [incident, other], POLICY).incident?.id).toBe(8);
    expect(matchIncident(report('No puedo timbrar facturas', 0), [incident, other], POLICY)).toEqual({ incident: null, reason: 'no coincide con ningún incidente abierto (#7: comparte 0 de 2 palabras necesarias; #8: comparte 0 de 2 palabras necesarias)' });
    expect(matchIncident({ ...r, category: 'facturacion' }, [incident], POLICY).reason).toContain('#7: otra categoría (disponibilidad)');
    expect(matchIncident(r, [], POLICY)).toEqual({ incident: null, reason: 'no hay incidentes abiertos' });
  });

  it('keeps an isolated organisation out of a shared incident, and others out of its own', () => {
    const r = report('El portal no carga, error 503', 0, { organisation: 'bnorte', isolated: true });
    expect(matchIncident(r, [incident], POLICY).reason).toContain('#7: de otra organización');
    const own = { ...incident, id: 9, organisation: 'bnorte' };
    expect(matchIncident(r, [own], POLICY).incident?.id).toBe(9);
    expect(matchIncident({ ...r, organisation: 'acme', isolated: false }, [own], POLICY).incident).toBeNull();
  });
});
