import { afterEach, describe, expect, it } from 'vitest';
import { agentReplyAddress, email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { TEST_INCIDENTS } from '../support/incidents.ts';

/**
 * The public status page of major incidents (issue 13): `/estado` for anyone, no login, and the
 * same as Atom and RSS feeds. Only what the public may read: the incident's public title, ETR and
 * its history, the updates sent to its customers — never the reports, customers, notes or agents.
 */
describe('public status page of incidents', () => {
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
  const receive = async (raw: Buffer) => {
    const o = await t.mesa.receive(raw, { kind: 'pipe', mailbox: null });
    now = new Date(now.getTime() + 60_000);
    return o;
  };
  const burst = async () => {
    for (let n = 0; n < 5; n++) {
      await receive(email({ from: `Cliente ${n} <cliente${n}@empresa${n}.mx>`, to: MESA, subject: `Portal caído en Constructora ${n}`, messageId: `c${n}@x.mx` },
        'No carga el portal de facturación electrónica, marca error 503 al entrar.'));
    }
  };
  const update = (body: string, id: string) => receive(email({ from: BETO.email, to: agentReplyAddress(t.mesa.env.secret, 'INC-0001', BETO.email, MESA), subject: 'RE: [INC-0001]', messageId: id }, body));
  const get = (url: string) => t.mesa.http.inject({ method: 'GET', url });

  it('says so when nothing is known to be down', async () => {
    await open();
    const res = await get('/estado');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('No hay problemas generales conocidos en este momento.');
  });

  it('shows an open incident with its ETR, its history and its last update, and nothing private', async () => {
    await open();
    await burst();
    await update('#titulo Portal de facturación <sin servicio>\r\n#etr 4h\r\nEl proveedor de timbrado reporta una falla; Beto Dos la sigue de cerca.', 'u1@proditmapac.com');
    await update('#nota\r\nRevisar el balanceador secreto.', 'u2@proditmapac.com');
    const res = await get('/estado');
    expect(res.statusCode).toBe(200);
    const html = res.body;
    expect(html).toContain('Hay 1 problema conocido que afecta a varios clientes.');
    expect(html).toContain('Portal de facturación &lt;sin servicio&gt;');
    expect(html).not.toContain('<sin servicio>');
    expect(html).toContain('INC-0001');
    expect(html).toContain('El proveedor de timbrado reporta una falla; el equipo de soporte la sigue de cerca.');
    expect(html).toContain('lunes 30 de noviembre, 14:05 h (hora del centro)'); // 10:05 + 4 h
    expect(html).toContain('Cómo ha cambiado la estimación');
    expect(html).toContain('(vigente)');
    for (const secret of ['Portal caído', 'Constructora', 'cliente0', 'empresa', 'Beto', BETO.email, 'balanceador secreto', 'disponibilidad']) {
      expect(html, secret).not.toContain(secret);
    }
  });

  it('moves a resolved incident to "Resueltos recientemente" and serves both feeds', async () => {
    await open();
    await burst();
    await update('#etr 2h\r\nEstamos restableciendo el servicio.', 'u1@proditmapac.com');
    await update('#resuelto\r\nEl portal funciona con normalidad & sin errores <b>.', 'u3@proditmapac.com');
    const html = (await get('/estado')).body;
    expect(html).toContain('No hay problemas generales conocidos en este momento.');
    expect(html).toContain('Resueltos recientemente');
    expect(html).toContain('El portal funciona con normalidad &amp; sin errores &lt;b&gt;.');

    const atom = await get('/estado/incidentes.atom');
    expect(atom.statusCode).toBe(200);
    expect(atom.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    expect(atom.body).toMatch(/^<\?xml version="1.0" encoding="utf-8"\?>\s*<feed xmlns="http:\/\/www.w3.org\/2005\/Atom"/);
    const entries = [...atom.body.matchAll(/<entry>[\s\S]*?<\/entry>/g)].map((m) => m[0]);
    // Detected, the update, resolved: newest first.
    expect(entries).toHaveLength(3);
    expect(entries[0]).toContain('INC-0001 · Falla que afecta a varios clientes: Resuelto');
    // Readers take the summary as HTML: the desk's words arrive escaped, as written.
    expect(entries[0]).toContain('El portal funciona con normalidad &amp; sin errores &lt;b&gt;.');
    expect(entries[1]).toContain('Estamos restableciendo el servicio.');
    expect(atom.body).toMatch(/<link href="https?:\/\/[^"]+\/estado#INC-0001"\/>/);
    expect(atom.body).not.toContain('Portal caído');

    const rss = await get('/estado/incidentes.rss');
    expect(rss.headers['content-type']).toBe('application/rss+xml; charset=utf-8');
    expect([...rss.body.matchAll(/<item>/g)]).toHaveLength(3);
    // A week later it is gone from the page.
    now = new Date(now.getTime() + 8 * 86_400_000);
    expect((await get('/estado')).body).not.toContain('INC-0001');
  });
});
