import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, it, expect } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { BusinessCalendar, DEFAULT_CALENDAR } from '../../src/domain/business-time.ts';
import type { Locale } from '../../src/domain/policy.ts';
import { messageContext, type MessageContext, type TicketFacts } from '../../src/outbound/message-context.ts';
import { TemplateRenderer } from '../../src/outbound/template-renderer.ts';

const TEMPLATES = join(import.meta.dirname, '../../templates');
const policy = loadConfig(join(import.meta.dirname, '../../config'));
const renderer = new TemplateRenderer(TEMPLATES);
const clock = new BusinessCalendar(DEFAULT_CALENDAR);

// Tuesday 10 March 2026, 21:00 in Mexico City: closed, so the after-hours fields are filled too.
const NOW = new Date('2026-03-11T03:00:00Z');
const HOSTILE = '<script>alert(1)</script> & "x"';

function context(locale: Locale, over: Partial<TicketFacts> = {}, customerName = 'Pérez López, Juan'): MessageContext {
  return messageContext({
    policy,
    locale,
    now: NOW,
    businessClock: clock,
    customerName,
    ticket: {
      key: 'MDA-000123',
      subject: 'No puedo facturar',
      severity: 3,
      type: 'incidente',
      category: 'tecnico',
      level: 1,
      state: 'nuevo',
      etrAt: new Date('2026-03-13T21:00:00Z'),
      firstResponseDueAt: new Date('2026-03-11T19:00:00Z'),
      ...over,
    },
  });
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
/** A template dir from a map of relative path → source. */
function templateDir(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mesa-templates-'));
  dirs.push(root);
  for (const [rel, source] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), source);
  }
  return root;
}
const MINIMAL = { 'es-MX/ack/subject.hbs': '[{{ticket.key}}] {{ticket.subject}}', 'es-MX/ack/text.hbs': 'Hola {{customer.name}}' };

describe('TemplateRenderer with the real templates/', () => {
  const LOCALES: Locale[] = ['es-MX', 'en'];
  const MOMENTS = ['ack', 'ack-after-hours', 'ack-followup', 'ack-reopened'];

  it('offers the same acknowledgment moments in every locale', () => {
    expect(renderer.locales().sort()).toEqual(['en', 'es-MX']);
    for (const l of LOCALES) expect(renderer.moments(l)).toEqual(expect.arrayContaining(MOMENTS));
    expect(renderer.has('es-MX', 'ack')).toBe(true);
    expect(renderer.has('es-MX', 'nope')).toBe(false);
    expect(renderer.hasPart('es-MX', 'level-escalation', 'sms')).toBe(true);
    expect(renderer.hasPart('es-MX', 'level-escalated-away', 'sms')).toBe(false);
    expect(renderer.hasPart('en', 'ack', 'html')).toBe(true);
  });

  it('the context carries the ETR as a date and a span', () => {
    const c = context('es-MX');
    expect(c.etr).toEqual({ date: 'viernes 13 de marzo, 15:00 h (hora del centro)', span: 'en unos 3 días', iso: '2026-03-13T21:00:00.000Z', reason: null });
    expect(c.opensAt?.date).toBe('miércoles 11 de marzo, 09:00 h (hora del centro)');
    expect(c.customer.name).toBe('Juan');
  });

  for (const locale of LOCALES) {
    for (const moment of MOMENTS) {
      it(`${locale}/${moment} renders with the ETR date and span in text and HTML`, () => {
        const c = context(locale);
        const m = renderer.render(locale, moment, c);
        expect(m.subject).toContain('[MDA-000123]');
        expect(m.subject).not.toMatch(/[\r\n]/);
        for (const body of [m.text, m.html ?? '']) {
          expect(body).toContain(c.etr.date);
          expect(body).toContain(c.etr.span);
          expect(body).toContain('MDA-000123');
          expect(body).toContain(policy.desk.phone);
          expect(body).not.toMatch(/undefined|\[object Object\]|\{\{|\}\}/);
        }
        expect(m.text.endsWith('\n')).toBe(true);
        expect(m.text).not.toMatch(/\n{3,}/);
        expect(m.html).toMatch(/^<div[\s\S]*<\/div>\s*$/);
        expect(m.sms).toBeNull();
        if (moment === 'ack-after-hours') expect(m.text).toContain(c.opensAt!.date);
        if (moment === 'ack') expect(m.text).toContain(c.firstResponse!.date);
      });
    }
  }

  it('greets without a name when there is none', () => {
    const m = renderer.render('es-MX', 'ack', context('es-MX', {}, 'cliente@x.mx'));
    expect(m.text.startsWith('Hola:\n')).toBe(true);
  });

  it('HTML escapes a hostile subject and name; text and subject keep them verbatim', () => {
    const c = context('es-MX', { subject: HOSTILE }, '<img src=x onerror=alert(1)>');
    const m = renderer.render('es-MX', 'ack', c);
    expect(m.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;');
    expect(m.html).not.toContain('<script');
    expect(m.html).not.toContain('<img');
    expect(m.text).toContain(`Asunto:     ${HOSTILE}`);
    expect(m.text).not.toContain('&lt;');
    expect(m.text).not.toContain('&amp;');
    expect(m.subject).toBe(`[MDA-000123] Recibimos su reporte: ${HOSTILE}`);
  });

  it('flattens a subject with CR/LF to one line so it cannot inject headers', () => {
    for (const s of ['Falla\r\nBcc: victima@x.mx', 'Falla\nBcc: victima@x.mx', 'Falla\r\rBcc: victima@x.mx', 'Falla \r\n\t Bcc: victima@x.mx\r\n']) {
      const m = renderer.render('es-MX', 'ack', context('es-MX', { subject: s }));
      expect(m.subject, JSON.stringify(s)).toBe('[MDA-000123] Recibimos su reporte: Falla Bcc: victima@x.mx');
    }
  });

  it('throws for a moment no locale has', () => {
    expect(() => renderer.render('es-MX', 'no-such-moment', context('es-MX'))).toThrow('no template for moment "no-such-moment"');
    expect(() => renderer.render('en', '../ack', context('en'))).toThrow(/no template/);
  });

  it('renders with an empty context without throwing', () => {
    expect(renderer.render('en', 'ack', {}).subject).toBe('[] We received your report:');
  });
});

describe('TemplateRenderer on a template dir of its own', () => {
  it('falls back to es-MX when a locale lacks the moment', () => {
    const r = new TemplateRenderer(templateDir({ ...MINIMAL, 'en/other/subject.hbs': 'x', 'en/other/text.hbs': 'y' }));
    expect(r.render('en', 'ack', { ticket: { key: 'K', subject: 'S' } }).subject).toBe('[K] S');
  });

  it('renders SMS on one line and marks absent parts', () => {
    const r = new TemplateRenderer(templateDir({ 'es-MX/aviso/sms.hbs': 'Ticket {{ticket.key}}:\n  {{ticket.subject}}\n' }));
    expect(r.render('es-MX', 'aviso', { ticket: { key: 'K', subject: 'a\r\nb' } })).toEqual({ subject: '', text: '', html: null, sms: 'Ticket K: a b' });
  });

  it('uses text partials in text and -html partials in HTML', () => {
    const r = new TemplateRenderer(templateDir({
      ...MINIMAL,
      'es-MX/ack/text.hbs': 'T {{> firma}}',
      'es-MX/ack/html.hbs': '<p>{{> firma-html}}</p>',
      'es-MX/partials/firma.hbs': '-- {{desk.name}}',
      'es-MX/partials/firma-html.hbs': '<b>{{desk.name}}</b>',
    }));
    const m = r.render('es-MX', 'ack', { desk: { name: 'A & B' } });
    expect(m.text).toBe('T -- A & B\n');
    expect(m.html).toBe('<p><b>A &amp; B</b></p>');
  });

  it.each([
    ['subject', 'es-MX/ack/subject.hbs', '{{#if ticket}}sin cerrar'],
    ['text', 'es-MX/ack/text.hbs', 'Hola {{customer.name'],
    ['html', 'es-MX/ack/html.hbs', '<p>{{/each}}</p>'],
  ])('a syntax error in %s fails at construction naming the file', (_part, file, source) => {
    const dir = templateDir({ ...MINIMAL, [file]: source });
    expect(() => new TemplateRenderer(dir)).toThrow(`template ${file}:`);
  });

  it('a reference to a missing partial fails at construction', () => {
    const dir = templateDir({ ...MINIMAL, 'es-MX/ack/text.hbs': '{{> no-existe}}' });
    expect(() => new TemplateRenderer(dir)).toThrow(/template es-MX\/ack\/text\.hbs: .*no-existe/);
  });

  // Regression (fixed): partials are registered as raw source and only compiled when a template first calls
  // them, so a syntax error in a partial is reported against whichever template includes it
  // (and not at all when none does).
  it('a syntax error in a partial names the partial file', () => {
    const dir = templateDir({ ...MINIMAL, 'es-MX/ack/text.hbs': 'T {{> firma}}', 'es-MX/partials/firma.hbs': '{{#if desk}}sin cerrar' });
    expect(() => new TemplateRenderer(dir)).toThrow('es-MX/partials/firma.hbs');
  });

  it('a moment with a subject but no text fails at construction', () => {
    const dir = templateDir({ 'es-MX/ack/subject.hbs': 'x' });
    expect(() => new TemplateRenderer(dir)).toThrow('template es-MX/ack: has subject.hbs but no text.hbs');
  });

  it('a moment with neither subject nor sms fails at construction', () => {
    const dir = templateDir({ ...MINIMAL, 'es-MX/vacio/text.hbs': 'x' });
    expect(() => new TemplateRenderer(dir)).toThrow('template es-MX/vacio: needs subject.hbs (email) or sms.hbs');
  });

  it('a missing templates dir fails at construction', () => {
    expect(() => new TemplateRenderer(join(tmpdir(), 'mesa-no-templates-here'))).toThrow();
  });

  // Regression (fixed): every entry of the templates dir is taken for a locale and every entry of a locale for a
  // moment, so a README.md or an editor's .DS_Store beside them stops the start (ENOTDIR, or
  // "needs subject.hbs"). Only directories should count.
  it('ignores stray files beside locales and moments', () => {
    const dir = templateDir({ ...MINIMAL, 'README.md': '# plantillas', 'es-MX/.DS_Store': '' });
    expect(new TemplateRenderer(dir).moments('es-MX')).toEqual(['ack']);
  });
});
