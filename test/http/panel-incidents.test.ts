import { afterEach, describe, expect, it } from 'vitest';
import { PANEL_COOKIE } from '../../src/http/panel-auth.ts';
import { email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { peek } from '../support/db-peek.ts';
import { TEST_INCIDENTS } from '../support/incidents.ts';

/**
 * Major incidents on the agents' panel (issue 13): the list with linked counts, and declaring
 * one from a ticket's page — a form that only this session's page can post (form token bound
 * to the session cookie, Origin of this host), or a client holding the operator token.
 */
describe('major incidents on the panel', () => {
  let t: TestMesa;
  afterEach(async () => { await t?.stop(); });
  let now = new Date('2026-11-30T16:00:00Z');
  const BETO = { name: 'Beto Dos', email: 'beto.n2@proditmapac.com', phone: null };
  const MESA = 'mesadeayuda@proditmapac.com';
  const open = async () => {
    now = new Date('2026-11-30T16:00:00Z');
    t = await startTestMesa({
      start: false, clock: () => now, policy: testPolicy((p) => {
        p.incidents = { ...TEST_INCIDENTS };
        p.levels[2].people = [BETO];
      }),
    });
  };
  const receive = async (from: string, subject: string, body: string) => {
    const o = await t.mesa.receive(email({ from, to: MESA, subject, messageId: `${from}.${now.getTime()}@x.mx` }, body), { kind: 'pipe', mailbox: null }) as { ticketKey: string };
    now = new Date(now.getTime() + 60_000);
    return o.ticketKey;
  };
  const bearer = () => ({ authorization: `Bearer ${t.mesa.env.panelToken}` });
  const login = async () => {
    const res = await t.mesa.http.inject({ method: 'POST', url: '/panel/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ token: t.mesa.env.panelToken }).toString() });
    return res.cookies.find((c) => c.name === PANEL_COOKIE)!.value;
  };
  const post = (url: string, form: Record<string, string>, headers: Record<string, string>) => t.mesa.http.inject({
    method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'mesa.local', ...headers }, payload: new URLSearchParams(form).toString(),
  });
  const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];

  it('lists incidents with their linked counts, level and ETR', async () => {
    await open();
    for (let n = 0; n < 6; n++) await receive(`cliente${n}@empresa${n}.mx`, `Portal caído ${n}`, 'No carga el portal de facturación electrónica, marca error 503 al entrar.');
    const res = await t.mesa.http.inject({ method: 'GET', url: '/panel/incidentes', headers: bearer() });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<th scope="row" style="white-space:nowrap">INC-0001</th>');
    expect(res.body).toContain('<strong data-linked-open>6</strong> abiertos');
    expect(res.body).toContain('<span data-linked>6</span> en total');
    expect(res.body).toContain('Falla que afecta a varios clientes');
    expect(res.body).toContain('2 · ');
    // Without the token: the login page, not the list.
    const anon = await t.mesa.http.inject({ method: 'GET', url: '/panel/incidentes', headers: { accept: 'text/html' } });
    expect(anon.statusCode).toBe(401);
    expect(anon.body).not.toContain('INC-0001');
  });

  it('declares one from a ticket’s page with the session’s form token, and refuses a forged post', async () => {
    await open();
    const key = await receive('ana@cliente.mx', 'No entra nadie al ERP', 'Desde las 9 ningún usuario puede entrar al ERP, marca error de conexión.');
    const cookie = await login();
    const page = await t.mesa.http.inject({ method: 'GET', url: `/panel/tickets/${key}`, headers: { cookie: `${PANEL_COOKIE}=${cookie}` } });
    expect(page.body).toContain(`<form method="post" action="/panel/tickets/${key}/incidente"`);
    const csrf = csrfOf(page.body)!;
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const url = `/panel/tickets/${key}/incidente`;

    // Forged: no token, a wrong one, another site's Origin, no session at all.
    const wrong = csrf.endsWith('A') ? `${csrf.slice(0, -1)}B` : `${csrf.slice(0, -1)}A`;
    for (const [form, headers, code] of [
      [{}, { cookie: `${PANEL_COOKIE}=${cookie}` }, 403],
      [{ csrf: wrong }, { cookie: `${PANEL_COOKIE}=${cookie}` }, 403],
      [{ csrf }, { cookie: `${PANEL_COOKIE}=${cookie}`, origin: 'https://evil.example' }, 403],
      [{ csrf }, { cookie: `${PANEL_COOKIE}=${cookie}`, origin: 'null' }, 403],
      [{ csrf }, {}, 401],
    ] as Array<[Record<string, string>, Record<string, string>, number]>) {
      expect((await post(url, form, headers)).statusCode, JSON.stringify([form, headers])).toBe(code);
    }
    expect(await t.mesa.store.incidents.byId(1)).toBeUndefined();

    // A person not in the directory is refused; the page's own post with one who is, accepted.
    expect((await post(url, { csrf, as: 'intruso@otro.mx' }, { cookie: `${PANEL_COOKIE}=${cookie}`, origin: 'http://mesa.local' })).statusCode).toBe(400);
    const ok = await post(url, { csrf, as: BETO.email }, { cookie: `${PANEL_COOKIE}=${cookie}`, origin: 'http://mesa.local' });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/panel/incidentes#INC-0001');
    expect(await t.mesa.store.incidents.byId(1)).toMatchObject({ state: 'abierto', opened_by: `agent:${BETO.email}` });
    expect((await t.mesa.store.tickets.byKey(key))?.incident_id).toBe(1);
    const notices = (await peek(t).all(`SELECT recipient FROM outbox WHERE moment = 'agent-incident-opened'`)) as Array<{ recipient: string }>;
    expect(notices.map((n) => n.recipient)).toEqual([BETO.email]);

    // Declared once: a second post is a conflict, and the page no longer offers the form.
    expect((await post(url, { csrf }, { cookie: `${PANEL_COOKIE}=${cookie}` })).statusCode).toBe(409);
    const after = await t.mesa.http.inject({ method: 'GET', url: `/panel/tickets/${key}`, headers: { cookie: `${PANEL_COOKIE}=${cookie}` } });
    expect(after.body).not.toContain('/incidente"');
    expect(after.body).toContain('<a href="/panel/incidentes#INC-0001">INC-0001</a>');

    // A script holding the operator token needs no form token.
    const other = await receive('luis@cliente.mx', 'Sin correo', 'El correo corporativo no recibe mensajes desde la mañana.');
    expect((await post(`/panel/tickets/${other}/incidente`, {}, bearer())).statusCode).toBe(303);
    expect(await t.mesa.store.incidents.byId(2)).toMatchObject({ state: 'abierto', opened_by: 'agent:panel' });
    expect((await post('/panel/tickets/MDA-999999/incidente', {}, bearer())).statusCode).toBe(404);
  });
});
