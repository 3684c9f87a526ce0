import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { agentReplyAddress, email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { TEST_INCIDENTS } from '../support/incidents.ts';

/**
 * The public status page of a major incident (issue 13) in a real browser on a phone-sized
 * screen: no login, Spanish, the ETR and its history readable without zooming or scrolling
 * sideways, and the feed it links to served as Atom. The screenshot's path is printed.
 */
const SCREENSHOTS = process.env.MESA_SCREENSHOTS === '1' ? join(import.meta.dirname, '../../docs') : null;

describe('incident status page in Chromium', () => {
  let t: TestMesa;
  let browser: Browser;
  let base: string;
  let shots: string;
  let now = new Date('2026-11-30T16:00:00Z');
  const BETO = { name: 'Beto Dos', email: 'beto.n2@proditmapac.com', phone: null };
  const MESA = 'mesadeayuda@proditmapac.com';

  beforeAll(async () => {
    t = await startTestMesa({
      clock: () => now, policy: testPolicy((p) => {
        p.incidents = { ...TEST_INCIDENTS };
        p.levels[2].people = [BETO];
      }),
    });
    const address = await t.mesa.http.listen({ port: 0, host: '127.0.0.1' });
    base = address.replace('0.0.0.0', '127.0.0.1');
    shots = SCREENSHOTS ?? join(t.dataDir, 'screenshots');
    mkdirSync(shots, { recursive: true });
    browser = await launchChromium();
    const receive = async (raw: Buffer) => { await t.mesa.receive(raw, { kind: 'pipe', mailbox: null }); now = new Date(now.getTime() + 60_000); };
    for (let n = 0; n < 5; n++) {
      await receive(email({ from: `cliente${n}@empresa${n}.mx`, to: MESA, subject: `Portal caído ${n}`, messageId: `b${n}@x.mx` }, 'No carga el portal de facturación electrónica, marca error 503 al entrar.'));
    }
    const agent = (body: string, id: string) => receive(email({ from: BETO.email, to: agentReplyAddress(t.mesa.env.secret, 'INC-0001', BETO.email, MESA), subject: 'RE: [INC-0001]', messageId: id }, body));
    await agent('#titulo Portal de facturación sin servicio\r\n#etr 3h\r\nEl proveedor de timbrado reporta una falla en su centro de datos; ya trabaja en restablecerlo.', 'b-u1@proditmapac.com');
    await agent('#etr 4h\r\nEl proveedor necesita una hora más para terminar la migración de emergencia.', 'b-u2@proditmapac.com');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('reads well on a phone: title, ETR, its history and the last update, with a feed to subscribe to', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, locale: 'es-MX' });
    const page = await context.newPage();
    const res = await page.goto(`${base}/estado`);
    expect(res?.status()).toBe(200);
    expect(await page.locator('h1').textContent()).toBe('Estado del servicio');
    const card = page.locator('section#INC-0001');
    await expect.poll(() => card.locator('h2').textContent()).toContain('Portal de facturación sin servicio');
    const text = await card.textContent() ?? '';
    expect(text).toContain('En curso');
    expect(text).toContain('Solución estimada');
    expect(text).toContain('El proveedor necesita una hora más para terminar la migración de emergencia.');
    expect(text).toContain('(vigente)');
    expect(await card.locator('ol').first().locator('li').count()).toBe(3); // the first estimate, 3 h, 4 h
    // Nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const path = join(shots, 'estado-incidentes.png');
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);

    await page.getByRole('link', { name: 'Atom' }).click();
    const feed = await page.request.get(`${base}/estado/incidentes.atom`);
    expect(feed.headers()['content-type']).toBe('application/atom+xml; charset=utf-8');
    expect(await feed.text()).toContain('INC-0001 · Portal de facturación sin servicio: Actualización');
    await context.close();
  });
});
