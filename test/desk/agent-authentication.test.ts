import { afterEach, describe, expect, it } from 'vitest';
import type { DeskPolicy } from '../../src/domain/policy.ts';
import { agentReplyAddress, email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { peek } from '../support/db-peek.ts';

/**
 * The optional stricter check of agents' replies (issue 5): with `agents.requireAuthentication`
 * on, a reply with the right token and From is applied only when OUR receiving server's
 * Authentication-Results show an aligned dkim=pass or spf=pass; otherwise it is refused like a
 * spoof. On a real SQLite file, through the desk's intake.
 */
describe('agent replies with required authentication', () => {
  let t: TestMesa;
  const now = new Date('2026-11-30T10:00:00-06:00');
  const ANA = { name: 'Ana Uno', email: 'ana.n1@proditmapac.com', aliases: ['ana.uno@gmail.com'], phone: null };
  afterEach(async () => { await t?.stop(); });

  const open = async (patch: (p: DeskPolicy) => void = () => {}) => {
    t = await startTestMesa({ start: false, clock: () => now, policy: testPolicy((p) => {
      p.levels[1].people = [ANA];
      p.agents.requireAuthentication = { enabled: true, domains: ['proditmapac.com'], trustedAuthservIds: ['mx.proditmapac.com'] };
      patch(p);
    }) });
    await receive(email({ from: 'Carla <carla@cliente.mx>', to: 'soportetecnico@proditmapac.com', subject: 'No puedo subir archivos', messageId: 'c1@cliente.mx' }, 'Me marca error al subir un archivo.'));
  };
  const receive = (raw: Buffer) => t.mesa.receive(raw, { kind: 'pipe', mailbox: null });
  const tokenAddress = () => agentReplyAddress(t.mesa.env.secret, 'MDA-000001', ANA.email);
  /** An agent's reply as our server delivered it: the Authentication-Results it prepended on top. */
  const reply = (id: string, body: string, authResults: string[], from = `Ana Uno <${ANA.email}>`) => Buffer.concat([
    Buffer.from(authResults.map((v) => `Authentication-Results: ${v}\r\n`).join('')),
    email({ from, to: tokenAddress(), subject: 'RE: [MDA-000001] Nuevo ticket', messageId: id }, body),
  ]);
  const outbox = async () => (await peek(t).all('SELECT moment, recipient, payload_json FROM outbox ORDER BY id')) as Array<{ moment: string; recipient: string; payload_json: string }>;
  const ticket = async () => (await t.mesa.store.tickets.byKey('MDA-000001'))!;
  const events = async (type: string) => (await t.mesa.store.tickets.events((await ticket()).id)).filter((e) => e.type === type).map((e) => JSON.parse(e.data_json) as Record<string, unknown>);

  it('refuses a reply our server did not authenticate: nothing changes, the agent is told why', async () => {
    await open();
    const before = (await ticket());
    const outcome = await receive(reply('a1@proditmapac.com', '#resuelto\r\nListo, ya quedó.', []));
    expect(outcome).toMatchObject({ result: 'agent_rejected', ticketKey: 'MDA-000001', reason: 'not_authenticated' });
    expect((await ticket())).toMatchObject({ state: before.state, etr_at: before.etr_at, first_responded_at: null });
    expect((await outbox()).filter((o) => o.recipient === 'carla@cliente.mx').map((o) => o.moment)).toEqual(['ack']);
    const errors = (await outbox()).filter((o) => o.moment === 'agent-error');
    expect(errors.map((o) => o.recipient)).toEqual([ANA.email]);
    expect((JSON.parse(errors[0]!.payload_json) as { text: string }).text).toContain('no se pudo autenticar el mensaje');
    expect((await events('agent_reply_rejected'))).toEqual([{ reason: 'not_authenticated', agent: ANA.email, authentication: { result: 'no_trusted_results', seen: [] } }]);
  });

  it('refuses a failed check, and a pass that only a forged header below a foreign one claims', async () => {
    await open();
    const failed = await receive(reply('a2@proditmapac.com', 'Hola Carla.', ['mx.proditmapac.com; dkim=fail (bad signature) header.d=proditmapac.com; spf=softfail smtp.mailfrom=ana.n1@proditmapac.com']));
    expect(failed).toMatchObject({ result: 'agent_rejected', reason: 'not_authenticated' });
    expect((await events('agent_reply_rejected'))[0]).toMatchObject({ authentication: { result: 'no_aligned_pass', seen: ['dkim=fail header.d=proditmapac.com', 'spf=softfail smtp.mailfrom=proditmapac.com'] } });
    const forged = await receive(reply('a3@proditmapac.com', 'Hola Carla.', [
      'mx.proditmapac.com; spf=fail smtp.mailfrom=proditmapac.com',
      'mx.atacante.example; spf=pass smtp.mailfrom=atacante.example',
      'mx.proditmapac.com; dkim=pass header.d=proditmapac.com',
    ]));
    expect(forged).toMatchObject({ result: 'agent_rejected', reason: 'not_authenticated' });
    expect((await outbox()).filter((o) => o.moment === 'agent-reply')).toEqual([]);
  });

  it('applies a reply that passes DKIM or SPF for the agent domain', async () => {
    await open();
    const dkim = await receive(reply('a4@proditmapac.com', 'Hola Carla, ya lo revisamos.', ['mx.proditmapac.com; dkim=pass header.d=proditmapac.com header.s=mesa2026; spf=none']));
    expect(dkim).toMatchObject({ result: 'agent_reply', relayed: true });
    const spf = await receive(reply('a5@proditmapac.com', '#etr 3h\r\nLo corregimos hoy.', ['mx.proditmapac.com; spf=pass (sender SPF authorized) smtp.mailfrom=ana.n1@proditmapac.com']));
    expect(spf).toMatchObject({ result: 'agent_reply', commands: ['etr'] });
    expect((await outbox()).filter((o) => o.moment === 'agent-reply').map((o) => o.recipient)).toEqual(['carla@cliente.mx', 'carla@cliente.mx']);
    expect((await outbox()).some((o) => o.moment === 'agent-error')).toBe(false);
  });

  it('only checks the listed domains: an alias elsewhere keeps the token-and-From rule', async () => {
    await open();
    const outcome = await receive(reply('a6@gmail.com', 'Hola Carla, le escribo desde el celular.', [], `Ana <${ANA.aliases[0]}>`));
    expect(outcome).toMatchObject({ result: 'agent_reply', relayed: true });
  });

  it('changes nothing while disabled', async () => {
    await open((p) => { p.agents.requireAuthentication.enabled = false; });
    expect(await receive(reply('a7@proditmapac.com', 'Hola Carla.', []))).toMatchObject({ result: 'agent_reply', relayed: true });
  });

  it('tells the agent at most the rate limit of times', async () => {
    await open((p) => { p.outbound.autoReplyLimit = { count: 2, windowMinutes: 60 }; });
    for (let i = 0; i < 4; i++) {
      expect(await receive(reply(`b${i}@proditmapac.com`, 'Hola Carla.', []))).toMatchObject({ result: 'agent_rejected', reason: 'not_authenticated' });
    }
    expect((await outbox()).filter((o) => o.moment === 'agent-error')).toHaveLength(2);
    expect((await events('agent_reply_rejected'))).toHaveLength(4);
  });
});
