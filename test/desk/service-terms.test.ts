import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import type { DeskPolicy } from '../../src/domain/policy.ts';
import { agentReplyAddress, email, REPO_CONFIG, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { peek } from '../support/db-peek.ts';

/**
 * Organisations, contracts and escalation matrices through the desk, on a fixed clock: the same
 * report from customers of different organisations gets the deadlines, the people notified and
 * the recorded reason of its own terms.
 */

const MIN = 60_000;
const NOW = new Date('2026-11-30T16:00:00Z'); // Monday 10:00 in Mexico City

const LOCAL = `
levels:
  1:
    name: Mesa de Ayuda
    people:
      - { name: Ana Uno, email: ana.uno@proditmapac.com }
  2:
    name: Operaciones
    people:
      - { name: Beto Dos, email: beto.dos@proditmapac.com }
  3:
    name: Especialistas
    people: []
people:
  - { name: Sofía Banco, email: sofia.banco@proditmapac.com }
  - { name: Raúl Seguridad, email: raul.seguridad@proditmapac.com }
`;

const ORGANISATIONS = (firstResponse = '30m', escalate1 = '1h') => `
organisations:
  - id: bnorte
    name: Banco del Norte
    match: { domains: [bnorte.mx], phones: ["+52818*"] }
    contract:
      until: 2027-06-30
      severities:
        3: { clock: continuous, firstResponse: ${firstResponse}, resolution: 8h, escalateAfter: { 1: ${escalate1}, 2: 2h }, customerUpdateEvery: 2h }
  - id: tarjetas
    name: Tarjetas del Norte
    match: { domains: [tarjetas.bnorte.mx] }
    contract:
      until: 2026-11-29
      severities:
        3: { firstResponse: 10m }
  - id: acme
    name: Acme
    match: { domains: [acme.mx] }
  - id: norteno
    name: Grupo Norteño
    match: { domains: [norteno.mx] }
    contract:
      calendar:
        timeZone: America/Tijuana
        weekly: { mon: ["08:00-17:00"], tue: ["08:00-17:00"], wed: ["08:00-17:00"], thu: ["08:00-17:00"], fri: ["08:00-17:00"] }
        extraClosedDates: [2026-12-01]
      customer: { sms: false, updatesFor: [1, 2], copy: [coordinacion@norteno.mx] }
      severities:
        3: { clock: business, firstResponse: 2h, resolution: 10h, customerUpdateEvery: 4h }
  - id: diario
    name: Diario del Norte
    match: { domains: [diario.mx] }
    contract:
      customer: { digestAt: "08:00", copy: [coordinacion@diario.mx] }
matrices:
  - { id: banco, organisation: bnorte, levels: { 1: [Sofía Banco] } }
  - { id: banco-seguridad, organisation: bnorte, category: seguridad, levels: { 2: [raul.seguridad@proditmapac.com] }, fallback: banco }
  - { id: seguridad, category: seguridad, levels: { 1: [Raúl Seguridad] } }
`;

describe('service terms per organisation', () => {
  let t: TestMesa | null = null;
  const dirs: string[] = [];
  afterEach(async () => {
    await t?.stop();
    t = null;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** The repo's config with LOCAL and an organisations.yaml, loaded the way `mesa start` loads it. */
  const policyWith = (organisations: string): DeskPolicy => {
    const dir = mkdtempSync(join(tmpdir(), 'mesa-orgs-'));
    dirs.push(dir);
    cpSync(join(REPO_CONFIG, 'default.yaml'), join(dir, 'default.yaml'));
    writeFileSync(join(dir, 'local.yaml'), LOCAL);
    writeFileSync(join(dir, 'organisations.yaml'), organisations);
    const loaded = loadConfig(dir);
    return testPolicy((p) => Object.assign(p, { levels: loaded.levels, people: loaded.people, organisations: loaded.organisations, matrices: loaded.matrices }));
  };
  const open = async (policy: DeskPolicy, same?: { dataDir: string; databaseUrl?: string | null }) => {
    t = await startTestMesa({ start: false, clock: () => NOW, policy, ...same });
    return t.mesa;
  };
  const report = (from: string, n: number, text = 'Al timbrar marca error y no puedo facturar.') =>
    email({ from, to: 'soportetecnico@proditmapac.com', subject: `No puedo facturar ${n}`, messageId: `rep-${n}@x` }, text);
  const ticketOf = async (key: string) => (await t!.mesa.store.tickets.byKey(key))!;
  const notified = async (ticketId: number) => ((await peek(t!).all(`SELECT recipient FROM outbox WHERE ticket_id = ? AND moment = 'agent-new-ticket' ORDER BY id`, ticketId)) as Array<{ recipient: string }>).map((r) => r.recipient);
  const termsEvent = async (ticketId: number) => (await peek(t!).get(`SELECT data_json, reason FROM events WHERE ticket_id = ? AND type = 'service_terms'`, ticketId)) as { data_json: string; reason: string } | undefined;

  it('gives the same incident the deadlines, people and reason of each customer\'s organisation', async () => {
    const mesa = await open(policyWith(ORGANISATIONS()));
    const banco = await mesa.receive(report('ana@bnorte.mx', 1), { kind: 'pipe', mailbox: null });
    const acme = await mesa.receive(report('luis@acme.mx', 2), { kind: 'pipe', mailbox: null });
    const nadie = await mesa.receive(report('rosa@otra.mx', 3), { kind: 'pipe', mailbox: null });
    const [b, a, n] = await Promise.all([banco, acme, nadie].map((o) => ticketOf((o as { ticketKey: string }).ticketKey)));
    for (const x of [b, a, n]) expect(x!.severity).toBe(3);
    // Banco del Norte's contract: a continuous clock, 30 min to first response, 8 h to resolve.
    expect(b!.organisation).toBe('bnorte');
    expect(b!.first_response_due_at).toBe(NOW.getTime() + 30 * MIN);
    expect(b!.resolution_due_at).toBe(NOW.getTime() + 8 * 60 * MIN);
    expect(b!.next_escalation_due_at).toBe(NOW.getTime() + 60 * MIN);
    expect(await notified(b!.id)).toEqual(['sofia.banco@proditmapac.com']);
    expect(await termsEvent(b!.id)).toMatchObject({ reason: 'organización Banco del Norte por dominio bnorte.mx; contrato vigente hasta 2027-06-30; matriz banco por organización' });
    // Acme has no contract and no matrix: the desk's severity 3 (4 business hours) and level 1.
    expect(a!.organisation).toBe('acme');
    expect(a!.first_response_due_at).toBe(n!.first_response_due_at);
    expect(a!.first_response_due_at).toBe(NOW.getTime() + 4 * 60 * MIN);
    expect(await notified(a!.id)).toEqual(['ana.uno@proditmapac.com']);
    expect((await termsEvent(a!.id))?.reason).toBe('organización Acme por dominio acme.mx; sin contrato: niveles de servicio generales; matriz general');
    // No organisation: general terms, nothing extra recorded.
    expect(n!.organisation).toBeNull();
    expect(await termsEvent(n!.id)).toBeUndefined();
    expect((await mesa.store.tickets.contact(b!.contact_id))?.organisation).toBe('bnorte');
    // The acknowledgment states the contract's times.
    const ack = (await peek(t!).get(`SELECT payload_json FROM outbox WHERE ticket_id = ? AND moment = 'ack'`, b!.id)) as { payload_json: string };
    expect((JSON.parse(ack.payload_json) as { text: string }).text).toContain('lunes 30 de noviembre, 18:00 h');
  });

  it('runs a contract with its own calendar on it, and sends the customer only what the contract agrees', async () => {
    const mesa = await open(policyWith(ORGANISATIONS()));
    const o = await mesa.receive(report('rita@norteno.mx', 10), { kind: 'pipe', mailbox: null });
    const x = await ticketOf((o as { ticketKey: string }).ticketKey);
    // 16:00 UTC is 08:00 in Tijuana, the customer's opening hour: 2 business hours → 10:00 there.
    expect(x.first_response_due_at).toBe(Date.parse('2026-11-30T18:00:00Z'));
    // 10 business hours: Monday's 9, Tuesday closed by the contract, one more on Wednesday.
    expect(x.resolution_due_at).toBe(Date.parse('2026-12-02T17:00:00Z'));
    // Severity 3 is not among the severities with periodic updates.
    expect(x.next_update_due_at).toBeNull();
    expect((await termsEvent(x.id))?.reason).toBe('organización Grupo Norteño por dominio norteno.mx; contrato vigente; calendario del contrato (America/Tijuana); matriz general');
    expect(mesa.terms.of(x).calendar?.extraClosedDates).toEqual(['2026-12-01']);
    // The coordinator is copied on the acknowledgment.
    const ack = (await peek(t!).get(`SELECT payload_json FROM outbox WHERE ticket_id = ? AND moment = 'ack'`, x.id)) as { payload_json: string };
    expect(JSON.parse(ack.payload_json)).toMatchObject({ to: 'rita@norteno.mx', cc: ['coordinacion@norteno.mx'] });
    // The desk's own clock would have said otherwise: 10:00 in Mexico City + 2 h.
    expect(mesa.clocks.business.addBusinessMinutes(NOW, 120).getTime()).toBe(Date.parse('2026-11-30T18:00:00Z'));
    expect(mesa.clocks.business.addBusinessMinutes(NOW, 600).getTime()).not.toBe(x.resolution_due_at);
  });

  it('sends a daily digest instead of per-ticket updates, once a day on working days, across sweeps', async () => {
    const mesa = await open(policyWith(ORGANISATIONS()));
    const keys: string[] = [];
    for (const [n, from] of [[11, 'ana@diario.mx'], [12, 'ana@diario.mx'], [13, 'luis@diario.mx']] as const) {
      keys.push(((await mesa.receive(email({ from, to: 'soportetecnico@proditmapac.com', subject: `Falla ${n}`, messageId: `dig-${n}@x` }, 'Al timbrar marca error y no puedo facturar.'), { kind: 'pipe', mailbox: null })) as { ticketKey: string }).ticketKey);
    }
    const [a1, a2, l1] = await Promise.all(keys.map(ticketOf));
    expect(new Set([a1!.id, a2!.id, l1!.id]).size).toBe(3);
    // No per-ticket updates: the acknowledgment states the digest instead.
    expect(a1!.next_update_due_at).toBeNull();
    const ack = (await peek(t!).get(`SELECT payload_json FROM outbox WHERE ticket_id = ? AND moment = 'ack'`, a1!.id)) as { payload_json: string };
    expect((JSON.parse(ack.payload_json) as { text: string }).text).toContain('Le informaremos del avance una vez al día, a las 08:00, con todos sus casos abiertos');
    const digests = async () => (await peek(t!).all(`SELECT recipient, payload_json FROM outbox WHERE moment = 'customer-digest' ORDER BY id`)) as Array<{ recipient: string; payload_json: string }>;
    // Before 08:00 in Mexico City nothing; at 10:00 one email per customer, the coordinator copied.
    expect(await mesa.digests.run(new Date('2026-11-30T13:59:00Z'))).toEqual({ organisations: 0, emails: 0 });
    expect(await mesa.digests.run(NOW)).toEqual({ organisations: 1, emails: 2 });
    const sent = await digests();
    expect(sent.map((d) => d.recipient)).toEqual(['ana@diario.mx', 'luis@diario.mx']);
    const first = JSON.parse(sent[0]!.payload_json) as { text: string; cc: string[]; subject: string };
    expect(first.cc).toEqual(['coordinacion@diario.mx']);
    expect(first.text).toContain(a1!.key);
    expect(first.text).toContain(a2!.key);
    expect(first.text).not.toContain(l1!.key);
    // The same day again (another sweep, another instance): nothing more.
    expect(await mesa.digests.run(new Date(NOW.getTime() + 60 * MIN))).toEqual({ organisations: 0, emails: 0 });
    // Each case records that it went in the digest.
    const events = (await peek(t!).all(`SELECT ticket_id FROM events WHERE type = 'message_queued' AND data_json LIKE '%customer-digest%' ORDER BY ticket_id`)) as Array<{ ticket_id: number }>;
    expect(events.map((e) => e.ticket_id)).toEqual([a1!.id, a2!.id, l1!.id].sort((x, y) => x - y));
    // The next working day another; a Saturday none.
    expect(await mesa.digests.run(new Date('2026-12-01T14:30:00Z'))).toEqual({ organisations: 1, emails: 2 });
    expect(await mesa.digests.run(new Date('2026-12-05T15:00:00Z'))).toEqual({ organisations: 0, emails: 0 });
    expect(await digests()).toHaveLength(4);
  });

  it('takes the most specific domain, and the defaults once a contract has ended', async () => {
    const mesa = await open(policyWith(ORGANISATIONS()));
    const o = await mesa.receive(report('pepe@tarjetas.bnorte.mx', 4), { kind: 'pipe', mailbox: null });
    const x = await ticketOf((o as { ticketKey: string }).ticketKey);
    expect(x.organisation).toBe('tarjetas');
    expect(x.first_response_due_at).toBe(NOW.getTime() + 4 * 60 * MIN);
    expect((await termsEvent(x.id))?.reason).toBe('organización Tarjetas del Norte por dominio tarjetas.bnorte.mx; contrato vencido el 2026-11-29: niveles de servicio generales; matriz general');
  });

  it('chooses the matrix by organisation and category, with a fallback for the levels it leaves empty', async () => {
    const mesa = await open(policyWith(ORGANISATIONS()));
    const text = 'Recibimos un correo de phishing a nombre de ustedes.';
    const banco = await ticketOf(((await mesa.receive(report('ana@bnorte.mx', 5, text), { kind: 'pipe', mailbox: null })) as { ticketKey: string }).ticketKey);
    const acme = await ticketOf(((await mesa.receive(report('luis@acme.mx', 6, text), { kind: 'pipe', mailbox: null })) as { ticketKey: string }).ticketKey);
    expect([banco.category, acme.category]).toEqual(['seguridad', 'seguridad']);
    // banco-seguridad leaves level 1 empty: its fallback (banco) names Sofía.
    expect(await notified(banco.id)).toEqual(['sofia.banco@proditmapac.com']);
    expect((await termsEvent(banco.id))?.reason).toContain('matriz banco-seguridad por organización y categoría seguridad');
    expect(mesa.terms.people(banco, 2).map((p) => p.email)).toEqual(['raul.seguridad@proditmapac.com']);
    expect(mesa.terms.people(banco, 3)).toEqual([]);
    // Acme has no matrix of its own: the category's.
    expect(await notified(acme.id)).toEqual(['raul.seguridad@proditmapac.com']);
    expect((await termsEvent(acme.id))?.reason).toContain('matriz seguridad por categoría seguridad');
  });

  it('re-evaluates the terms when an agent writes #organizacion or #categoria, and explains it in the history', async () => {
    const mesa = await open(policyWith(ORGANISATIONS()));
    // A bank employee writing from a personal address: general terms at first.
    const key = ((await mesa.receive(report('ana.banco@gmail.com', 9), { kind: 'pipe', mailbox: null })) as { ticketKey: string }).ticketKey;
    expect((await ticketOf(key)).first_response_due_at).toBe(NOW.getTime() + 4 * 60 * MIN);
    const agent = 'ana.uno@proditmapac.com';
    const reply = (body: string, id: string) => mesa.receive(email({ from: `Ana Uno <${agent}>`, to: agentReplyAddress(mesa.env.secret, key, agent), subject: `RE: [${key}] Nuevo ticket`, messageId: id }, body), { kind: 'pipe', mailbox: null });
    expect(await reply('#organizacion banco del norte', 'o1@proditmapac.com')).toMatchObject({ result: 'agent_reply', commands: ['organisation'] });
    let x = await ticketOf(key);
    expect(x.organisation).toBe('bnorte');
    // The contract's 30 minutes, counted from the ticket's creation, on its continuous clock.
    expect(x.first_response_due_at).toBe(NOW.getTime() + 30 * MIN);
    expect(mesa.terms.people(x, 1).map((p) => p.email)).toEqual(['sofia.banco@proditmapac.com']);
    const changed = (await peek(t!).get(`SELECT data_json, reason FROM events WHERE ticket_id = ? AND type = 'service_terms_changed'`, x.id)) as { data_json: string; reason: string };
    expect(changed.reason).toBe('#organizacion bnorte por Ana Uno: organización Banco del Norte por indicación de Ana Uno; contrato vigente hasta 2027-06-30; matriz banco por organización');
    expect(JSON.parse(changed.data_json)).toMatchObject({ organisation: { from: null, to: 'bnorte' }, matrix: { from: null, to: 'banco' } });
    // A new category keeps the organisation and picks its matrix for that category.
    await reply('#categoria Seguridad', 'o2@proditmapac.com');
    x = await ticketOf(key);
    expect([x.category, x.organisation]).toEqual(['seguridad', 'bnorte']);
    expect(mesa.terms.of(x).matrix?.id).toBe('banco-seguridad');
    // Unknown values change nothing: the agent is told what exists.
    expect(await reply('#organizacion Banco del Sur', 'o3@proditmapac.com')).toMatchObject({ result: 'agent_rejected', reason: 'invalid_command' });
    const error = (await peek(t!).get(`SELECT payload_json FROM outbox WHERE moment = 'agent-error' ORDER BY id DESC LIMIT 1`)) as { payload_json: string };
    expect((JSON.parse(error.payload_json) as { text: string }).text).toContain('«Banco del Sur» no es una organización configurada (hay: Banco del Norte, Tarjetas del Norte, Acme, Grupo Norteño, Diario del Norte)');
    // And back to none: the general terms again.
    await reply('#organizacion ninguna', 'o4@proditmapac.com');
    x = await ticketOf(key);
    expect(x.organisation).toBeNull();
    expect(x.first_response_due_at).toBe(NOW.getTime() + 4 * 60 * MIN);
  });

  it('keeps an open ticket on the terms it was opened with when the config changes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mesa-orgs-data-'));
    dirs.push(dataDir);
    let mesa = await open(policyWith(ORGANISATIONS('30m', '1h')), { dataDir });
    const databaseUrl = t!.databaseUrl;
    const key = ((await mesa.receive(report('ana@bnorte.mx', 7), { kind: 'pipe', mailbox: null })) as { ticketKey: string }).ticketKey;
    await t!.stop();
    t = null;
    // The contract is renegotiated: level 1 now has 3 h. The open ticket keeps its 1 h and 2 h.
    mesa = await open(policyWith(ORGANISATIONS('5m', '3h')), { dataDir, databaseUrl });
    const before = await ticketOf(key);
    expect(before.first_response_due_at).toBe(NOW.getTime() + 30 * MIN);
    const escalated = await mesa.store.transaction(() => mesa.lifecycle.escalate(before, 2, new Date(NOW.getTime() + 60 * MIN), 'tiempo del nivel 1 agotado'));
    expect(escalated.next_escalation_due_at).toBe(NOW.getTime() + 3 * 60 * MIN); // 2 h at level 2, from the escalation
    expect(mesa.lifecycle.severityOf(escalated).escalateAfterMinutes).toEqual({ 1: 60, 2: 120 });
    // A severity change stays on the ticket's terms too: severity 2 is the desk's default there.
    const changed = await mesa.store.transaction(() => mesa.lifecycle.changeSeverity(escalated, 2, new Date(NOW.getTime() + 61 * MIN), 'system', 'prueba'));
    expect(mesa.terms.severity(changed).firstResponseMinutes).toBe(mesa.policy.severities[2].firstResponseMinutes);
    // ...and back at severity 3 it would still be the old contract's 30 minutes, not the new 5.
    expect((await ticketOf(key)).terms_json).toBe(before.terms_json);
    expect(mesa.terms.severity(changed, 3).firstResponseMinutes).toBe(30);
    // A new ticket from the same customer gets the new contract.
    const fresh = await ticketOf(((await mesa.receive(report('ana@bnorte.mx', 8), { kind: 'pipe', mailbox: null })) as { ticketKey: string }).ticketKey);
    expect(fresh.first_response_due_at).toBe(NOW.getTime() + 5 * MIN);
  });
});
