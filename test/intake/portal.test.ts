import { createHash } from 'node:crypto';
import { peek } from '../support/db-peek.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../../src/domain/portal-form.ts';
import { statusPath } from '../../src/domain/status-link.ts';
import { formatInstant } from '../../src/domain/time-format.ts';
import { startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { SmtpSink, waitFor } from '../support/smtp-sink.ts';

const SECRET = 'test-secret-0123456789abcdef';
const MAX_ATTACHMENT = 4096;
const PER_IP = 6;
const PER_ADDRESS = 2;

interface TicketRow { id: number; key: string; channel: string; customer_channel: string; severity: number; type: string; category: string; subject: string; description: string; classification_json: string; etr_at: number; contact_id: number; mailbox: string | null }
type Fields = Record<string, string>;
type Upload = { field?: string; name: string; type: string; content: Buffer };

/**
 * The web portal through real HTTP requests (fastify inject): the form, its spam defences and
 * rate limits, the ticket in the database, and the acknowledgment arriving at a real SMTP server.
 */
describe('web portal /soporte-tecnico', () => {
  let sink: SmtpSink;
  let t: TestMesa;
  // Monday 30 Nov 2026, 10:00 in Mexico City: business hours. Steps forward as forms are "filled".
  let now = Date.parse('2026-11-30T16:00:00Z');
  let ipSeq = 0;
  const nextIp = (): string => `10.0.${Math.floor(++ipSeq / 250)}.${(ipSeq % 250) + 1}`;

  beforeAll(async () => {
    sink = new SmtpSink();
    await sink.start();
    t = await startTestMesa({
      smtp: sink,
      clock: () => new Date(now),
      policy: testPolicy((p) => {
        p.intake.attachmentMaxBytes = MAX_ATTACHMENT;
        p.web.portal.perIpPerHour = PER_IP;
        p.web.portal.perAddressPerHour = PER_ADDRESS;
        p.levels[1].people = [{ name: 'Ana Ruiz', email: 'ana.ruiz@proditmapac.com', phone: null }];
      }),
    });
  });
  afterAll(async () => {
    await t?.stop();
    await sink?.stop();
  });

  const ticketCount = async (): Promise<number> => ((await peek(t).get('SELECT count(*) AS n FROM tickets')) as { n: number }).n;
  const ticketByKey = async (key: string): Promise<TicketRow> => (await peek(t).get('SELECT * FROM tickets WHERE key = ?', key)) as TicketRow;
  const keyIn = (body: string): string => /class="key">(MDA-\d{6})</.exec(body)?.[1] ?? '';

  const getForm = async (ip = nextIp()): Promise<{ token: string; body: string; status: number; headers: Record<string, unknown> }> => {
    const r = await t.mesa.http.inject({ method: 'GET', url: '/soporte-tecnico', remoteAddress: ip });
    return { token: tokenIn(r.body), body: r.body, status: r.statusCode, headers: r.headers };
  };

  const multipart = async (fields: Fields, files: Upload[] = []): Promise<{ payload: Buffer; contentType: string }> => {
    const fd = new FormData();
    for (const [k, v] of Object.entries(fields)) fd.append(k, v);
    for (const f of files) fd.append(f.field ?? 'adjunto', new Blob([new Uint8Array(f.content)], { type: f.type }), f.name);
    const res = new Response(fd);
    return { payload: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type') as string };
  };

  const post = async (fields: Fields, opts: { files?: Upload[]; ip?: string; urlencoded?: boolean } = {}) => {
    const body = opts.urlencoded
      ? { payload: Buffer.from(new URLSearchParams(fields).toString()), contentType: 'application/x-www-form-urlencoded' }
      : await multipart(fields, opts.files);
    const r = await t.mesa.http.inject({ method: 'POST', url: '/soporte-tecnico', remoteAddress: opts.ip ?? nextIp(), payload: body.payload, headers: { 'content-type': body.contentType } });
    return { status: r.statusCode, body: r.body, headers: r.headers };
  };

  /** A form as a person fills it: served, then posted after `seconds` on the clock. */
  const submit = async (fields: Fields, opts: { seconds?: number; files?: Upload[]; ip?: string; urlencoded?: boolean } = {}) => {
    const ip = opts.ip ?? nextIp();
    const { token } = await getForm(ip);
    now += (opts.seconds ?? 20) * 1000;
    const r = await post({ inicio: token, website: '', ...fields }, { ...opts, ip });
    return { ...r, token, ip };
  };

  const person = (email: string, extra: Fields = {}): Fields => ({
    nombre: 'Lucía Hernández', correo: email, telefono: '55 1234 5678',
    descripcion: 'Desde las 9 el portal marca error 500 a todos los usuarios de la oficina.', urgencia: 'falla', ...extra,
  });

  it('serves an accessible Spanish form with a signed start token and the page headers', async () => {
    const r = await getForm();
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toContain("default-src 'none'");
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.body).toContain('<html lang="es-MX">');
    expect(r.token).toMatch(new RegExp(`^${now}\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}$`));
    for (const [id, auto] of [['nombre', 'name'], ['correo', 'email'], ['telefono', 'tel']]) {
      expect(r.body).toContain(`<label for="${id}">`);
      expect(r.body).toMatch(new RegExp(`<input id="${id}" name="${id}" [^>]*autocomplete="${auto}"`));
    }
    expect(r.body).toContain('<label for="descripcion">');
    expect(r.body).toMatch(/<fieldset>\s*<legend>¿Qué tan urgente es para usted\?/);
    expect(r.body.match(/type="radio" id="urgencia-\w+" name="urgencia"/g)).toHaveLength(4);
    expect(r.body).toContain('enctype="multipart/form-data"');
    expect(r.body).toMatch(/<input id="adjunto" name="adjunto" type="file"/);
    // The honeypot: off-screen, hidden from screen readers, out of the tab order.
    expect(r.body).toMatch(/<div class="trap" aria-hidden="true">[\s\S]*<input id="website" name="website" type="text" tabindex="-1" autocomplete="off" value="">/);
    // Two GETs, two nonces.
    expect((await getForm()).token).not.toBe(r.token);
  });

  it('turns a valid form into a classified web ticket, shows its key, ETR and status link, and acknowledges by email', async () => {
    const before = sink.messages.length;
    const r = await submit(person('lucia@cliente.mx'));
    expect(r.status).toBe(200);
    const key = keyIn(r.body);
    expect(key).toMatch(/^MDA-\d{6}$/);
    const ticket = (await ticketByKey(key));
    expect(ticket).toMatchObject({ channel: 'web', customer_channel: 'email', mailbox: null, severity: 1, category: 'disponibilidad', type: 'incidente' });
    expect(ticket.subject).toBe('Desde las 9 el portal marca error 500 a todos los usuarios de la oficina.');
    const c = JSON.parse(ticket.classification_json) as { urgency: string; reasons: Array<{ rule: string }>; decidedBy: { severity: string } };
    expect(c.urgency).toBe('falla');
    expect(c.reasons.map((x) => x.rule)).toEqual(expect.arrayContaining(['portal-caido', 'patron-codigo-error']));
    expect(c.decidedBy.severity).toMatch(/^rules /);
    const contact = (await peek(t).get('SELECT * FROM contacts WHERE id = ?', ticket.contact_id)) as { email: string; name: string; phone: string };
    expect(contact).toMatchObject({ email: 'lucia@cliente.mx', name: 'Lucía Hernández', phone: '+525512345678' });
    const msg = (await peek(t).get('SELECT * FROM messages WHERE ticket_id = ? AND direction = ?', ticket.id, 'in')) as { channel: string; author: string; from_address: string; visible_text: string };
    expect(msg).toMatchObject({ channel: 'web', author: 'customer', from_address: 'lucia@cliente.mx', visible_text: ticket.description });
    const created = (await peek(t).get(`SELECT * FROM events WHERE ticket_id = ? AND type = 'created'`, ticket.id)) as { actor: string; data_json: string };
    expect(created.actor).toBe('customer:lucia@cliente.mx');
    expect(JSON.parse(created.data_json)).toMatchObject({ channel: 'web', urgency: 'falla', severity: 1 });
    expect((await peek(t).all(`SELECT moment FROM outbox WHERE ticket_id = ? ORDER BY id`, ticket.id)).map((o) => (o as { moment: string }).moment)).toContain('ack');

    // The page says the ETR as the acknowledgment says it, and links to the status page.
    const etrText = formatInstant(new Date(ticket.etr_at), new Date(now), 'America/Mexico_City', 'es-MX');
    expect(r.body).toContain(etrText);
    expect(r.body).toContain(`href="${statusPath(SECRET, key)}"`);
    expect(r.body).toContain('Le enviamos un correo a lucia@cliente.mx');

    const ack = await waitFor(() => sink.messages.slice(before).find((m) => m.envelopeTo.includes('lucia@cliente.mx')), 'the acknowledgment email');
    expect(ack.parsed.subject).toContain(`[${key}]`);
    expect(ack.parsed.text).toContain(key);
    expect(ack.parsed.text).toContain(etrText);
    expect(ack.parsed.headers.get('auto-submitted')).toBe('auto-replied');
    // Level 1 is told, with the customer's own view of urgency beside the rules that fired.
    const notice = await waitFor(() => sink.messages.slice(before).find((m) => m.envelopeTo.includes('ana.ruiz@proditmapac.com') && m.parsed.subject?.includes(key)), 'the agent notice');
    expect(notice.parsed.text).toContain('urgencia del cliente (formulario web): Algo falla, pero puedo seguir trabajando');
    expect(notice.parsed.text).toContain('portal-caido');
  });

  it('takes the customer\'s urgency as one input: an outage choice raises the severity, a lower one does not overrule the rules', async () => {
    const raised = await submit(person('urg1@cliente.mx', { descripcion: '¿Cómo puedo cambiar la foto de mi perfil? Es solo una duda.', urgencia: 'caido' }));
    const a = (await ticketByKey(keyIn(raised.body)));
    expect(a.severity).toBe(1);
    expect((JSON.parse(a.classification_json) as { decidedBy: { severity: string } }).decidedBy.severity).toBe('formulario web: no funciona para nadie');

    const ruled = await submit(person('urg2@cliente.mx', { descripcion: 'El portal está caído: no funciona para nadie desde hace una hora.', urgencia: 'consulta' }));
    expect((await ticketByKey(keyIn(ruled.body))).severity).toBe(1);

    const question = await submit(person('urg3@cliente.mx', { descripcion: 'Quisiera saber cómo descargo mis recibos del mes.', urgencia: 'consulta' }));
    expect((await ticketByKey(keyIn(question.body)))).toMatchObject({ severity: 4, type: 'solicitud' });
  });

  it('shows the same ticket when the same form is posted again (refresh, double click)', async () => {
    const first = await submit(person('doble@cliente.mx'));
    const key = keyIn(first.body);
    const count = (await ticketCount());
    const again = await post({ inicio: first.token, website: '', ...person('doble@cliente.mx') });
    expect(again.status).toBe(200);
    expect(keyIn(again.body)).toBe(key);
    expect(again.body).toContain('Este formulario ya se había enviado');
    // Even with other contents: the form's nonce names the submission.
    const changed = await post({ inicio: first.token, website: '', ...person('otra@cliente.mx', { descripcion: 'Otra cosa distinta que no funciona.' }) });
    expect(keyIn(changed.body)).toBe(key);
    expect((await ticketCount())).toBe(count);
    expect((await peek(t).get(`SELECT count(*) AS n FROM outbox WHERE recipient = 'doble@cliente.mx' AND moment = 'ack'`))).toEqual({ n: 1 });
  });

  it('shows each validation error next to its field and keeps what was typed', async () => {
    const count = (await ticketCount());
    const r = await submit({ nombre: '', correo: 'lucia@', telefono: '12', descripcion: 'Mi texto', urgencia: '' });
    expect(r.status).toBe(422);
    for (const [field, message] of [['nombre', MESSAGES.nameRequired], ['correo', MESSAGES.emailInvalid], ['telefono', MESSAGES.phoneInvalid], ['descripcion', MESSAGES.descriptionTooShort], ['urgencia', MESSAGES.urgencyRequired]] as const) {
      expect(r.body).toContain(`<p class="error" id="${field}-error">${escapeHtml(message)}</p>`);
      // The summary links each error to its field.
      expect(r.body).toContain(`<a href="#${field === 'urgencia' ? 'urgencia-caido' : field}">${escapeHtml(message)}</a>`);
    }
    expect(r.body).toMatch(/<input id="nombre" [^>]*value=""[^>]* aria-invalid="true" aria-describedby="nombre-error">/);
    expect(r.body).toMatch(/<input id="correo" [^>]*value="lucia@" aria-describedby="correo-ayuda correo-error" aria-invalid="true">/);
    expect(r.body).toMatch(/<input id="telefono" [^>]*value="12" aria-describedby="telefono-ayuda telefono-error" aria-invalid="true">/);
    expect(r.body).toMatch(/<textarea id="descripcion" [^>]*aria-invalid="true">Mi texto<\/textarea>/);
    expect(r.body).toContain('<fieldset aria-describedby="urgencia-error">');
    // The same token comes back: the time already spent filling the form counts.
    expect(tokenIn(r.body)).toBe(r.token);
    expect((await ticketCount())).toBe(count);

    // A choice that was made stays made; a field without error has no error markup.
    const partial = await submit(person('ok@cliente.mx', { nombre: '' , urgencia: 'muchos' }));
    expect(partial.status).toBe(422);
    expect(partial.body).toMatch(/id="urgencia-muchos" name="urgencia" value="muchos" required checked>/);
    expect(partial.body).not.toContain('correo-error');
    expect(partial.body).toContain('value="ok@cliente.mx"');
  });

  it('refuses a form with the honeypot filled: 400, a neutral message, no ticket', async () => {
    const count = (await ticketCount());
    const r = await submit({ ...person('robot@cliente.mx'), website: 'http://spam.example' });
    expect(r.status).toBe(400);
    expect(r.body).toContain('No pudimos recibir su reporte');
    expect(r.body).not.toContain('robot@cliente.mx');
    expect(r.body).not.toMatch(/honeypot|trampa|spam\.example/i);
    expect((await ticketCount())).toBe(count);
  });

  it('refuses a form posted faster than a person can fill it, then accepts the same form once the time has passed', async () => {
    const count = (await ticketCount());
    const ip = nextIp();
    const { token } = await getForm(ip);
    now += 1000;
    const fields = { inicio: token, website: '', ...person('rapido@cliente.mx') };
    const fast = await post(fields, { ip });
    expect(fast.status).toBe(400);
    expect(fast.body).toContain('No pudimos recibir su reporte');
    expect(fast.body).toContain('value="rapido@cliente.mx"');
    expect((await ticketCount())).toBe(count);
    now += 10_000;
    const later = await post(fields, { ip });
    expect(later.status).toBe(200);
    expect((await ticketCount())).toBe(count + 1);
  });

  it('refuses a form without a valid start token', async () => {
    const count = (await ticketCount());
    for (const inicio of ['', 'abc', `${now - 60_000}.AAAAAAAAAAAAAAAAAAAAAA.${'A'.repeat(43)}`]) {
      const r = await post({ inicio, website: '', ...person('sintoken@cliente.mx') });
      expect(r.status).toBe(400);
      expect(tokenIn(r.body)).not.toBe(inicio);
    }
    expect((await ticketCount())).toBe(count);
  });

  it('shows an expired form again with the input kept and a fresh token', async () => {
    const count = (await ticketCount());
    const r = await submit(person('tarde@cliente.mx'), { seconds: 25 * 3600 });
    expect(r.status).toBe(422);
    expect(r.body).toContain('El formulario expiró, vuelva a enviarlo.');
    expect(r.body).toContain('value="tarde@cliente.mx"');
    expect(r.body).toContain('marca error 500 a todos');
    const fresh = tokenIn(r.body);
    expect(fresh).not.toBe(r.token);
    expect((await ticketCount())).toBe(count);
    now += 30_000;
    expect((await post({ inicio: fresh, website: '', ...person('tarde@cliente.mx') })).status).toBe(200);
  });

  it('stores an attachment, and records one over the limit without its content', async () => {
    const small = Buffer.from('captura de pantalla simulada '.repeat(50));
    const r = await submit(person('adjunto@cliente.mx'), { files: [{ name: 'captura.png', type: 'image/png', content: small }] });
    expect(r.status).toBe(200);
    const att = (await attachmentsOf(keyIn(r.body)));
    expect(att).toEqual([{ filename: 'captura.png', content_type: 'image/png', size: small.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), stored: 1 }]);
    expect(await t.mesa.store.blobs.get(att[0]!.sha256!)).toEqual(small);

    const big = Buffer.alloc(MAX_ATTACHMENT * 3, 7);
    const r2 = await submit(person('adjunto2@cliente.mx'), { files: [{ name: 'registro.zip', type: 'application/zip', content: big }] });
    expect(r2.status).toBe(200);
    const att2 = (await attachmentsOf(keyIn(r2.body)));
    expect(att2).toEqual([{ filename: 'registro.zip', content_type: 'application/zip', size: expect.any(Number), sha256: null, stored: 0 }]);
    expect(att2[0]!.size).toBeGreaterThan(MAX_ATTACHMENT);
    expect(r2.body).toContain('registramos su nombre pero no su contenido');
    expect(await t.mesa.store.blobs.has(sha256(big))).toBe(false);

    // No file chosen: the browser still sends an empty, nameless file part.
    const r3 = await submit(person('sinadjunto@cliente.mx'), { files: [{ name: '', type: 'application/octet-stream', content: Buffer.alloc(0) }] });
    expect(r3.status).toBe(200);
    expect((await attachmentsOf(keyIn(r3.body)))).toEqual([]);
  });

  it('refuses more than one file with 413, and anything but a form with 415', async () => {
    const count = (await ticketCount());
    const two = await submit(person('dos@cliente.mx'), { files: [
      { name: 'a.txt', type: 'text/plain', content: Buffer.from('a') },
      { name: 'b.txt', type: 'text/plain', content: Buffer.from('b') },
    ] });
    expect(two.status).toBe(413);
    expect(two.body).toContain('un solo archivo adjunto');
    const json = await t.mesa.http.inject({ method: 'POST', url: '/soporte-tecnico', remoteAddress: nextIp(), payload: { correo: 'x@y.mx' } });
    expect(json.statusCode).toBe(415);
    expect(json.headers['content-type']).toBe('text/html; charset=utf-8');
    expect((await ticketCount())).toBe(count);
  });

  it('accepts a url-encoded form too', async () => {
    const r = await submit(person('urlenc@cliente.mx', { nombre: 'José Ñúñez' }), { urlencoded: true });
    expect(r.status).toBe(200);
    const contact = await peek(t).get('SELECT c.name FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE t.key = ?', keyIn(r.body));
    expect(contact).toEqual({ name: 'José Ñúñez' });
  });

  it('acknowledges after hours with the after-hours message for a business-hours severity', async () => {
    const saved = now;
    now = Date.parse('2026-12-05T18:00:00Z'); // Saturday 12:00 in Mexico City
    try {
      const r = await submit(person('sabado@cliente.mx', { descripcion: 'Quisiera saber cómo cambio mi correo de contacto.', urgencia: 'consulta' }));
      expect(r.status).toBe(200);
      const ticket = (await ticketByKey(keyIn(r.body)));
      expect(ticket.severity).toBe(4);
      expect((await peek(t).get(`SELECT moment FROM outbox WHERE ticket_id = ? AND recipient = 'sabado@cliente.mx'`, ticket.id))).toEqual({ moment: 'ack-after-hours' });
      expect(r.body).toContain('Su caso será atendido a partir de');
    } finally {
      now = Math.max(now, saved);
    }
  });

  it('limits submissions per IP (429 before the body is read)', async () => {
    const ip = nextIp();
    const statuses: number[] = [];
    for (let i = 0; i < PER_IP; i++) {
      statuses.push((await post({ inicio: 'x', website: '', ...person(`ip${i}@cliente.mx`) }, { ip })).status);
    }
    expect(statuses).toEqual(Array(PER_IP).fill(400));
    const limited = await post({ inicio: 'x' }, { ip });
    expect(limited.status).toBe(429);
    expect(limited.body).toContain('Recibimos demasiados reportes desde su conexión');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not affected, nor is the form itself.
    expect((await post({ inicio: 'x' }, { ip: nextIp() })).status).toBe(400);
    expect((await getForm(ip)).status).toBe(200);
  });

  it('limits tickets per email address, whatever the IP', async () => {
    const count = (await ticketCount());
    for (let i = 0; i < PER_ADDRESS; i++) {
      expect((await submit(person('Limite@Cliente.mx', { descripcion: `Problema número ${i} con el portal.` }))).status).toBe(200);
    }
    const over = await submit(person('limite@cliente.mx', { descripcion: 'Un problema más con el portal.' }));
    expect(over.status).toBe(429);
    expect(over.body).toContain('Recibimos demasiados reportes con este correo electrónico');
    expect((await ticketCount())).toBe(count + PER_ADDRESS);
    // Typos do not count: a form with errors never reaches the address limit.
    expect((await submit(person('limite@cliente.mx', { descripcion: 'corto' }))).status).toBe(422);
    expect((await submit(person('otro-limite@cliente.mx'))).status).toBe(200);
  });

  describe('HTML in every field is escaped on every page', () => {
    const evil = '<script>alert(1)</script>"\' onfocus="alert(2)';
    const assertEscaped = (body: string): void => {
      expect(body).not.toMatch(/<script/i);
      expect(body).not.toContain('onfocus="alert');
      expect(body).not.toContain('<img');
      expect(body).not.toContain('<svg');
    };

    it('in the form shown again with errors', async () => {
      const fields = { nombre: evil, correo: `${evil}@x.mx`, telefono: evil, descripcion: `${evil} <img src=x onerror=alert(3)>`, urgencia: evil };
      const r = await submit(fields);
      expect(r.status).toBe(422);
      assertEscaped(r.body);
      expect(r.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27; onfocus&#x3D;&quot;alert(2)');
      // Hostile tokens and honeypot values are never echoed.
      const bad = await post({ ...fields, inicio: `"><script>alert(4)</script>`, website: '' });
      assertEscaped(bad.body);
      const trap = await post({ ...fields, inicio: '', website: evil });
      assertEscaped(trap.body);
    });

    it('in the received page, including the file name', async () => {
      const r = await submit({ nombre: evil, correo: 'escape@cliente.mx', telefono: '', descripcion: `El portal no carga ${evil} <img src=x onerror=alert(3)>`, urgencia: 'falla' }, {
        files: [{ name: '<svg onload=alert(5)>.png', type: 'image/png', content: Buffer.from('png') }],
      });
      expect(r.status).toBe(200);
      assertEscaped(r.body);
      expect(r.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(r.body).toContain('&lt;svg onload&#x3D;alert(5)&gt;.png');
      // The repeat page too.
      const again = await post({ inicio: r.token, website: '', nombre: evil, correo: 'escape@cliente.mx', descripcion: evil, urgencia: 'falla' });
      expect(again.status).toBe(200);
      assertEscaped(again.body);
      // And the acknowledgment email's HTML part.
      const key = keyIn(r.body);
      const ack = await waitFor(() => sink.messages.find((m) => m.envelopeTo.includes('escape@cliente.mx')), 'the acknowledgment email');
      expect(ack.parsed.subject).toContain(key);
      expect(String(ack.parsed.html)).not.toMatch(/<script/i);
    });
  });

  const attachmentsOf = async (key: string) => (await peek(t).all(`SELECT a.filename, a.content_type, a.size, a.sha256, a.stored FROM attachments a
    JOIN messages m ON m.id = a.message_row_id JOIN tickets t ON t.id = m.ticket_id WHERE t.key = ? ORDER BY a.id`, key)) as Array<{ filename: string; content_type: string; size: number; sha256: string | null; stored: number }>;
});

function tokenIn(body: string): string {
  return /name="inicio" value="([^"]*)"/.exec(body)?.[1] ?? '';
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;').replace(/=/g, '&#x3D;').replace(/`/g, '&#x60;');
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
