import { afterEach, describe, expect, it } from 'vitest';
import { reportChart } from '../../src/http/views/report-view.ts';
import { agentReplyAddress, email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';

/** `/panel/informes`: the compliance report's figures, its SVG chart, the CSV, bad periods, the token. */
describe('panel compliance report', () => {
  let t: TestMesa;
  let now: Date;
  const at = (local: string) => new Date(`${local}:00-06:00`);
  const ANA = { name: 'Ana Uno', email: 'ana.n1@proditmapac.com', phone: null };
  afterEach(async () => { await t?.stop(); });

  const receive = (raw: Buffer) => t.mesa.receive(raw, { kind: 'drop', mailbox: null });
  const asAgent = (url: string) => t.mesa.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${t.mesa.env.panelToken}` } });

  it('shows the month\'s figures per organisation with a bar chart, and the same as CSV', async () => {
    now = at('2026-11-02T10:00');
    t = await startTestMesa({ start: false, clock: () => now, policy: testPolicy((p) => {
      p.levels[1].people = [ANA];
      p.organisations = [{
        id: 'bnorte', name: 'Banco <del> Norte', match: { domains: ['bnorte.mx'], addresses: [], phones: [] },
        contract: { until: null, calendar: null, customer: null, severities: { 3: { clock: 'continuous', firstResponseMinutes: 30, resolutionMinutes: 480 } } },
      }];
    }) });
    // Two of the bank's tickets: one answered in 20 min, one in 50 (late); neither resolved.
    for (const [n, minutes] of [[1, 20], [2, 50]] as const) {
      now = at(`2026-11-0${2 + n}T10:00`);
      const r = await receive(email({ from: `c${n}@bnorte.mx`, to: 'soportetecnico@proditmapac.com', subject: `Falla ${n}`, messageId: `c${n}@bnorte.mx` }, 'No puedo subir archivos.')) as { ticketKey: string };
      now = new Date(now.getTime() + minutes * 60_000);
      await receive(email({ from: `${ANA.name} <${ANA.email}>`, to: agentReplyAddress(t.mesa.env.secret, r.ticketKey, ANA.email), subject: `RE: [${r.ticketKey}]`, messageId: `a${n}@proditmapac.com` }, 'Lo revisamos.'));
    }
    now = at('2026-12-03T09:00');
    expect((await t.mesa.http.inject({ method: 'GET', url: '/panel/informes' })).statusCode).toBe(401);

    // By default the month so far: nothing yet in December. (Handlebars writes = in attributes as &#x3D;.)
    const empty = await asAgent('/panel/informes');
    expect(empty.statusCode).toBe(200);
    expect(empty.body).toContain('value="2026-12-01"');
    expect(empty.body).toContain('No se abrieron tickets en el periodo.');
    expect(empty.body).not.toContain('<svg');
    expect(empty.body).toContain('href="/panel/informes?desde&#x3D;2026-11-01&amp;hasta&#x3D;2026-11-30&amp;por&#x3D;organizacion"');

    const res = await asAgent('/panel/informes?desde=2026-11-01&hasta=2026-11-30&por=organizacion');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    const html = res.body;
    // The name is escaped in the table and in the chart alike.
    expect(html).not.toContain('<del>');
    expect(html).toContain('<th scope="row">Banco &lt;del&gt; Norte</th>');
    expect(html).toMatch(/<text x="0" y="\d+" fill="#1d2733" font-weight="600">Banco &lt;del&gt; Norte<\/text>/);
    // 1 of 2 answered in time: 50 %; the median is the first of the two (nearest rank), p90 the second.
    const bankRow = html.split('<tr').find((r) => r.includes('Banco &lt;del&gt; Norte</th>') && r.includes('<td>3</td>')) ?? '';
    expect(bankRow.slice(bankRow.indexOf('>') + 1).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()).toBe('Banco &lt;del&gt; Norte 3 2 1 1 50% 20 min 50 min 0 0 — — — 0');
    // The chart: first-response bar half green, half red; the resolution bar all grey (pending).
    const rects = [...html.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="16" fill="(#[0-9a-f]+)"><title>([^<]+)<\/title><\/rect>/g)].map((m) => [Number(m[1]), Number(m[3]), m[4], m[5]]);
    expect(rects).toEqual([
      [200, 220, '#1f7a3a', '1ª respuesta: 1 en plazo'], [420, 220, '#b3261e', '1ª respuesta: 1 fuera de plazo'],
      [200, 440, '#b8c2cc', 'Resolución: 2 pendientes'],
    ]);
    expect(html).toContain('href="/panel/informes.csv?desde&#x3D;2026-11-01&amp;hasta&#x3D;2026-11-30&amp;por&#x3D;organizacion"');

    const csv = await asAgent('/panel/informes.csv?desde=2026-11-01&hasta=2026-11-30');
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.headers['content-disposition']).toBe('attachment; filename="sla-organisation-2026-11-01-2026-11-30.csv"');
    expect(csv.body.trim().split('\n')).toEqual([
      expect.stringMatching(/^group,group_name,severity,/),
      'bnorte,Banco <del> Norte,3,2,1,1,0,50,20,50,0,0,2,,,,0',
      'bnorte,Banco <del> Norte,all,2,1,1,0,50,20,50,0,0,2,,,,0',
    ]);

    const bad = await asAgent('/panel/informes?desde=2026-11-31&hasta=2026-11-30');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('Desde 2026-11-31: se espera una fecha YYYY-MM-DD');
    expect((await asAgent('/panel/informes?por=nivel')).body).toContain('por&#x3D;nivel: se espera organizacion o categoria');
    expect((await asAgent('/panel/informes.csv?desde=2026-12-01&hasta=2026-11-01')).statusCode).toBe(400);
  });

  it('draws one group per total row, bars in proportion to the tickets', () => {
    const o = (met: number, breached: number, pending: number) => ({ met, breached, pending, medianMinutes: null, p90Minutes: null });
    const chart = reportChart([
      { group: 'a', groupName: 'A', severity: 1, tickets: 4, firstResponse: o(3, 1, 0), resolution: o(0, 0, 4), escalations: 0 },
      { group: 'a', groupName: 'A', severity: null, tickets: 4, firstResponse: o(3, 1, 0), resolution: o(0, 0, 4), escalations: 0 },
      { group: null, groupName: 'Sin organización', severity: null, tickets: 0, firstResponse: o(0, 0, 0), resolution: o(0, 0, 0), escalations: 0 },
    ]);
    expect(chart.groups.map((g) => g.name)).toEqual(['A', 'Sin organización']);
    expect(chart.groups[0]!.bars[0]!.segments.map((s) => s.width)).toEqual([330, 110]);
    expect(chart.groups[0]!.bars[0]!.percent).toBe('75%');
    expect(chart.groups[1]!.bars[0]!.segments).toEqual([]);
    expect(chart.groups[1]!.bars[0]!.percent).toBe('—');
    expect(chart.groups[1]!.y).toBeGreaterThan(chart.groups[0]!.bars[1]!.y);
  });
});
