import { afterEach, describe, expect, it } from 'vitest';
import { issueSession, PANEL_COOKIE, sessionCookieOptions, verifySession } from '../../src/http/panel-auth.ts';
import { safeNext } from '../../src/http/panel-routes.ts';
import { compactDuration, escalationCountdown } from '../../src/http/views/panel-views.ts';
import { agentReplyAddress, email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';

/** The agents' queue view (issue 6): operator token, session cookie, filters, countdown, escaping. */
describe('agents panel', () => {
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
      p.web.panel.warnMinutes = 10;
      p.web.panel.sessionHours = 12;
    }) });
  };
  const receive = (raw: Buffer) => t.mesa.receive(raw, { kind: 'drop', mailbox: null });
  const customer = (n: number, subject: string, body: string, from = `Cliente ${n} <c${n}@cliente.mx>`) =>
    receive(email({ from, to: 'soportetecnico@proditmapac.com', subject, messageId: `c${n}@cliente.mx` }, body));
  const agent = (key: string, body: string, id: string) => receive(email({
    from: `${ANA.name} <${ANA.email}>`, subject: `RE: [${key}] Nuevo ticket`, messageId: id,
    to: agentReplyAddress(t.mesa.env.secret, key, ANA.email),
  }, body));
  const token = () => t.mesa.env.panelToken;
  const get = (url: string, headers: Record<string, string> = {}) => t.mesa.http.inject({ method: 'GET', url, headers });
  const asAgent = (url: string) => get(url, { authorization: `Bearer ${token()}` });
  const login = (value: string, next?: string) => t.mesa.http.inject({
    method: 'POST', url: '/panel/login', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    payload: new URLSearchParams({ token: value, ...(next ? { next } : {}) }).toString(),
  });
  const sessionCookie = (res: { cookies: Array<{ name: string; value: string }> }) => res.cookies.find((c) => c.name === PANEL_COOKIE)?.value;
  const rowKeys = (html: string) => [...html.matchAll(/<th scope="row"[^>]*><a href="\/panel\/tickets\/([A-Z]+-\d+)">/g)].map((m) => m[1]);
  /** The countdown cell of a ticket's row in the list. */
  const countdownOf = (html: string, key: string) => {
    const row = html.split('<tr>').find((r) => r.includes(`/panel/tickets/${key}"`)) ?? '';
    return /<span class="countdown (\w+)"[^>]*>(?:<span data-countdown-text>)?([^<]*)</.exec(row)?.slice(1) ?? [];
  };

  it('answers 401 without the token: the login page for a browser, a short text otherwise', async () => {
    await open();
    const plain = await get('/panel');
    expect(plain.statusCode).toBe(401);
    expect(plain.headers['content-type']).toContain('text/plain');
    expect(plain.headers['www-authenticate']).toContain('Bearer');
    expect(plain.body).not.toContain('<html');
    const browser = await get('/panel/tickets/MDA-000001?x=1', { accept: 'text/html,application/xhtml+xml' });
    expect(browser.statusCode).toBe(401);
    expect(browser.headers['content-security-policy']).toContain("default-src 'none'");
    expect(browser.body).toContain('<form method="post" action="/panel/login"');
    expect(browser.body).toContain('<label for="token">');
    expect(browser.body).toContain('value="/panel/tickets/MDA-000001?x&#x3D;1"');
    expect(browser.headers['set-cookie']).toBeUndefined();
    for (const headers of [{ authorization: 'Bearer nope' }, { authorization: `Basic ${token()}` }, { 'x-mesa-token': `${token()}x` }, { cookie: `${PANEL_COOKIE}=${token()}` }] as Array<Record<string, string>>) {
      expect((await get('/panel', headers)).statusCode).toBe(401);
    }
    expect((await get('/panel/tickets/MDA-000001')).statusCode).toBe(401);
    expect((await get('/panel', { authorization: `Bearer ${token()}` })).statusCode).toBe(200);
    expect((await get('/panel', { 'x-mesa-token': token() })).statusCode).toBe(200);
  });

  it('logs in with the token into an HTTP-only cookie that works, expires and cannot be forged', async () => {
    await open();
    const wrong = await login('not-the-token');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(wrong.body).toContain('El token no es válido');

    const ok = await login(token(), '/panel?nivel=2');
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/panel?nivel=2');
    const setCookie = String(ok.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\/panel/);
    expect(setCookie).toMatch(/Max-Age=43200/);
    expect(setCookie).not.toMatch(/Secure/); // the test's public URL is http://localhost
    expect(setCookie).not.toContain(token());
    const value = sessionCookie(ok)!;
    expect(value).toBeTruthy();
    const withCookie = (v: string) => get('/panel', { cookie: `${PANEL_COOKIE}=${v}` });
    expect((await withCookie(value)).statusCode).toBe(200);
    expect((await get('/panel/login', { cookie: `${PANEL_COOKIE}=${value}` })).statusCode).toBe(303);

    // Tampered: another expiry, another MAC, another nonce.
    const [exp, nonce, mac] = value.split('.') as [string, string, string];
    expect((await withCookie(`${Number(exp) + 3_600_000}.${nonce}.${mac}`)).statusCode).toBe(401);
    expect((await withCookie(`${exp}.${nonce}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`)).statusCode).toBe(401);
    expect((await withCookie(`${exp}.${nonce}x.${mac}`)).statusCode).toBe(401);
    expect((await withCookie(issueSession({ secret: t.mesa.env.secret, panelToken: 'old-token' }, now, 12))).statusCode).toBe(401);

    // Expired: 12 h later the same cookie no longer opens the panel.
    now = new Date(now.getTime() + 12 * 3_600_000 - 60_000);
    expect((await withCookie(value)).statusCode).toBe(200);
    now = new Date(now.getTime() + 2 * 60_000);
    expect((await withCookie(value)).statusCode).toBe(401);

    const out = await t.mesa.http.inject({ method: 'POST', url: '/panel/logout' });
    expect(out.statusCode).toBe(303);
    expect(String(out.headers['set-cookie'])).toMatch(new RegExp(`${PANEL_COOKIE}=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)`));
  });

  it('marks the cookie Secure behind https and redirects only inside the panel', () => {
    expect(sessionCookieOptions('https://mesa.example.com', 12)).toMatchObject({ secure: true, httpOnly: true, sameSite: 'strict', path: '/panel', maxAge: 43_200 });
    expect(sessionCookieOptions('http://localhost:8080', 1).secure).toBe(false);
    expect(safeNext('/panel/tickets/MDA-000001')).toBe('/panel/tickets/MDA-000001');
    for (const evil of ['https://evil.example/panel', '//evil.example', '/panel//evil.example', '/panelx', '/panel/../x', '/panel/login']) expect(safeNext(evil)).toBe('/panel');
    const keys = { secret: 's', panelToken: 'p' };
    const v = issueSession(keys, new Date(0), 1);
    expect(verifySession(keys, v, new Date(3_599_999))).toBe(true);
    expect(verifySession(keys, v, new Date(3_600_000))).toBe(false);
    expect(verifySession({ ...keys, secret: 't' }, v, new Date(0))).toBe(false);
  });

  it('lists open tickets by urgency and filters them by level and severity', async () => {
    await open();
    await customer(1, 'Duda sobre mi constancia', '¿Cómo puedo descargar mi constancia?'); // severity 4
    await customer(2, 'No puedo subir archivos', 'Me marca error al subir un archivo, solo a mí.'); // severity 3
    await customer(3, 'El portal marca error 500 a todos', 'Desde las 9 el portal no carga para nadie.'); // severity 1
    await customer(4, 'Otra duda', '¿Cómo cambio mi correo?');
    const row = async (key: string) => (await t.mesa.store.tickets.byKey(key))!;
    expect(await Promise.all([1, 2, 3].map(async (n) => (await row(`MDA-00000${n}`)).severity))).toEqual([4, 3, 1]);
    now = at('2026-11-30T10:05');
    await agent('MDA-000002', '#escalar', 'a1@proditmapac.com');
    await agent('MDA-000004', '#resuelto\r\nListo.', 'a2@proditmapac.com');
    expect((await row('MDA-000002')).level).toBe(2);

    const all = (await asAgent('/panel')).body;
    // Soonest escalation first: sev 1 at 10:30, sev 4 after 2 business days on level 1, sev 3 after
    // 24 business hours on level 2. The resolved MDA-000004 is not listed.
    expect(rowKeys(all)).toEqual(['MDA-000003', 'MDA-000001', 'MDA-000002']);
    const dues = await Promise.all(['MDA-000003', 'MDA-000001', 'MDA-000002'].map(async (k) => (await row(k)).next_escalation_due_at!));
    expect([...dues].sort((a, b) => a - b)).toEqual(dues);
    expect(all).toContain('3 tickets abiertos');
    expect(all).toContain('<th scope="col">Próximo escalamiento</th>');
    expect(all).toContain('<label for="f-nivel">Nivel</label>');

    const level2 = (await asAgent('/panel?nivel=2')).body;
    expect(rowKeys(level2)).toEqual(['MDA-000002']);
    expect(level2).toContain('<option value="2" selected>');
    expect(rowKeys((await asAgent('/panel?severidad=1')).body)).toEqual(['MDA-000003']);
    expect(rowKeys((await asAgent('/panel?severidad=4&nivel=1')).body)).toEqual(['MDA-000001']);
    expect(rowKeys((await asAgent('/panel?severidad=4&nivel=2')).body)).toEqual([]);
    expect((await asAgent('/panel?severidad=4&nivel=2')).body).toContain('No hay tickets abiertos con estos filtros');
    expect(rowKeys((await asAgent('/panel?nivel=9&severidad=x')).body)).toHaveLength(3); // nonsense filters: all
  });

  it('colours the countdown to the next escalation: ok, warn within warnMinutes, bad when past', async () => {
    await open();
    await customer(1, 'El portal marca error 500 a todos', 'Desde las 9 el portal no carga para nadie.'); // sev 1: level 1 → 2 after 30 min
    expect((await t.mesa.store.tickets.byKey('MDA-000001'))!.next_escalation_due_at).toBe(at('2026-11-30T10:30').getTime());
    expect(countdownOf((await asAgent('/panel')).body, 'MDA-000001')).toEqual(['ok', 'escala en 30 min']);
    now = at('2026-11-30T10:25');
    const warn = (await asAgent('/panel')).body;
    expect(countdownOf(warn, 'MDA-000001')).toEqual(['warn', 'escala en 5 min']);
    expect(warn).toContain('data-left-ms="300000"');
    expect(warn).toContain('<script src="/panel/countdown.js" defer></script>');
    now = at('2026-11-30T10:40');
    expect(countdownOf((await asAgent('/panel')).body, 'MDA-000001')).toEqual(['bad', 'vencido hace 10 min']);
    const page = (await asAgent('/panel/tickets/MDA-000001')).body;
    expect(page).toMatch(/<span class="countdown bad"[^>]*><span data-countdown-text>vencido hace 10 min<\/span>/);

    // The script that ticks it is served to anyone, as JavaScript.
    const js = await get('/panel/countdown.js');
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toContain('text/javascript');
    expect(js.body).toContain('data-left-ms');
  });

  it('shows the organisation, its contract and the targets the countdowns come from', async () => {
    now = at('2026-11-30T10:00');
    t = await startTestMesa({ start: false, clock: () => now, policy: testPolicy((p) => {
      p.levels[1].people = [ANA];
      p.organisations = [{
        id: 'bnorte', name: 'Banco <del> Norte', match: { domains: ['bnorte.mx'], addresses: [], phones: [] },
        contract: { until: '2027-06-30', calendar: null, customer: null, severities: { 3: { clock: 'continuous', firstResponseMinutes: 30, resolutionMinutes: 480, escalateAfterMinutes: { 1: 60 } } } },
      }];
    }) });
    await customer(1, 'No puedo subir archivos', 'Me marca error al subir un archivo.', 'Ana <ana@bnorte.mx>');
    await customer(2, 'No puedo subir archivos', 'Me marca error al subir un archivo.');
    const banco = (await asAgent('/panel/tickets/MDA-000001')).body;
    expect(banco).toContain('<dt>Organización</dt><dd>Banco &lt;del&gt; Norte · contrato vigente hasta 2027-06-30</dd>');
    expect(banco).toContain('severidad 3: primera respuesta 30 min, resolución 8 h (naturales), actualización al cliente cada 9 horas');
    expect(banco).toContain('organización Banco &lt;del&gt; Norte por dominio bnorte.mx; contrato vigente hasta 2027-06-30; matriz general');
    expect(countdownOf((await asAgent('/panel')).body, 'MDA-000001')).toEqual(['ok', 'escala en 1 h']);
    const otro = (await asAgent('/panel/tickets/MDA-000002')).body;
    expect(otro).toContain('<dt>Organización</dt><dd>ninguna</dd>');
    expect(otro).toContain('severidad 3: primera respuesta 4 h, resolución 27 h (hábiles)');
  });

  it('computes countdowns from the row and now', () => {
    const base = { state: 'en_atencion' as const, paused_at: null, first_response_breached_at: null, resolution_breached_at: null };
    const now0 = new Date('2026-11-30T16:00:00Z');
    const due = (min: number) => now0.getTime() + min * 60_000;
    const tz = 'America/Mexico_City';
    expect(escalationCountdown({ ...base, next_escalation_due_at: due(90) }, now0, 30, tz)).toMatchObject({ status: 'ok', text: 'escala en 1 h 30 min' });
    expect(escalationCountdown({ ...base, next_escalation_due_at: due(30) }, now0, 30, tz)).toMatchObject({ status: 'warn', text: 'escala en 30 min' });
    expect(escalationCountdown({ ...base, next_escalation_due_at: due(0) }, now0, 30, tz)).toMatchObject({ status: 'bad' });
    expect(escalationCountdown({ ...base, next_escalation_due_at: due(-26 * 60) }, now0, 30, tz)).toMatchObject({ status: 'bad', text: 'vencido hace 1 d 2 h' });
    expect(escalationCountdown({ ...base, next_escalation_due_at: due(600), resolution_breached_at: 1 }, now0, 30, tz)).toMatchObject({ status: 'bad', text: 'escala en 10 h' });
    expect(escalationCountdown({ ...base, state: 'esperando_cliente', paused_at: 1, next_escalation_due_at: due(-5) }, now0, 30, tz)).toMatchObject({ status: 'ok', ticking: false, text: 'reloj detenido (esperando al cliente)' });
    expect(escalationCountdown({ ...base, next_escalation_due_at: null }, now0, 30, tz)).toMatchObject({ status: 'ok', ticking: false });
    expect(compactDuration(20_000)).toBe('menos de 1 min');
    expect(compactDuration(48 * 3_600_000)).toBe('2 d');
  });

  it('shows one ticket read-only: facts, deadlines, ETR history, events and every message', async () => {
    await open();
    await customer(1, 'No puedo subir archivos', 'Me marca error al subir un archivo.');
    now = at('2026-11-30T10:05');
    await agent('MDA-000001', '#nota\r\nParece el bug del proxy; reviso logs.', 'a1@proditmapac.com');
    await agent('MDA-000001', '#etr 3h', 'a2@proditmapac.com');
    const res = await asAgent('/panel/tickets/mda-000001');
    expect(res.statusCode).toBe(200);
    const html = res.body;
    expect(html).toContain('No puedo subir archivos');
    expect(html).toContain('c1@cliente.mx');
    expect(html).toContain('Primera respuesta');
    expect(html).toContain('Próximo escalamiento');
    expect(html).toContain('Historial del ETR');
    expect(html).toContain('fijado por Ana Uno (#etr 3h)');
    expect(html).toContain('Ticket creado (email, soportetecnico), severidad 3');
    expect(html).toContain('Nota interna de ana.n1@proditmapac.com');
    expect(html).toContain('Parece el bug del proxy; reviso logs.'); // the agents' view has internal notes
    expect(html).toContain('<strong>interno</strong>');
    expect(html).toMatch(/\/estado\/MDA-000001\/[a-z2-7]{16}/);
    expect(html).not.toContain('<form'); // read-only
    expect(html).toContain('<th scope="col">Plazo</th>');
    const missing = await get('/panel/tickets/MDA-000777', { authorization: `Bearer ${token()}` });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('No existe un ticket con esa clave');
  });

  it('escapes HTML in subject, name and body on the list and the ticket page', async () => {
    await open();
    await customer(1, '<script>alert("asunto")</script> falla', 'Hola <img src=x onerror=alert(2)> equipo', '"Eve <b onclick=alert(3)>" <eve@cliente.mx>');
    const list = (await asAgent('/panel')).body;
    const page = (await asAgent('/panel/tickets/MDA-000001')).body;
    for (const html of [list, page]) {
      expect(html).not.toContain('<script>alert');
      expect(html).not.toContain('<b onclick');
      expect(html).not.toContain('<img src=x');
      expect(html).toContain('&lt;script&gt;alert(&quot;asunto&quot;)&lt;/script&gt; falla');
      expect(html).toContain('Eve &lt;b onclick&#x3D;alert(3)&gt;');
      // The only script is Mesa's own countdown.
      expect(html.match(/<script/g)).toHaveLength(1);
    }
    expect(page).toContain('Hola &lt;img src&#x3D;x onerror&#x3D;alert(2)&gt; equipo');
  });
});
