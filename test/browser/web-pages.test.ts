import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { startTestMesa, type TestMesa } from '../support/mesa-harness.ts';
import { SmtpSink, waitFor } from '../support/smtp-sink.ts';

/**
 * The three web pages in a real browser (Debian's Chromium, headless, driven by playwright-core):
 * a newcomer reports a problem on the portal, sees the ticket key, opens the status page; a
 * validation error keeps what was typed; the panel refuses without the operator token and lists
 * the ticket with its countdown after logging in.
 *
 * `MESA_SCREENSHOTS=1 npx vitest run test/browser` also saves the pages as PNG under docs/ (the
 * README shows them); a normal run writes them to the test's temporary directory.
 */

const SCREENSHOTS = process.env.MESA_SCREENSHOTS === '1' ? join(import.meta.dirname, '../../docs') : null;

describe('web pages in Chromium', () => {
  let smtp: SmtpSink;
  let t: TestMesa;
  let browser: Browser;
  let base: string;
  let shots: string;
  // The desk's clock runs with real time plus an offset the test moves forward, so the form's
  // minimum fill time passes without sleeping.
  let offsetMs = 0;

  beforeAll(async () => {
    smtp = new SmtpSink();
    await smtp.start();
    t = await startTestMesa({ smtp, clock: () => new Date(Date.now() + offsetMs) });
    const address = await t.mesa.http.listen({ port: 0, host: '127.0.0.1' });
    base = address.replace('0.0.0.0', '127.0.0.1');
    shots = SCREENSHOTS ?? join(t.dataDir, 'screenshots');
    mkdirSync(shots, { recursive: true });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await smtp?.stop();
  });

  async function phonePage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 412, height: 915 }, deviceScaleFactor: 1, locale: 'es-MX' });
    return context.newPage();
  }

  it('a newcomer fills the form, sees the ticket key and opens the status page', async () => {
    const page = await phonePage();
    await page.goto(`${base}/soporte-tecnico`);
    expect(await page.locator('h1').textContent()).toContain('Reportar un problema');
    await page.getByLabel('Nombre completo').fill('Lucía Ramírez');
    await page.getByLabel('Correo electrónico').fill('lucia.ramirez@constructora-norte.com.mx');
    await page.getByLabel(/^Teléfono/).fill('55 1234 5678');
    await page.getByLabel('¿Qué está pasando?').fill('El portal marca error 500 al subir el archivo de conciliación, a todos en la oficina.');
    await page.locator('input[name="urgencia"]').nth(1).check();
    if (SCREENSHOTS) await page.screenshot({ path: join(shots, 'portal.png'), fullPage: true });
    offsetMs += 10_000;
    await page.getByRole('button', { name: 'Enviar reporte' }).click();

    const key = (await page.locator('.key').first().textContent())?.trim() ?? '';
    expect(key).toMatch(/^MDA-\d{6}$/);
    const ack = await waitFor(() => smtp.to('lucia.ramirez@constructora-norte.com.mx')[0], 'the acknowledgment');
    expect(ack.parsed.subject).toContain(key);

    await page.getByRole('link', { name: 'Ver el estado de su ticket' }).click();
    await page.waitForURL(/\/estado\/MDA-\d{6}\/[a-z2-7]{16}$/);
    expect(await page.locator('h1').textContent()).toContain(key);
    const body = await page.locator('main').textContent() ?? '';
    expect(body).toContain('Tiempo estimado de solución');
    expect(body).toMatch(/Su caso está con el equipo de (Mesa de Ayuda|Operaciones|Especialistas)/);
    await page.screenshot({ path: join(shots, 'status.png'), fullPage: true });

    // The acknowledgment carries the same status link the page was reached by.
    expect(ack.parsed.text).toContain(new URL(page.url()).pathname);
    await page.context().close();
  });

  it('a validation error is shown next to its field and keeps what was typed', async () => {
    const page = await phonePage();
    await page.goto(`${base}/soporte-tecnico`);
    await page.getByLabel('Nombre completo').fill('Raúl Cruz');
    await page.getByLabel('Correo electrónico').fill('raul.cruz@');
    await page.getByLabel('¿Qué está pasando?').fill('No me llegan las notificaciones de aprobación desde el lunes.');
    await page.locator('input[name="urgencia"]').nth(2).check();
    offsetMs += 10_000;
    // The browser's own checks would stop a malformed address; the server's must hold too.
    await page.locator('form').evaluate((f) => { (f as HTMLFormElement).noValidate = true; });
    await page.getByRole('button', { name: 'Enviar reporte' }).click();

    const email = page.getByLabel('Correo electrónico');
    await expect.poll(() => email.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#correo-error').textContent()).toMatch(/correo/i);
    expect(await page.getByLabel('Nombre completo').inputValue()).toBe('Raúl Cruz');
    expect(await email.inputValue()).toBe('raul.cruz@');
    expect(await page.getByLabel('¿Qué está pasando?').inputValue()).toBe('No me llegan las notificaciones de aprobación desde el lunes.');
    expect(await page.locator('input[name="urgencia"]').nth(2).isChecked()).toBe(true);
    await page.context().close();
  });

  it('the panel refuses without the token and lists the ticket with its countdown after logging in', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, locale: 'es-MX' });
    const page = await context.newPage();
    const refused = await page.goto(`${base}/panel`);
    expect(refused?.status()).toBe(401);
    await page.getByLabel(/token/i).fill('not-the-token-at-all');
    await page.getByRole('button', { name: 'Entrar' }).click();
    expect(await page.locator('#token-error').count()).toBe(1);
    expect(await page.locator('table').count()).toBe(0);

    await page.getByLabel(/token/i).fill(t.mesa.env.panelToken);
    await page.getByRole('button', { name: 'Entrar' }).click();
    await page.waitForURL(`${base}/panel`);
    const row = page.locator('tbody tr', { hasText: 'error 500' });
    await expect.poll(() => row.count()).toBe(1);
    const key = (await row.locator('th a').textContent())?.trim() ?? '';
    expect(key).toMatch(/^MDA-\d{6}$/);
    const countdown = row.locator('.countdown');
    // Just created: its level's whole budget is ahead, not yet breached.
    expect((await countdown.textContent())?.trim()).toMatch(/^escala en \d+ (min|h)/);
    expect(await countdown.getAttribute('class')).toMatch(/\b(ok|warn)\b/);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.path === '/panel')?.httpOnly).toBe(true);
    await page.screenshot({ path: join(shots, 'panel.png'), fullPage: true });

    await row.locator('th a').click();
    await page.waitForURL(`${base}/panel/tickets/${key}`);
    expect(await page.locator('main').textContent()).toContain(key);

    // The compliance report, linked from the queue: an SVG chart drawn without any script.
    await page.goto(`${base}/panel`);
    await page.getByRole('link', { name: /Informe de cumplimiento/ }).click();
    await page.waitForURL(/\/panel\/informes$/);
    const chart = page.getByRole('img', { name: 'Cumplimiento por organización' });
    expect(await chart.count()).toBe(1);
    expect((await chart.boundingBox())?.width).toBeGreaterThan(300);
    // The ticket has had no answer yet: one full-width grey (pending) bar for each measure.
    const bars = page.locator('svg rect');
    expect(await bars.count()).toBe(2);
    expect((await bars.first().boundingBox())?.width).toBeGreaterThan(200);
    expect(await page.locator('tbody tr').first().locator('th').textContent()).toBe('Sin organización');
    await page.screenshot({ path: join(shots, 'panel-informes.png'), fullPage: true });
    await context.close();
  });
});
