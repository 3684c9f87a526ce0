import { afterEach, describe, expect, it } from 'vitest';
import { agentReplyAddress, email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { peek } from '../support/db-peek.ts';

/** Agents working by replying to Mesa's notices (issue 5), on a real SQLite file. */
describe('agent replies by email', () => {
  let t: TestMesa;
  let now: Date;
  const at = (local: string) => new Date(`${local}:00-06:00`);
  const ANA = { name: 'Ana Uno', email: 'ana.n1@proditmapac.com', phone: null };
  afterEach(async () => { await t?.stop(); });

  const open = async () => {
    now = at('2026-11-30T10:00');
    t = await startTestMesa({ start: false, clock: () => now, policy: testPolicy((p) => {
      p.levels[1].people = [ANA];
      p.levels[2].people = [{ name: 'Beto Dos', email: 'beto.n2@proditmapac.com', phone: null }];
    }) });
    await receive(email({ from: 'Carla <carla@cliente.mx>', to: 'soportetecnico@proditmapac.com', subject: 'No puedo subir archivos', messageId: 'c1@cliente.mx' }, 'Me marca error al subir un archivo.'));
  };
  const receive = (raw: Buffer) => t.mesa.receive(raw, { kind: 'pipe', mailbox: null });
  const agentAddress = (key: string, agent: string) => agentReplyAddress(t.mesa.env.secret, key, agent);
  const outbox = async () => (await peek(t).all('SELECT moment, recipient, payload_json FROM outbox ORDER BY id')) as Array<{ moment: string; recipient: string; payload_json: string }>;
  const toCustomer = async () => (await outbox()).filter((o) => o.recipient === 'carla@cliente.mx');
  const ticket = async () => (await t.mesa.store.tickets.byKey('MDA-000001'))!;
  const agentMail = (from: string, to: string, body: string, id: string) => email({ from, to, subject: 'RE: [MDA-000001] Nuevo ticket', messageId: id }, body);

  it('notifies the level with a Reply-To signed for the agent', async () => {
    await open();
    const notice = (await outbox()).find((o) => o.moment === 'agent-new-ticket')!;
    expect(notice.recipient).toBe(ANA.email);
    expect(JSON.parse(notice.payload_json).replyTo).toBe(agentAddress('MDA-000001', ANA.email));
  });

  it('applies #etr and relays the public text to the customer, signed by the desk', async () => {
    await open();
    const body = '#etr 3h\r\nHola Carla, ya identificamos la falla; la corregimos hoy.\r\n\r\nEl lun, 30 nov 2026 a las 10:00, Mesa <soportetecnico@proditmapac.com> escribió:\r\n> aviso';
    const outcome = await receive(agentMail(`Ana Uno <${ANA.email}>`, agentAddress('MDA-000001', ANA.email), body, 'a1@proditmapac.com'));
    expect(outcome).toMatchObject({ result: 'agent_reply', ticketKey: 'MDA-000001', relayed: true, internal: false, commands: ['etr'] });
    const relayed = (await toCustomer()).filter((o) => o.moment === 'agent-reply');
    expect(relayed).toHaveLength(1);
    const mail = JSON.parse(relayed[0]!.payload_json) as { text: string; from: { address: string }; replyTo: string };
    expect(mail.text).toContain('Hola Carla, ya identificamos la falla; la corregimos hoy.');
    expect(mail.text).not.toContain('escribió');
    expect(mail.text).toContain('lunes 30 de noviembre, 13:00 h (hora del centro)'); // the new ETR, 10:00 + 3 h
    expect(JSON.stringify(mail)).not.toContain(ANA.email); // the customer never sees agent addresses
    expect((await toCustomer()).map((o) => o.moment)).toEqual(['ack', 'agent-reply']); // no separate ETR notice
    const r = (await ticket());
    expect(r).toMatchObject({ state: 'en_atencion', first_responded_at: now.getTime(), etr_at: at('2026-11-30T13:00').getTime() });
    expect((await t.mesa.store.tickets.etrHistory(r.id)).at(-1)).toMatchObject({ source: 'agent' });
  });

  it('a bare #etr tells the customer the new ETR without naming the agent', async () => {
    await open();
    await receive(agentMail(ANA.email, agentAddress('MDA-000001', ANA.email), '#etr 5h', 'a-etr@proditmapac.com'));
    const change = (await toCustomer()).find((o) => o.moment === 'customer-etr-change');
    expect(change).toBeDefined();
    const mail = JSON.parse(change!.payload_json) as { text: string; html: string };
    expect(mail.text).toContain('lunes 30 de noviembre, 15:00 h (hora del centro)');
    expect(mail.text).toContain('revisada por nuestro equipo de');
    expect(JSON.stringify(mail)).not.toContain('Ana');
    expect(JSON.stringify(mail)).not.toContain('#etr');
    // The desk's own record keeps who set it.
    expect((await t.mesa.store.tickets.etrHistory((await ticket()).id)).at(-1)?.reason).toBe('fijado por Ana Uno (#etr 5h)');
  });

  it('keeps an internal note from the customer', async () => {
    await open();
    const outcome = await receive(agentMail(ANA.email, agentAddress('MDA-000001', ANA.email), '#nota\r\nParece el bug del proxy; reviso logs.', 'a2@proditmapac.com'));
    expect(outcome).toMatchObject({ result: 'agent_reply', relayed: false, internal: true });
    expect((await toCustomer()).map((o) => o.moment)).toEqual(['ack']);
  });

  it('refuses a spoofed agent: right From without token, right token with a foreign From', async () => {
    await open();
    const before = (await ticket());
    const noToken = await receive(agentMail(ANA.email, 'soportetecnico@proditmapac.com', '#resuelto\r\nListo.', 'a3@proditmapac.com'));
    expect(noToken).toMatchObject({ result: 'agent_rejected', reason: 'token_missing_or_wrong' });
    const foreign = await receive(agentMail('intruso@otro.example', agentAddress('MDA-000001', ANA.email), '#resuelto\r\nListo.', 'a4@otro.example'));
    expect(foreign).toMatchObject({ result: 'agent_rejected', reason: 'foreign_from', ticketKey: 'MDA-000001' });
    expect((await ticket())).toMatchObject({ state: before.state, etr_at: before.etr_at });
    expect((await toCustomer()).map((o) => o.moment)).toEqual(['ack']);
    const errors = (await outbox()).filter((o) => o.moment === 'agent-error');
    expect(errors.map((o) => o.recipient)).toEqual([ANA.email, ANA.email]);
    expect((await outbox()).some((o) => o.recipient === 'intruso@otro.example')).toBe(false);
  });

  it('answers an unknown command with the list of valid ones and changes nothing', async () => {
    await open();
    const before = (await ticket());
    const outcome = await receive(agentMail(ANA.email, agentAddress('MDA-000001', ANA.email), '#prioridad alta\r\nHola', 'a5@proditmapac.com'));
    expect(outcome).toMatchObject({ result: 'agent_rejected', reason: 'invalid_command' });
    const error = JSON.parse((await outbox()).find((o) => o.moment === 'agent-error')!.payload_json) as { text: string };
    expect(error.text).toContain('#prioridad alta');
    expect(error.text).toContain('#etr');
    expect((await ticket())).toMatchObject({ state: before.state, etr_at: before.etr_at });
    expect((await toCustomer()).map((o) => o.moment)).toEqual(['ack']);
  });

  it('#pendiente pauses the clock and asks the customer; the answer resumes it', async () => {
    await open();
    await receive(agentMail(ANA.email, agentAddress('MDA-000001', ANA.email), '#pendiente\r\n¿Nos envía una captura de pantalla del error?', 'a6@proditmapac.com'));
    expect((await ticket())).toMatchObject({ state: 'esperando_cliente', next_action_at: null });
    const ask = (await toCustomer()).find((o) => o.moment === 'customer-request-info')!;
    expect(JSON.parse(ask.payload_json).text).toContain('¿Nos envía una captura de pantalla del error?');
    now = at('2026-11-30T12:00');
    await receive(email({ from: 'carla@cliente.mx', to: 'soportetecnico@proditmapac.com', subject: 'Re: [MDA-000001] Necesitamos información', messageId: 'c2@cliente.mx', inReplyTo: 'c1@cliente.mx' }, 'Aquí está la captura.'));
    expect((await ticket())).toMatchObject({ state: 'en_atencion', paused_minutes: 120 });
    // The agent sees the customer's answer in their mail, with a signed Reply-To to continue.
    const told = (await outbox()).filter((o) => o.moment === 'agent-customer-reply');
    expect(told.map((o) => o.recipient)).toEqual([ANA.email]);
    const notice = JSON.parse(told[0]!.payload_json) as { text: string; replyTo: string };
    expect(notice.text).toContain('Aquí está la captura.');
    expect(notice.replyTo).toBe(agentAddress('MDA-000001', ANA.email));
  });

  it("tells the agents when a relayed answer bounces, and suppresses a dead address", async () => {
    await open();
    await receive(agentMail(ANA.email, agentAddress('MDA-000001', ANA.email), 'Hola Carla, ¿sigue ocurriendo?', 'a9@proditmapac.com'));
    const relayed = (await peek(t).get(`SELECT message_id FROM outbox WHERE moment = 'agent-reply'`)) as { message_id: string };
    const dsn = Buffer.from([
      'From: MAILER-DAEMON@mx.cliente.mx', 'To: soportetecnico@proditmapac.com', 'Subject: Undelivered Mail Returned to Sender', 'Message-ID: <dsn9@mx.cliente.mx>',
      'MIME-Version: 1.0', 'Content-Type: multipart/report; report-type=delivery-status; boundary="B"', '',
      '--B', 'Content-Type: text/plain', '', '<carla@cliente.mx>: 550 5.1.1 User unknown',
      '--B', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.cliente.mx', '', 'Final-Recipient: rfc822; carla@cliente.mx', 'Action: failed', 'Status: 5.1.1',
      '--B', 'Content-Type: text/rfc822-headers', '', `Message-ID: <${relayed.message_id}>`, '--B--', '',
    ].join('\r\n'));
    expect(await receive(dsn)).toMatchObject({ result: 'bounce_recorded', ticketKey: 'MDA-000001', hard: true });
    expect((await outbox()).filter((o) => o.moment === 'agent-delivery-failed').map((o) => o.recipient)).toEqual([ANA.email]);
    expect(await t.mesa.store.intake.isSuppressed('carla@cliente.mx')).toBe(true);
    // Nothing more is written to that address.
    await receive(agentMail(ANA.email, agentAddress('MDA-000001', ANA.email), 'Otro intento.', 'a10@proditmapac.com'));
    expect((await toCustomer()).filter((o) => o.moment === 'agent-reply')).toHaveLength(1);
  });

  it('#escalar and #resuelto change level and state, with the customer told', async () => {
    await open();
    await receive(agentMail(ANA.email, agentAddress('MDA-000001', ANA.email), '#escalar\r\n#asignar Beto', 'a7@proditmapac.com'));
    expect((await ticket())).toMatchObject({ level: 2, assignee: 'Beto' });
    expect((await outbox()).some((o) => o.moment === 'level-escalation' && o.recipient === 'beto.n2@proditmapac.com')).toBe(true);
    await receive(agentMail(ANA.email, agentAddress('MDA-000001', ANA.email), '#resuelto\r\nCorregimos el límite de tamaño de archivo.', 'a8@proditmapac.com'));
    expect((await ticket()).state).toBe('resuelto');
    const resolved = (await toCustomer()).find((o) => o.moment === 'customer-resolved')!;
    expect(JSON.parse(resolved.payload_json).text).toContain('Corregimos el límite de tamaño de archivo.');
  });
});
