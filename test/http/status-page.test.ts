import { afterEach, describe, expect, it } from 'vitest';
import { statusPath } from '../../src/domain/status-link.ts';
import { publicTicketView } from '../../src/http/views/status-view.ts';
import { agentReplyAddress, email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';

/** The customer's status page (issue 6): signed link, public view only, escaped, Spanish. */
describe('status page', () => {
  let t: TestMesa;
  let now: Date;
  const at = (local: string) => new Date(`${local}:00-06:00`);
  const ANA = { name: 'Ana Uno', email: 'ana.n1@proditmapac.com', phone: null };
  const BETO = { name: 'Beto Dos', email: 'beto.n2@proditmapac.com', phone: null };
  afterEach(async () => { await t?.stop(); });

  const open = async (mail?: Buffer) => {
    now = at('2026-11-30T10:00');
    t = await startTestMesa({ start: false, clock: () => now, policy: testPolicy((p) => {
      p.levels[1].people = [ANA];
      p.levels[2].people = [BETO];
    }) });
    await receive(mail ?? email({ from: 'Carla Ruiz <carla@cliente.mx>', to: 'soportetecnico@proditmapac.com', subject: 'No puedo subir archivos', messageId: 'c1@cliente.mx' }, 'Me marca error al subir un archivo.'));
  };
  const receive = (raw: Buffer) => t.mesa.receive(raw, { kind: 'drop', mailbox: null });
  const agentAddress = (agent: string) => agentReplyAddress(t.mesa.env.secret, 'MDA-000001', agent);
  const agentMail = (agent: { name: string; email: string }, body: string, id: string) =>
    receive(email({ from: `${agent.name} <${agent.email}>`, to: agentAddress(agent.email), subject: 'RE: [MDA-000001] Nuevo ticket', messageId: id }, body));
  const get = (url: string) => t.mesa.http.inject({ method: 'GET', url });
  const page = async (key = 'MDA-000001') => {
    const res = await get(statusPath(t.mesa.env.secret, key));
    expect(res.statusCode).toBe(200);
    return res.body;
  };

  it('shows state, severity, level in words, the ETR and the customer\'s own message', async () => {
    await open();
    const res = await get(statusPath(t.mesa.env.secret, 'MDA-000001'));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const html = res.body;
    expect(html).toContain('<html lang="es-MX">');
    expect(html).toContain('name="viewport"');
    expect(html).toContain('MDA-000001');
    expect(html).toContain('No puedo subir archivos');
    expect(html).toContain('nuevo');
    expect(html).toContain(t.mesa.policy.severities[3].name); // "No puedo subir archivos" is severity 3
    expect(html).toContain('Su caso está con el equipo de Mesa de Ayuda');
    expect(html).toContain('Tiempo estimado de solución');
    expect(html).toContain('Me marca error al subir un archivo.');
    expect(html).toContain('Estimación inicial');
    // The acknowledgment the desk sent, without its signature or the link to this very page.
    expect(html).toContain(t.mesa.policy.desk.name);
    expect(html).not.toContain(statusPath(t.mesa.env.secret, 'MDA-000001'));
  });

  it('states how often the customer hears from the desk, as their organisation agreed', async () => {
    now = at('2026-11-30T10:00');
    t = await startTestMesa({ start: false, clock: () => now, policy: testPolicy((p) => {
      p.levels[1].people = [ANA];
      p.organisations = [{ id: 'bnorte', name: 'Banco del Norte', match: { domains: ['bnorte.mx'], addresses: [], phones: [] }, contract: { until: null, calendar: null, customer: null, severities: { 3: { clock: 'continuous', customerUpdateMinutes: 120 } } } }];
    }) });
    await receive(email({ from: 'Ana <ana@bnorte.mx>', to: 'soportetecnico@proditmapac.com', subject: 'No puedo subir archivos', messageId: 'b1@bnorte.mx' }, 'Me marca error al subir un archivo.'));
    await receive(email({ from: 'Carla <carla@cliente.mx>', to: 'soportetecnico@proditmapac.com', subject: 'No puedo subir archivos', messageId: 'c9@cliente.mx' }, 'Me marca error al subir un archivo.'));
    expect(await page('MDA-000001')).toContain('Le escribiremos cada 2 horas mientras su caso siga abierto.');
    // Severity 3's default cadence: one business day.
    expect(await page('MDA-000002')).toContain('Le escribiremos cada día hábil mientras su caso siga abierto.');
  });

  it('answers 404 with the same page to a changed signature, an unknown key or a malformed link', async () => {
    await open();
    const good = statusPath(t.mesa.env.secret, 'MDA-000001');
    const token = good.split('/').at(-1)!;
    const flipped = `${token.slice(0, -1)}${token.endsWith('a') ? 'b' : 'a'}`;
    const notFound = await get('/estado/MDA-000999/aaaaaaaaaaaaaaaa');
    expect(notFound.statusCode).toBe(404);
    for (const url of [
      `/estado/MDA-000001/${flipped}`,
      `/estado/MDA-000001/${token.slice(0, 15)}`,
      `/estado/MDA-000001/${token}x`,
      statusPath(t.mesa.env.secret, 'MDA-000002'), // well signed, no such ticket
      statusPath('another-secret-0123456789abcdef', 'MDA-000001'),
      `/estado/MDA-000002/${token}`, // the token of another ticket
      '/estado/MDA-000001',
      `/estado/MDA-000001/${token}/extra`,
      `/estado/${'X'.repeat(300)}/${token}`,
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).toBe(notFound.body);
      expect(res.body).not.toContain('No puedo subir archivos');
      expect(res.headers['content-security-policy']).toBeDefined();
    }
    expect(notFound.body).toContain('No encontramos esta página');
    expect((await get(good)).statusCode).toBe(200);
    expect((await get(good.replace('MDA-000001', 'mda-000001'))).statusCode).toBe(200);
  });

  it('never shows internal notes, agent names or agent addresses; shows relayed replies', async () => {
    await open();
    await agentMail(ANA, '#nota\r\nParece el bug del proxy; reviso logs.', 'a1@proditmapac.com');
    await agentMail(ANA, 'Hola Carla, ya identificamos la falla; la corregimos hoy.\r\n\r\nAna Uno\r\nNivel 1', 'a2@proditmapac.com');
    const html = await page();
    expect(html).toContain('ya identificamos la falla; la corregimos hoy.');
    expect(html).not.toContain('Parece el bug del proxy');
    expect(html).not.toContain('reviso logs');
    expect(html).not.toContain(ANA.email);
    expect(html).not.toContain(BETO.email);
    expect(html).not.toContain('Ana Uno');
    expect(html).not.toContain('proditmapac.com>'); // no From headers of any kind
    // The notices to the level (agent-new-ticket) are not public either.
    expect(html).not.toContain('Nuevo ticket');
    expect(html).toContain('en atención');
  });

  it('shows the level in words after an escalation and the ETR history after a change', async () => {
    await open();
    now = at('2026-11-30T10:05');
    await agentMail(ANA, '#etr 3h', 'a3@proditmapac.com'); // no public text: the customer gets an ETR-change notice
    let html = await page();
    expect(html).toContain('lunes 30 de noviembre, 13:05 h (hora del centro)');
    expect(html).toContain('(vigente)');
    expect(html).toContain('Ajustada por el equipo que atiende su caso');
    expect(html).toContain('Estimación inicial');
    expect(html).not.toContain('Ana Uno'); // the stored reason says "fijado por Ana Uno (#etr 3h)"
    // The customer's copy of the ETR-change notice gives the desk's reason, never the agent's name.
    expect(html).toContain('revisada por nuestro equipo de Mesa de Ayuda');
    now = at('2026-11-30T10:10');
    await agentMail(ANA, '#escalar', 'a4@proditmapac.com');
    html = await page();
    expect(html).toContain('Su caso está con el equipo de Operaciones');
    expect(html).toContain('Recalculada al pasar su caso al equipo de Operaciones');
    expect(html).not.toContain('Beto Dos');
    const history = await t.mesa.store.tickets.etrHistory((await t.mesa.store.tickets.byKey('MDA-000001'))!.id);
    expect(history.map((h) => h.source)).toEqual(['target', 'agent', 'escalation']);
    expect(html.match(/<li><strong>/g)).toHaveLength(3);
  });

  it('shows a resolved ticket without an ETR', async () => {
    await open();
    now = at('2026-11-30T11:00');
    await agentMail(ANA, '#resuelto\r\nQuedó corregido el límite de tamaño.', 'a5@proditmapac.com');
    const html = await page();
    expect(html).toContain('resuelto');
    expect(html).toContain('Quedó corregido el límite de tamaño.');
    expect(html).not.toContain('<dt>Tiempo estimado de solución</dt>');
    expect(html).toContain('lunes 30 de noviembre, 11:00 h (hora del centro)');
  });

  it('escapes HTML in the subject, the name and the body', async () => {
    await open(email({
      from: '"Eve <img src=x onerror=alert(1)>" <eve@cliente.mx>', to: 'soportetecnico@proditmapac.com',
      subject: '<script>alert("asunto")</script> falla', messageId: 'x1@cliente.mx',
    }, 'Hola <b onmouseover="alert(2)">equipo</b> <script>alert(3)</script>'));
    const html = await page();
    expect(html).not.toMatch(/<script>alert/);
    expect(html).not.toContain('<b onmouseover');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script&gt;alert(&quot;asunto&quot;)&lt;/script&gt; falla');
    expect(html).toContain('&lt;b onmouseover&#x3D;&quot;alert(2)&quot;&gt;equipo&lt;/b&gt;');
    // The only script tags are none: the status page needs no script at all.
    expect(html).not.toContain('<script');
  });

  it('shows SMS to the customer\'s phone without the link to the page, and nothing addressed to the desk\'s people', async () => {
    await open();
    const store = t.mesa.store;
    const ticket = (await store.tickets.byKey('MDA-000001'))!;
    const path = statusPath(t.mesa.env.secret, 'MDA-000001');
    const token = path.split('/').at(-1)!;
    const contact = { ...(await store.tickets.contact(ticket.contact_id))!, phone: '+525512345678' };
    const sms = (id: number, recipient: string, body: string) => ({ id, moment: 'ack-phone', recipient, status: 'sent', payload_json: JSON.stringify({ to: recipient, body, ref: 'r' }), created_at: ticket.created_at + id });
    const messages = await store.tickets.messagesOf(ticket.id);
    // A copy of a customer message that also went to an agent is internal.
    const leaked = { ...messages.find((m) => m.direction === 'out')!, id: 999, to_json: JSON.stringify(['carla@cliente.mx', ANA.email]), body_text: 'secreto interno' };
    const view = publicTicketView({
      policy: t.mesa.policy, ticket, contact, now, statusToken: token,
      etrHistory: await store.tickets.etrHistory(ticket.id),
      messages: [...messages, leaked],
      sms: [sms(1, '+525512345678', `MDA-000001: lo atiende Ana Uno. Estado: https://mesa.example.com${path}`), sms(2, '+525599999999', 'aviso a un agente')],
    });
    const texts = view.messages.map((m) => m.text);
    expect(texts).toContain('MDA-000001: lo atiende el equipo de soporte. Estado: esta página');
    expect(texts.join('\n')).not.toContain('aviso a un agente');
    expect(texts.join('\n')).not.toContain('secreto interno');
    expect(view.messages.map((m) => m.from)).toEqual(['customer', 'desk', 'desk']); // their mail, the ack, the SMS
  });
});
