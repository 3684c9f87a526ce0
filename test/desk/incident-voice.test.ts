import { afterEach, describe, expect, it } from 'vitest';
import type { DeskPolicy } from '../../src/domain/policy.ts';
import { agentReplyAddress, email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { peek } from '../support/db-peek.ts';
import { TEST_INCIDENTS, outageText } from '../support/incidents.ts';

/**
 * One voice for a major incident (issue 13), on a real database with a controlled clock: agents
 * answer the incident's own notice, and that answer reaches every linked customer over their
 * own thread, paced through the outbox; `#etr` moves everyone's ETR, `#resuelto` closes every
 * linked case, `#vincular` / `#desvincular` undo a false grouping, and a customer whose problem
 * persists reopens their own ticket, unlinked.
 */
describe('working a major incident by email', () => {
  let t: TestMesa;
  afterEach(async () => { await t?.stop(); });
  let now = new Date('2026-11-30T16:00:00Z'); // Monday 10:00 in Mexico City

  const BETO = { name: 'Beto Dos', email: 'beto.n2@proditmapac.com', phone: null };
  const ANA = { name: 'Ana Uno', email: 'ana.n1@proditmapac.com', phone: null };
  const MESA = 'mesadeayuda@proditmapac.com';
  const open = async (patch: (p: DeskPolicy) => void = () => {}) => {
    now = new Date('2026-11-30T16:00:00Z');
    t = await startTestMesa({
      start: false, clock: () => now, policy: testPolicy((p) => {
        p.incidents = { ...TEST_INCIDENTS };
        p.levels[1].people = [ANA];
        p.levels[2].people = [BETO];
        patch(p);
      }),
    });
  };
  const customer = (n: number) => `cliente${n}@empresa${n}.mx`;
  const report = (n: number) => email({ from: customer(n), to: MESA, subject: `Portal caído ${n}`, messageId: `caida-${n}@x.mx` }, outageText(n));
  const receive = async (raw: Buffer) => {
    const outcome = await t.mesa.receive(raw, { kind: 'pipe', mailbox: null });
    now = new Date(now.getTime() + 60_000);
    return outcome as { result: string; ticketKey: string; incidentKey?: string; told?: number; reason?: string };
  };
  const db = () => peek(t);
  type Out = { id: number; moment: string; recipient: string; payload_json: string; next_attempt_at: number; key: string | null };
  const outbox = async () => (await db().all('SELECT o.id, o.moment, o.recipient, o.payload_json, o.next_attempt_at, t.key FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id ORDER BY o.id')) as Out[];
  const ticket = async (key: string) => (await t.mesa.store.tickets.byKey(key))!;
  const incidentAddress = (key: string, agent = BETO.email) => agentReplyAddress(t.mesa.env.secret, key, agent, MESA);
  const agentMail = (to: string, subject: string, body: string, id: string, from = BETO.email) => email({ from, to, subject, messageId: id }, body);
  /** Five alike reports (MDA-000001…5) open INC-0001; then one unrelated ticket (MDA-000006). */
  const burst = async () => {
    for (let n = 0; n < 5; n++) await receive(report(n));
    const unrelated = await receive(email({ from: 'otro@empresa9.mx', to: MESA, subject: 'Impresora', messageId: 'imp@x.mx' }, 'La impresora de la oficina no imprime.'));
    expect(unrelated.ticketKey).toBe('MDA-000006');
    return (await db().get('SELECT * FROM incidents WHERE id = 1')) as { id: number; etr_at: number; state: string };
  };

  it('notifies the level on the incident’s own thread, and the agent’s answer reaches every linked customer once', async () => {
    await open();
    const incident = await burst();
    const notice = (await outbox()).find((o) => o.moment === 'agent-incident-opened')!;
    const payload = JSON.parse(notice.payload_json) as { replyTo: string; subject: string; text: string };
    expect(payload.replyTo).toBe(incidentAddress('INC-0001'));
    expect(payload.subject).toMatch(/^\[INC-0001\] /);
    expect(payload.text).toContain('se envía a TODOS los clientes vinculados');

    const before = (await outbox()).length;
    const outcome = await receive(agentMail(incidentAddress('INC-0001'), 'RE: [INC-0001] Incidente mayor', '#etr 3h\r\nIdentificamos la falla en el balanceador; la estamos corrigiendo.\r\n\r\nEl lun, Mesa escribió:\r\n> aviso', 'upd-1@proditmapac.com'));
    expect(outcome).toMatchObject({ result: 'incident_update', incidentKey: 'INC-0001', told: 5 });
    const sent = (await outbox()).slice(before);
    expect(sent.map((o) => o.moment)).toEqual(Array(5).fill('incident-update'));
    expect(sent.map((o) => o.recipient).sort()).toEqual([0, 1, 2, 3, 4].map(customer).sort());
    const newEtr = now.getTime() - 60_000 + 3 * 3_600_000;
    for (const o of sent) {
      const mail = JSON.parse(o.payload_json) as { text: string; replyTo: string; inReplyTo: string; references: string[]; subject: string };
      // Over the customer's own thread: their ticket's key and subject, their reply token, under
      // their messages; another customer's words (the report that opened the incident) never.
      const n = Number(o.key!.slice(-1)) - 1;
      expect(mail.subject).toBe(`[${o.key}] Avance del problema que reportó: Portal caído ${n}`);
      if (n !== 4) expect(JSON.stringify(mail)).not.toContain('Portal caído 4');
      expect(mail.text).toContain('(incidente INC-0001: Falla que afecta a varios clientes)');
      expect(mail.replyTo).toContain(`+${o.key}.`);
      expect(mail.inReplyTo).toMatch(new RegExp(`^${o.key!.toLowerCase()}\\.ack`));
      expect(mail.references).toContain(`caida-${n}@x.mx`);
      expect(mail.text).toContain('Identificamos la falla en el balanceador; la estamos corrigiendo.');
      expect(mail.text).not.toContain('Mesa escribió');
      expect(mail.text).toContain('Cómo ha cambiado la estimación:');
      expect(mail.text).toContain('La estimación anterior era');
      expect(JSON.stringify(mail)).not.toContain(BETO.email);
      const row = await ticket(o.key!);
      expect(row.etr_at).toBe(newEtr);
      expect(row.first_responded_at).not.toBeNull();
    }
    expect((await db().get('SELECT etr_at FROM incidents WHERE id = 1')) as { etr_at: number }).toEqual({ etr_at: newEtr });
    expect((await ticket('MDA-000006')).etr_at).not.toBe(newEtr);
    expect(incident.etr_at).not.toBe(newEtr);
    const updates = (await t.mesa.store.incidents.updates(1)).map((u) => [u.kind, u.recipients]);
    expect(updates).toEqual([['opened', 0], ['update', 5]]);
    // Nobody on the desk was told of each customer's message.
    expect(sent.some((o) => o.recipient.endsWith('@proditmapac.com'))).toBe(false);
  });

  it('#titulo gives the incident the title its customers read', async () => {
    await open();
    await burst();
    const before = (await outbox()).length;
    await receive(agentMail(incidentAddress('INC-0001'), 'RE: [INC-0001]', '#titulo Portal de facturación sin servicio\r\nYa trabajamos en la falla.', 'ttl@proditmapac.com'));
    const sent = (await outbox()).slice(before);
    expect(sent).toHaveLength(5);
    for (const o of sent) expect((JSON.parse(o.payload_json) as { text: string }).text).toContain('(incidente INC-0001: Portal de facturación sin servicio)');
    // Outside an incident's thread it is refused.
    const onTicket = await receive(agentMail(agentReplyAddress(t.mesa.env.secret, 'MDA-000006', ANA.email, MESA), 'RE: [MDA-000006]', '#titulo Otro', 'ttl2@proditmapac.com', ANA.email));
    expect(onTicket).toMatchObject({ result: 'agent_rejected', reason: 'invalid_command' });
  });

  it('paces the fan-out through the outbox at the configured rate', async () => {
    await open((p) => { p.incidents.fanOutPerSecond = 2; });
    await burst();
    const before = (await outbox()).length;
    await receive(agentMail(incidentAddress('INC-0001'), 'RE: [INC-0001]', 'Seguimos trabajando en la falla.', 'upd-p@proditmapac.com'));
    const at = now.getTime() - 60_000;
    expect((await outbox()).slice(before).map((o) => o.next_attempt_at - at)).toEqual([0, 0, 1000, 1000, 2000]);
  });

  it('#resuelto closes every linked case with one message each; a customer who still fails reopens their own, unlinked', async () => {
    await open();
    await burst();
    const outcome = await receive(agentMail(incidentAddress('INC-0001'), 'RE: [INC-0001]', '#resuelto\r\nEl portal ya funciona con normalidad.', 'res-1@proditmapac.com'));
    expect(outcome).toMatchObject({ result: 'incident_update', told: 5, resolved: true });
    for (let n = 1; n <= 5; n++) expect((await ticket(`MDA-00000${n}`)).state).toBe('resuelto');
    expect((await ticket('MDA-000006')).state).not.toBe('resuelto');
    expect((await db().get('SELECT state FROM incidents WHERE id = 1'))).toEqual({ state: 'resuelto' });
    const closing = (await outbox()).filter((o) => o.moment === 'incident-resolved');
    expect(closing).toHaveLength(5);
    expect((JSON.parse(closing[0]!.payload_json) as { text: string }).text).toContain('El portal ya funciona con normalidad.');

    // One customer answers that it still fails: their case is theirs again, with its own clock.
    const back = email({ from: customer(2), to: MESA, subject: 'RE: [MDA-000003] Resuelto', messageId: 'sigue@x.mx', inReplyTo: JSON.parse(closing[2]!.payload_json).messageId }, 'A mí me sigue sin cargar.');
    expect(await receive(back)).toMatchObject({ result: 'follow_up', ticketKey: 'MDA-000003', reopened: true });
    const reopened = await ticket('MDA-000003');
    expect(reopened).toMatchObject({ state: 'en_atencion', incident_id: null });
    expect(reopened.next_action_at).not.toBeNull();
    expect((await ticket('MDA-000004')).incident_id).toBe(1);

    // A resolved incident takes no more updates for its customers.
    const late = await receive(agentMail(incidentAddress('INC-0001'), 'RE: [INC-0001]', 'Otra cosa.', 'late@proditmapac.com'));
    expect(late).toMatchObject({ result: 'agent_rejected', reason: 'invalid_command' });
  });

  it('#vincular and #desvincular on the incident thread undo a false grouping with no message lost', async () => {
    await open();
    await burst();
    expect(await receive(agentMail(incidentAddress('INC-0001'), 'RE: [INC-0001]', '#vincular MDA-6', 'lk@proditmapac.com'))).toMatchObject({ result: 'incident_update', told: 0 });
    const linked = await ticket('MDA-000006');
    expect(linked.incident_id).toBe(1);
    expect(linked.next_action_at).toBeNull();
    expect((await outbox()).filter((o) => o.key === 'MDA-000006').map((o) => o.moment)).toEqual(['ack', 'agent-new-ticket', 'ack-incident']);

    await receive(agentMail(incidentAddress('INC-0001'), 'RE: [INC-0001]', '#desvincular MDA-000006 MDA-000002', 'ul@proditmapac.com'));
    for (const k of ['MDA-000006', 'MDA-000002']) {
      const row = await ticket(k);
      expect(row.incident_id).toBeNull();
      // Its own clock again: the level's deadlines counted from the moment it left.
      expect(row.next_action_at).not.toBeNull();
      expect(row.level_since).toBe(now.getTime() - 60_000);
    }
    // An update now skips them.
    const before = (await outbox()).length;
    await receive(agentMail(incidentAddress('INC-0001'), 'RE: [INC-0001]', 'Avance: la falla está aislada.', 'upd-2@proditmapac.com'));
    expect((await outbox()).slice(before).map((o) => o.key).sort()).toEqual(['MDA-000001', 'MDA-000003', 'MDA-000004', 'MDA-000005']);
    expect((await t.mesa.store.incidents.updates(1)).map((u) => u.kind)).toEqual(['opened', 'linked', 'unlinked', 'update']);
  });

  it('refuses, and tells the agent on the incident thread, a command that does not apply to an incident or names a missing ticket', async () => {
    await open();
    await burst();
    const before = (await outbox()).length;
    const wrong = await receive(agentMail(incidentAddress('INC-0001'), 'RE: [INC-0001]', '#severidad 1\r\nTexto.', 'bad-1@proditmapac.com'));
    expect(wrong).toMatchObject({ result: 'agent_rejected', reason: 'invalid_command' });
    const missing = await receive(agentMail(incidentAddress('INC-0001'), 'RE: [INC-0001]', '#vincular MDA-000099\r\nTexto.', 'bad-2@proditmapac.com'));
    expect(missing).toMatchObject({ result: 'agent_rejected', reason: 'invalid_command' });
    const errors = (await outbox()).slice(before);
    expect(errors.map((o) => [o.moment, o.recipient])).toEqual([['agent-error', BETO.email], ['agent-error', BETO.email]]);
    const first = JSON.parse(errors[0]!.payload_json) as { text: string; replyTo: string };
    expect(first.replyTo).toBe(incidentAddress('INC-0001'));
    expect(first.text).toContain('#severidad no se aplica a un incidente mayor');
    expect((JSON.parse(errors[1]!.payload_json) as { text: string }).text).toContain('No existe el ticket MDA-000099.');
    // Nothing reached a customer, and a forged From with the agent's token changes nothing either.
    const forged = await receive(agentMail(incidentAddress('INC-0001'), 'RE: [INC-0001]', '#resuelto\r\nListo.', 'forged@x.mx', 'intruso@otro.example'));
    expect(forged).toMatchObject({ result: 'agent_rejected', reason: 'foreign_from' });
    expect((await db().get('SELECT state FROM incidents WHERE id = 1'))).toEqual({ state: 'abierto' });
  });

  it('declares an incident from a ticket with #incidente mayor, and links another ticket to it by #vincular from its thread', async () => {
    await open((p) => { p.incidents.enabled = false; });
    await receive(email({ from: 'a@empresa1.mx', to: MESA, subject: 'No hay VPN', messageId: 'v1@x.mx' }, 'La VPN de la sucursal no conecta desde las 8.'));
    await receive(email({ from: 'b@empresa2.mx', to: MESA, subject: 'VPN caída', messageId: 'v2@x.mx' }, 'No conecta la VPN.'));
    const ticketAddress = (key: string) => agentReplyAddress(t.mesa.env.secret, key, ANA.email, MESA);
    expect(await receive(agentMail(ticketAddress('MDA-000001'), 'RE: [MDA-000001]', '#incidente mayor', 'decl@proditmapac.com', ANA.email))).toMatchObject({ result: 'agent_reply', commands: ['major_incident'] });
    const incident = (await db().get('SELECT * FROM incidents')) as { id: number; opened_by: string; reason: string };
    expect(incident).toMatchObject({ opened_by: `agent:${ANA.email}`, reason: 'declarado por Ana Uno (#incidente mayor)' });
    expect((await ticket('MDA-000001')).incident_id).toBe(incident.id);
    const notice = (await outbox()).find((o) => o.moment === 'agent-incident-opened')!;
    expect([notice.recipient, JSON.parse(notice.payload_json).replyTo]).toEqual([BETO.email, incidentAddress('INC-0001')]);

    expect(await receive(agentMail(ticketAddress('MDA-000002'), 'RE: [MDA-000002]', '#vincular MDA-000001', 'lk2@proditmapac.com', ANA.email))).toMatchObject({ result: 'agent_reply', commands: ['link'] });
    expect((await ticket('MDA-000002')).incident_id).toBe(incident.id);
    expect((await outbox()).filter((o) => o.key === 'MDA-000002').map((o) => o.moment).at(-1)).toBe('ack-incident');
    // Declaring twice, or linking to what is no incident, is refused with the reason.
    expect(await receive(agentMail(ticketAddress('MDA-000002'), 'RE: [MDA-000002]', '#incidente mayor', 'decl2@proditmapac.com', ANA.email))).toMatchObject({ result: 'agent_rejected', reason: 'invalid_command' });
    expect(await receive(agentMail(ticketAddress('MDA-000002'), 'RE: [MDA-000002]', '#desvincular', 'ul2@proditmapac.com', ANA.email))).toMatchObject({ result: 'agent_reply', commands: ['unlink'] });
    expect((await ticket('MDA-000002')).incident_id).toBeNull();
    expect(await receive(agentMail(ticketAddress('MDA-000002'), 'RE: [MDA-000002]', '#desvincular', 'ul3@proditmapac.com', ANA.email))).toMatchObject({ result: 'agent_rejected', reason: 'invalid_command' });
  });

  it('gives a linked customer who writes again no second automatic answer inside the quiet window', async () => {
    await open();
    await burst();
    const ack = (await outbox()).find((o) => o.key === 'MDA-000005' && o.moment === 'ack-incident')!;
    const again = email({ from: customer(4), to: MESA, subject: 'RE: [MDA-000005]', messageId: 'again@x.mx', inReplyTo: JSON.parse(ack.payload_json).messageId }, '¿Ya hay novedades?');
    expect(await receive(again)).toMatchObject({ result: 'follow_up', ticketKey: 'MDA-000005', acknowledged: false });
  });
});
