import { afterEach, describe, expect, it } from 'vitest';
import type { DeskPolicy } from '../../src/domain/policy.ts';
import { agentReplyAddress, email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { peek } from '../support/db-peek.ts';
import { TEST_INCIDENTS, outageText } from '../support/incidents.ts';

/**
 * A major incident's own clock (issue 13), on a real database with a controlled clock: the
 * linked tickets have none, so the incident updates every customer at the most demanding
 * linked contract's cadence, gives everyone a new ETR when its own passes, escalates once on the
 * shortest level budget, and sends the level one digest per period with how many joined.
 */
describe('the clock of a major incident', () => {
  let t: TestMesa;
  afterEach(async () => { await t?.stop(); });
  let now = new Date('2026-11-30T16:00:00Z'); // Monday 10:00 in Mexico City

  const ANA = { name: 'Ana Uno', email: 'ana.n1@proditmapac.com', phone: null };
  const BETO = { name: 'Beto Dos', email: 'beto.n2@proditmapac.com', phone: null };
  const CARLA = { name: 'Carla Tres', email: 'carla.n3@proditmapac.com', phone: null };
  const MESA = 'mesadeayuda@proditmapac.com';
  const open = async (patch: (p: DeskPolicy) => void = () => {}) => {
    now = new Date('2026-11-30T16:00:00Z');
    t = await startTestMesa({
      start: false, clock: () => now, policy: testPolicy((p) => {
        p.incidents = { ...TEST_INCIDENTS };
        p.levels[1].people = [ANA];
        p.levels[2].people = [BETO];
        p.levels[3].people = [CARLA];
        // A contract that wants news of its critical cases every 20 minutes.
        p.organisations.push({ id: 'premium', name: 'Premium SA', match: { domains: ['premium.mx'], addresses: [], phones: [] },
          contract: { until: null, calendar: null, customer: null, severities: { 1: { customerUpdateMinutes: 20 }, 2: { customerUpdateMinutes: 20 } }, sharedMessages: true } });
        patch(p);
      }),
    });
  };
  const customer = (n: number) => `cliente${n}@empresa${n}.mx`;
  const report = (n: number, from = customer(n)) => email({ from, to: MESA, subject: `Portal caído ${n}`, messageId: `caida-${n}@x.mx` }, outageText(n));
  const receive = async (raw: Buffer) => await t.mesa.receive(raw, { kind: 'pipe', mailbox: null }) as { result: string; ticketKey: string; incidentKey?: string; told?: number };
  const at = (hhmm: string) => new Date(`2026-11-30T${hhmm}:00-06:00`);
  const db = () => peek(t);
  type Out = { id: number; moment: string; recipient: string; payload_json: string };
  const outbox = async () => (await db().all('SELECT id, moment, recipient, payload_json FROM outbox ORDER BY id')) as Out[];
  const since = async (id: number) => (await outbox()).filter((o) => o.id > id);
  const lastId = async () => (await outbox()).at(-1)?.id ?? 0;
  const incident = () => t.mesa.store.incidents.byId(1);
  const sweep = async (hhmm: string) => {
    now = at(hhmm);
    await t.mesa.sweep.run(now);
    return await t.mesa.incidentSweep.run(now);
  };
  /** Five alike reports, one a minute from 10:00 (MDA-000001…5): the fifth opens INC-0001 at 10:04. */
  const burst = async () => {
    for (let n = 0; n < 5; n++) {
      now = new Date(at('10:00').getTime() + n * 60_000);
      await receive(report(n));
    }
    expect((await incident())?.state).toBe('abierto');
  };

  it('posts every customer at the most demanding linked cadence, one digest per period, and an agent’s update restarts the cadence', async () => {
    await open();
    await burst();
    // Severity 1 everywhere: news every 60 min from the links at 10:04; first digest 30 min after opening.
    expect(await incident()).toMatchObject({ level: 2, next_update_due_at: at('11:04').getTime(), next_digest_at: at('10:34').getTime() });

    // 10:35: the digest period ends with nobody new: the level hears nothing.
    let mark = await lastId();
    expect(await sweep('10:35')).toMatchObject({ incidents: 1, actions: { digest: 1, customer_update: 0 }, told: 0 });
    expect(await since(mark)).toEqual([]);

    // 10:40: a Premium customer's report joins, and its contract pulls the next update in to 11:00.
    now = at('10:40');
    const premium = await receive(report(5, 'compras@premium.mx'));
    expect((await t.mesa.store.tickets.byKey(premium.ticketKey))?.incident_id).toBe(1);
    expect((await incident())?.next_update_due_at).toBe(at('11:00').getTime());
    expect(await sweep('10:59')).toMatchObject({ incidents: 0 });

    mark = await lastId();
    expect(await sweep('11:00')).toMatchObject({ actions: { customer_update: 1, digest: 0 }, told: 6 });
    const updates = await since(mark);
    expect(updates.map((o) => o.moment)).toEqual(Array(6).fill('incident-update'));
    expect(updates.map((o) => o.recipient).sort()).toEqual([...[0, 1, 2, 3, 4].map(customer), 'compras@premium.mx'].sort());
    const text = (JSON.parse((updates[0] as Out).payload_json) as { text: string }).text;
    expect(text).toContain('Seguimos trabajando para restablecer el servicio.');
    expect(text).toContain('Tiempo estimado de solución:');
    expect((await incident())?.next_update_due_at).toBe(at('11:20').getTime());
    // Swept again at once: nothing is sent twice.
    expect(await sweep('11:00')).toMatchObject({ incidents: 0 });

    // 11:05: one digest to the level holding it, with the one that joined.
    mark = await lastId();
    await sweep('11:05');
    const digest = await since(mark);
    expect(digest.map((o) => [o.moment, o.recipient])).toEqual([['agent-incident-digest', BETO.email]]);
    const d = JSON.parse((digest[0] as Out).payload_json) as { subject: string; text: string; replyTo: string };
    expect(d.subject).toBe('[INC-0001] Resumen del incidente mayor: 1 reportes nuevos, 6 en total');
    expect(d.replyTo).toBe(agentReplyAddress(t.mesa.env.secret, 'INC-0001', BETO.email, MESA));

    // 11:10: an agent's update is the customers' news: the next periodic one is 20 min after it.
    now = at('11:10');
    expect(await receive(email({ from: BETO.email, to: agentReplyAddress(t.mesa.env.secret, 'INC-0001', BETO.email, MESA), subject: 'RE: [INC-0001]', messageId: 'upd@proditmapac.com' }, 'Ya ubicamos la falla.')))
      .toMatchObject({ result: 'incident_update', told: 6 });
    expect((await incident())?.next_update_due_at).toBe(at('11:30').getTime());
    expect(await sweep('11:20')).toMatchObject({ actions: { customer_update: 0 } });

    // Once the Premium ticket is out, the cadence after the next update is the others' hour again.
    now = at('11:25');
    await receive(email({ from: BETO.email, to: agentReplyAddress(t.mesa.env.secret, 'INC-0001', BETO.email, MESA), subject: 'RE: [INC-0001]', messageId: 'unl@proditmapac.com' }, `#nota\r\n#desvincular ${premium.ticketKey}`));
    expect(await sweep('11:30')).toMatchObject({ actions: { customer_update: 1 }, told: 5 });
    expect((await incident())?.next_update_due_at).toBe(at('12:30').getTime());
    // No linked ticket ever escalated or warned on its own.
    expect((await outbox()).some((o) => ['level-warning', 'level-escalation', 'customer-update', 'breach-notice'].includes(o.moment))).toBe(false);
  });

  it('escalates once on the shortest level budget and gives everyone a new ETR when its own passes', async () => {
    await open();
    await burst();
    // Severity 1: level 2 holds it 120 min from the links at 10:04; the ETR is the 4 h target.
    const opened = (await incident())!;
    expect(opened.next_escalation_due_at).toBe(at('12:04').getTime());
    await sweep('11:05');
    await sweep('12:03');
    expect((await outbox()).some((o) => o.moment === 'agent-incident-escalated')).toBe(false);

    let mark = await lastId();
    await sweep('12:05');
    const escalated = (await since(mark)).filter((o) => o.moment.startsWith('agent-'));
    expect(escalated.map((o) => [o.moment, o.recipient])).toEqual([['agent-incident-escalated', CARLA.email]]);
    const n = JSON.parse((escalated[0] as Out).payload_json) as { subject: string; text: string; replyTo: string };
    expect(n.subject).toMatch(/^\[INC-0001\] Incidente mayor escalado a /);
    expect(n.text).toContain('sin resolución dentro del tiempo del nivel 2');
    expect(n.replyTo).toBe(agentReplyAddress(t.mesa.env.secret, 'INC-0001', CARLA.email, MESA));
    expect(await incident()).toMatchObject({ level: 3, level_since: at('12:05').getTime(), next_escalation_due_at: null });
    // The digest now goes to level 3; the level is never told twice.
    await sweep('13:10');
    expect((await outbox()).filter((o) => o.moment === 'agent-incident-escalated')).toHaveLength(1);

    // The ETR passes unresolved: a new one for every linked ticket, told to every customer.
    const etr = opened.etr_at;
    mark = await lastId();
    const r = await sweep(hhmm(etr + 60_000));
    expect(r.actions.etr_expired).toBe(1);
    const told = (await since(mark)).filter((o) => o.moment === 'incident-update');
    expect(told).toHaveLength(5);
    const mail = JSON.parse((told[0] as Out).payload_json) as { text: string };
    expect(mail.text).toContain('La estimación anterior era');
    const after = (await incident())!;
    expect(after.etr_at).toBeGreaterThan(now.getTime());
    for (let k = 1; k <= 5; k++) expect((await t.mesa.store.tickets.byKey(`MDA-00000${k}`))!.etr_at).toBe(after.etr_at);
    const last = (await t.mesa.store.incidents.updates(1)).at(-1)!;
    expect(last).toMatchObject({ kind: 'etr', author: 'system', recipients: 5 });
    expect(last.reason).toContain('el ETR del incidente venció sin resolución');
  });

  it('stops once resolved', async () => {
    await open();
    await burst();
    now = at('10:30');
    await receive(email({ from: BETO.email, to: agentReplyAddress(t.mesa.env.secret, 'INC-0001', BETO.email, MESA), subject: 'RE: [INC-0001]', messageId: 'res@proditmapac.com' }, '#resuelto\r\nRestablecido.'));
    expect(await incident()).toMatchObject({ state: 'resuelto', next_action_at: null });
    const mark = await lastId();
    expect(await sweep('18:00')).toMatchObject({ incidents: 0 });
    expect(await since(mark)).toEqual([]);
  });
});

/** An instant as Mexico City's HH:MM on the test's day. */
function hhmm(ms: number): string {
  const local = new Date(ms - 6 * 3_600_000);
  return local.toISOString().slice(11, 16);
}
