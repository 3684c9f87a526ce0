import { afterEach, describe, expect, it } from 'vitest';
import type { DeskPolicy } from '../../src/domain/policy.ts';
import { email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { peek } from '../support/db-peek.ts';
import { TEST_INCIDENTS, outageText } from '../support/incidents.ts';

/**
 * Major incidents at ticket opening (issue 13), on a real database with a controlled clock: a
 * burst of alike outage reports opens one incident and links them; later alike reports join it;
 * linked customers are told the problem is known, the level hears once, and no linked ticket
 * keeps a clock of its own. An organisation whose contract forbids shared messages stays apart.
 */
describe('major incidents at ticket opening', () => {
  let t: TestMesa;
  afterEach(async () => { await t?.stop(); });
  let now = new Date('2026-11-30T16:00:00Z'); // Monday 10:00 in Mexico City

  const BETO = { name: 'Beto Dos', email: 'beto.n2@proditmapac.com', phone: null };
  const ANA = { name: 'Ana Uno', email: 'ana.n1@proditmapac.com', phone: null };
  const open = async (patch: (p: DeskPolicy) => void = () => {}) => {
    t = await startTestMesa({
      start: false, clock: () => now, policy: testPolicy((p) => {
        p.incidents = { ...TEST_INCIDENTS };
        p.levels[1].people = [ANA];
        p.levels[2].people = [BETO];
        p.organisations.push({ id: 'aislada', name: 'Aislada SA', match: { domains: ['aislada.mx'], addresses: [], phones: [] },
          contract: { until: null, calendar: null, customer: null, severities: {}, sharedMessages: false } });
        patch(p);
      }),
    });
  };
  const report = (n: number, from = `cliente${n}@empresa${n}.mx`) => email({
    from, to: 'mesadeayuda@proditmapac.com', subject: `Portal caído ${n}`, messageId: `caida-${n}@x.mx`,
  }, outageText(n));
  const receive = async (raw: Buffer) => {
    const outcome = await t.mesa.receive(raw, { kind: 'pipe', mailbox: null });
    now = new Date(now.getTime() + 60_000);
    return outcome as { result: string; ticketKey: string };
  };
  const db = () => peek(t);
  const outbox = async () => (await db().all('SELECT o.id, o.moment, o.recipient, o.payload_json, t.key FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id ORDER BY o.id')) as Array<{ id: number; moment: string; recipient: string; payload_json: string; key: string }>;
  const ticket = async (key: string) => (await db().get('SELECT incident_id, etr_at, next_action_at, report_words FROM tickets WHERE key = ?', key)) as { incident_id: number | null; etr_at: number; next_action_at: number | null; report_words: string | null };
  const eventsOf = async (key: string) => (await db().all('SELECT e.type, e.reason FROM events e JOIN tickets t ON t.id = e.ticket_id WHERE t.key = ? ORDER BY e.id', key)) as Array<{ type: string; reason: string | null }>;

  it('opens one incident on the fifth alike report, links the burst and the reports after it, and tells the level once', async () => {
    await open();
    const keys: string[] = [];
    for (let n = 0; n < 4; n++) keys.push((await receive(report(n))).ticketKey);
    // Four are not a burst yet: each is a ticket of its own, told why it joined nothing.
    for (const k of keys) expect((await ticket(k)).incident_id).toBeNull();
    expect((await eventsOf(keys[3]!)).find((e) => e.type === 'incident_not_joined')?.reason).toContain('sin ráfaga: 4 de 5 reportes parecidos de disponibilidad en 10 min');
    const unrelated = (await receive(email({ from: 'otro@empresa9.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Impresora', messageId: 'imp@x.mx' }, 'La impresora de la oficina no imprime.'))).ticketKey;
    const before = await outbox();
    expect(before.filter((m) => m.moment === 'ack')).toHaveLength(5);

    keys.push((await receive(report(4))).ticketKey);
    const [incident] = (await db().all('SELECT * FROM incidents')) as Array<{ id: number; state: string; category: string; signature_json: string; etr_at: number; reason: string }>;
    expect(incident).toMatchObject({ state: 'abierto', category: 'disponibilidad' });
    expect(JSON.parse(incident!.signature_json)).toEqual(expect.arrayContaining(['portal', 'facturacion', 'electronica']));
    expect(incident!.reason).toMatch(/^5 reportes de disponibilidad en 10 min comparten /);
    for (const k of keys) {
      const row = await ticket(k);
      expect(row.incident_id).toBe(incident!.id);
      // One ETR for everyone, and no clock of its own: the sweep never picks it up.
      expect(row.etr_at).toBe(incident!.etr_at);
      expect(row.next_action_at).toBeNull();
    }
    expect((await ticket(unrelated)).incident_id).toBeNull();
    expect((await eventsOf(keys[4]!)).map((e) => e.type)).toEqual(expect.arrayContaining(['incident_opened', 'incident_linked']));

    // The sixth joins at once; its customer gets the "known problem" answer, the level nothing.
    const sixth = (await receive(report(5))).ticketKey;
    expect((await ticket(sixth)).incident_id).toBe(incident!.id);
    expect((await eventsOf(sixth)).find((e) => e.type === 'incident_linked')?.reason).toMatch(/^incidente #\d+: misma categoría y comparte /);

    const lastBefore = Math.max(...before.map((m) => m.id));
    const after = (await outbox()).filter((m) => m.id > lastBefore);
    const ackIncident = after.filter((m) => m.moment === 'ack-incident');
    expect(ackIncident.map((m) => m.key)).toEqual([keys[4], sixth]);
    const text = (JSON.parse(ackIncident[0]!.payload_json) as { text: string; subject: string });
    expect(text.subject).toContain(`[${keys[4]}] Problema conocido`);
    expect(text.text).toContain('Se trata de un problema que ya conocemos y que afecta a varios clientes');
    expect(text.text).toContain('incidente INC-');
    expect(text.text).toContain('Tiempo estimado de solución:');
    // To agents: one notice of the incident, to level 2, and no per-ticket notice for the linked reports.
    const toAgents = after.filter((m) => m.moment.startsWith('agent-'));
    expect(toAgents.map((m) => [m.moment, m.recipient])).toEqual([['agent-incident-opened', BETO.email]]);
    const notice = JSON.parse(toAgents[0]!.payload_json) as { subject: string; text: string };
    expect(notice.subject).toMatch(/^\[INC-\d{4}\] Incidente mayor: 5 reportes de disponibilidad$/);
    expect(notice.text).toContain('Tickets vinculados hasta ahora: 5');
    expect((await eventsOf(sixth)).map((e) => e.type)).toContain('level_notice_skipped');
    // The first report's notice to level 1 was due at once (a running dispatcher has sent it by
    // then); the next three, alike with it, held theirs. The incident's one notice replaced
    // whatever was still unsent (here, with no dispatcher running, all four).
    const newTicket = (await outbox()).filter((m) => m.moment === 'agent-new-ticket' && keys.includes(m.key as string));
    expect(newTicket).toEqual([]);
    for (const k of keys.slice(1, 4)) expect((await eventsOf(k)).map((e) => e.type)).toEqual(expect.arrayContaining(['level_notice_held', 'level_notice_withdrawn']));
    expect((await eventsOf(keys[0]!)).map((e) => e.type)).not.toContain('level_notice_held');

    // Hours later nothing of the linked tickets escalates; the unrelated ticket keeps its clock.
    now = new Date(now.getTime() + 3 * 86_400_000);
    await t.mesa.sweep.run(now);
    const escalated = (await db().all(`SELECT DISTINCT t.key FROM events e JOIN tickets t ON t.id = e.ticket_id WHERE e.type IN ('escalated', 'level_warning', 'etr_changed', 'first_response_breached', 'resolution_breached', 'customer_update_sent')`)) as Array<{ key: string }>;
    expect(escalated.map((r) => r.key).filter((k) => [...keys, sixth].includes(k))).toEqual([]);
    expect(escalated.map((r) => r.key)).toContain(unrelated);
  });

  it('keeps an organisation whose contract forbids shared messages out of other customers\' incidents', async () => {
    await open();
    for (let n = 0; n < 5; n++) await receive(report(n));
    const aislada = (await receive(report(7, 'compras@aislada.mx'))).ticketKey;
    expect((await ticket(aislada)).incident_id).toBeNull();
    expect((await eventsOf(aislada)).find((e) => e.type === 'incident_not_joined')?.reason).toContain('de otra organización');
  });

  it('does nothing when incidents are off: every report is its own ticket, words not kept', async () => {
    await open((p) => { p.incidents.enabled = false; });
    const keys: string[] = [];
    for (let n = 0; n < 6; n++) keys.push((await receive(report(n))).ticketKey);
    expect(await db().all('SELECT * FROM incidents')).toEqual([]);
    for (const k of keys) expect(await ticket(k)).toMatchObject({ incident_id: null, report_words: null });
    expect((await outbox()).filter((m) => m.moment === 'agent-new-ticket')).toHaveLength(6);
  });
  it('explains, without changing anything, whether a report would join an incident, open one, or neither', async () => {
    await open();
    const words = ['portal', 'facturacion', 'electronica', 'carga', 'error', '503'];
    const ask = (w: string[] = words, category = 'disponibilidad', severity: 1 | 2 | 3 = 1) => t.mesa.incidentLinking.explain({ category, severity, organisation: null, words: w }, now);
    for (let n = 0; n < 4; n++) await receive(report(n));
    expect(await ask()).toMatchObject({ decision: 'open', incident: null, reason: expect.stringMatching(/^abriría un incidente: 5 reportes de disponibilidad en 10 min comparten /) });
    expect(await ask(words, 'disponibilidad', 3)).toMatchObject({ decision: 'none', reason: 'la severidad 3 no se considera para incidentes (incidents.severities: 1, 2)' });
    expect((await db().all('SELECT id FROM incidents'))).toEqual([]);
    await receive(report(4));
    expect(await ask()).toMatchObject({ decision: 'join', incident: 'INC-0001', reason: expect.stringMatching(/^incidente #1: misma categoría y comparte /) });
    expect(await ask(['impresora', 'oficina', 'imprime'])).toMatchObject({ decision: 'none', reason: expect.stringContaining('sin ráfaga') });
  });
});
