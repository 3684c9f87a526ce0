import Handlebars from 'handlebars';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, it, expect } from 'vitest';
import { previewTemplate } from '../../src/cli/templates-preview.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { SlaClocks } from '../../src/desk/sla-clocks.ts';
import type { Locale } from '../../src/domain/policy.ts';
import { formatInstant } from '../../src/domain/time-format.ts';
import { messageContext, type MessageContext } from '../../src/outbound/message-context.ts';
import { TemplateRenderer, type RenderedMessage } from '../../src/outbound/template-renderer.ts';
import type { ContactRow, TicketRow } from '../../src/domain/ticket.ts';

/**
 * Renders every moment the real `templates/` holds, in every locale, and checks what issue 3
 * demands of every message: the ETR is there, hostile customer text is escaped in HTML and
 * verbatim in plain text, nothing is left unrendered. Moments and locales are discovered from
 * the renderer, so a moment added later is checked without touching this file.
 */

const TEMPLATES = join(import.meta.dirname, '../../templates');
const policy = loadConfig(join(import.meta.dirname, '../../config'));
const renderer = new TemplateRenderer(TEMPLATES);
const clocks = new SlaClocks(policy);

const KEY = 'MDA-000123';
const HOSTILE = `<script>alert("x")</script> & 'q'`;
/** Marks the customer's description, which must never reach an SMS (shared phones). */
const DESCRIPTION = `DESCRIPCION-PRIVADA línea 1\n${HOSTILE}`;
const SMS_LIMIT = 480;
// Tuesday 10 March 2026, 21:00 in Mexico City: after hours, so `opensAt` is filled too.
const NOW = new Date('2026-03-11T03:00:00Z');
const at = (iso: string): Date => new Date(iso);

/** Every section filled, with hostile text wherever a customer or an agent types. */
function fullContext(locale: Locale): MessageContext {
  return messageContext({
    policy,
    locale,
    now: NOW,
    businessClock: clocks.business,
    customerName: HOSTILE,
    ticket: {
      key: KEY,
      subject: HOSTILE,
      description: DESCRIPTION,
      severity: 2,
      type: 'incidente',
      category: 'disponibilidad',
      level: 2,
      state: 'en_atencion',
      channel: 'email',
      createdAt: at('2026-03-10T20:00:00Z'),
      etrAt: at('2026-03-11T09:00:00Z'),
      firstResponseDueAt: at('2026-03-10T21:00:00Z'),
      nextEscalationDueAt: at('2026-03-11T04:00:00Z'),
      resolutionDueAt: at('2026-03-11T04:00:00Z'),
      assignee: 'Ana Torres',
    },
    extras: {
      recipientName: 'Luis Gómez',
      customer: { fullName: HOSTILE, email: 'juan.perez@example.com', phone: '+525512345678' },
      previousEtrAt: at('2026-03-11T05:00:00Z'),
      etrReason: HOSTILE,
      escalation: { fromLevel: 1, toLevel: 2, reason: `Venció el tiempo de nivel 1 ${HOSTILE}` },
      warning: { percent: 80, escalatesAt: at('2026-03-11T04:00:00Z') },
      breach: { kind: 'first_response', dueAt: at('2026-03-10T21:00:00Z') },
      history: [
        { at: at('2026-03-10T20:00:00Z'), text: HOSTILE },
        { at: at('2026-03-10T22:00:00Z'), text: 'Escalado a Operaciones' },
      ],
      classification: [{ rule: 'portal-caido', matched: ['portal caido', HOSTILE] }],
      incident: { key: 'INC-0007', title: HOSTILE, publicTitle: HOSTILE, category: 'disponibilidad', linked: 12, joined: 7, words: ['portal', HOSTILE], reason: HOSTILE },
    },
  });
}

/**
 * The moment's own section present, every optional field absent: no e-mail or phone, no
 * description, no previous ETR or reason, no deadlines, history or rules, no recipient name.
 */
function sparseContext(locale: Locale): MessageContext {
  return messageContext({
    policy,
    locale,
    now: NOW,
    businessClock: clocks.business,
    customerName: HOSTILE,
    ticket: {
      key: KEY, subject: HOSTILE, severity: 4, type: 'solicitud', category: 'consulta', level: 3, state: 'esperando_cliente',
      etrAt: at('2026-03-20T18:00:00Z'), firstResponseDueAt: null,
    },
    extras: {
      escalation: { fromLevel: 3, toLevel: 4, reason: 'Sin resolución en nivel 3' },
      warning: { percent: 80, escalatesAt: at('2026-03-12T18:00:00Z') },
      breach: { kind: 'resolution', dueAt: at('2026-03-10T18:00:00Z') },
    },
  });
}

/**
 * What is wrong with one rendered message, as readable lines; empty when it is fine.
 * Applies to every moment: checks that only some moments need are asserted separately.
 */
/** Moments about several tickets at once (a customer's daily digest): their subject names none. */
// A digest lists several cases; an incident's notice is on the incident's thread (its own tag).
const SEVERAL_TICKETS = new Set(['customer-digest', 'agent-incident-opened', 'agent-incident-escalated', 'agent-incident-digest']);

function problemsIn(m: RenderedMessage, ctx: MessageContext, moment = ''): string[] {
  const problems: string[] = [];
  const key = ctx.ticket.key;
  const email = m.subject !== '';
  const parts: Array<[string, string]> = [['subject', m.subject], ['text', m.text]];
  if (m.html !== null) parts.push(['html', m.html]);
  if (m.sms !== null) parts.push(['sms', m.sms]);

  if (!email && m.sms === null) problems.push('neither an email nor an SMS');
  if (email) {
    if (!SEVERAL_TICKETS.has(moment) && !m.subject.startsWith(`[${key}]`)) problems.push(`subject does not start with [${key}]`);
    const plain = `${m.subject}\n${m.text}`;
    if (!plain.includes(ctx.etr.date)) problems.push('ETR date missing from subject and text');
    if (!plain.includes(ctx.etr.span)) problems.push('ETR span missing from subject and text');
    if (m.html === null) {
      problems.push('email without html');
    } else {
      if (!m.html.includes(Handlebars.escapeExpression(ctx.etr.date))) problems.push('ETR date missing from html');
      if (!m.html.includes(Handlebars.escapeExpression(ctx.etr.span))) problems.push('ETR span missing from html');
      if (/<script/i.test(m.html)) problems.push('html contains a raw <script>');
      // The name loses its quotes on the way (first-name parsing), so look for the tag alone.
      if (!m.html.includes('&lt;script&gt;alert(')) problems.push('html lacks the escaped customer text');
    }
    if (!m.text.includes(HOSTILE)) problems.push('text does not keep the customer text verbatim');
  }
  if (m.sms !== null) {
    if (!m.sms.startsWith(key)) problems.push(`sms does not start with ${key}`);
    if (m.sms.length > SMS_LIMIT) problems.push(`sms is ${m.sms.length} chars (> ${SMS_LIMIT})`);
    if (!m.sms.includes(ctx.etr.date)) problems.push('ETR date missing from sms');
    if (m.sms.includes('DESCRIPCION-PRIVADA')) problems.push('sms carries the customer description');
  }
  for (const [name, body] of parts) {
    if (/\{\{|\}\}/.test(body)) problems.push(`${name} has {{ or }} left`);
    const empty = /\bundefined\b|\bnull\b|\bNaN\b|\[object Object\]|\(\s*\)/.exec(body);
    if (empty) problems.push(`${name} shows "${empty[0]}"`);
    if (name !== 'html' && /&(lt|gt|amp|quot|#x27);/.test(body)) problems.push(`${name} is HTML-escaped`);
  }
  return problems;
}

/** Moments some locale lacks, and moments whose parts differ between locales. */
function localeGaps(r: TemplateRenderer, contextFor: (l: Locale) => object): string[] {
  const locales = r.locales();
  const all = [...new Set(locales.flatMap((l) => r.moments(l)))].sort();
  const gaps: string[] = [];
  for (const moment of all) {
    const shapes = new Map<string, Locale[]>();
    for (const l of locales) {
      if (!r.has(l, moment)) { gaps.push(`${l}/${moment} missing`); continue; }
      const m = r.render(l, moment, contextFor(l));
      const shape = [m.subject && 'subject', m.text && 'text', m.html !== null && 'html', m.sms !== null && 'sms'].filter(Boolean).join('+');
      shapes.set(shape, [...(shapes.get(shape) ?? []), l]);
    }
    if (shapes.size > 1) gaps.push(`${moment} parts differ: ${[...shapes].map(([s, ls]) => `${ls.sort().join(',')}=${s}`).sort().join(' ')}`);
  }
  return gaps;
}

const ISSUE_3_MOMENTS = ['agent-new-ticket', 'level-warning', 'level-escalation', 'level-escalated-away', 'customer-escalation', 'customer-update', 'customer-etr-change', 'breach-notice'];
const SMS_MOMENTS = ISSUE_3_MOMENTS.filter((m) => m !== 'level-escalated-away');
const LOCALES = renderer.locales().sort();

describe('every moment of templates/, in every locale', () => {
  it('finds both locales and the moments issue 3 needs, SMS where it is sent by SMS', () => {
    expect(LOCALES).toEqual(['en', 'es-MX']);
    for (const l of LOCALES) {
      expect(renderer.moments(l)).toEqual(expect.arrayContaining(ISSUE_3_MOMENTS));
      for (const m of ISSUE_3_MOMENTS) {
        expect(renderer.render(l, m, fullContext(l)).sms === null, `${l}/${m}`).toBe(!SMS_MOMENTS.includes(m));
      }
    }
  });

  it('every moment exists in every locale with the same parts', () => {
    expect(localeGaps(renderer, fullContext)).toEqual([]);
  });

  for (const locale of LOCALES) {
    for (const moment of renderer.moments(locale)) {
      it(`${locale}/${moment}: ETR everywhere, escaped HTML, nothing left unrendered (full context)`, () => {
        const ctx = fullContext(locale);
        const m = renderer.render(locale, moment, ctx);
        expect(problemsIn(m, ctx, moment)).toEqual([]);
        // SMS carry no free text at all: no name, subject, description or reason of anyone.
        if (m.sms !== null) expect(m.sms).not.toContain('alert(');
      });

      it(`${locale}/${moment}: reads cleanly when the optional fields are absent`, () => {
        const ctx = sparseContext(locale);
        const m = renderer.render(locale, moment, ctx);
        expect(problemsIn(m, ctx, moment)).toEqual([]);
        for (const body of [m.text, m.sms ?? '']) expect(body).not.toMatch(/ [.,;:]/);
      });
    }
  }
});

/** Facts each issue-3 moment must show beyond the ETR, per the issue's list. */
const MUST_SHOW: Record<string, (c: MessageContext) => string[]> = {
  'agent-new-ticket': (c) => [c.ticket.severityName, c.ticket.type, c.ticket.category, c.ticket.channel, c.customer.fullName, c.customer.email!, c.customer.phone!, DESCRIPTION, 'portal-caido', c.firstResponse!.date, c.deadlines.escalation!.date, c.deadlines.resolution!.date],
  'level-warning': (c) => [String(c.warning!.percent), c.warning!.escalatesAt.date, c.ticket.subject],
  'level-escalation': (c) => [c.escalation!.fromLevelName, c.escalation!.toLevelName, c.escalation!.reason, DESCRIPTION, 'Escalado a Operaciones', c.previousEtr!.date],
  'level-escalated-away': (c) => [c.escalation!.toLevelName],
  'customer-escalation': (c) => [c.previousEtr!.date, c.desk.phone],
  'customer-update': (c) => [c.ticket.stateName],
  'customer-etr-change': (c) => [c.previousEtr!.date, c.etr.reason!],
  'breach-notice': (c) => [c.breach!.kindName, c.breach!.dueAt.date, c.ticket.severityName, c.ticket.levelName, 'Escalado a Operaciones'],
};

describe('what each issue-3 moment says', () => {
  for (const locale of LOCALES) {
    for (const moment of ISSUE_3_MOMENTS) {
      it(`${locale}/${moment} shows its facts in text and html`, () => {
        const c = fullContext(locale);
        const m = renderer.render(locale, moment, c);
        for (const fact of MUST_SHOW[moment]!(c)) {
          expect(m.text, fact).toContain(fact);
          expect(m.html, fact).toContain(Handlebars.escapeExpression(fact));
        }
      });
    }

    it(`${locale}: customer messages end with the desk's signature and name no internal people`, () => {
      const c = fullContext(locale);
      for (const moment of ['customer-escalation', 'customer-update', 'customer-etr-change']) {
        const m = renderer.render(locale, moment, c);
        expect(m.text.trimEnd().endsWith(c.desk.portalUrl), moment).toBe(true);
        for (const body of [m.text, m.html!, m.sms!]) {
          for (const internal of [c.recipient.name, c.ticket.assignee!, c.escalation!.reason, c.escalation!.toLevelName]) {
            expect(body, `${moment}: ${internal}`).not.toContain(internal);
          }
          expect(body).not.toContain('DESCRIPCION-PRIVADA');
        }
      }
    });

    it(`${locale}: SMS stay short with the default desk`, () => {
      for (const moment of SMS_MOMENTS) {
        const sms = renderer.render(locale, moment, fullContext(locale)).sms!;
        expect(sms.length, `${moment}: ${sms}`).toBeLessThanOrEqual(320);
      }
    });
  }
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function templateDir(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mesa-every-moment-'));
  dirs.push(root);
  for (const [rel, source] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), source);
  }
  return root;
}

/** A moment that passes every check; each case below breaks one part of it. */
const GOOD: Record<string, string> = {
  'subject.hbs': '[{{ticket.key}}] {{ticket.subject}}',
  'text.hbs': '{{ticket.subject}}\nETR: {{etr.date}} ({{etr.span}})',
  'html.hbs': '<p>{{ticket.subject}}</p><p>ETR: {{etr.date}} ({{etr.span}})</p>',
  'sms.hbs': '{{ticket.key}} ETR: {{etr.date}}',
};

describe('the checker catches a broken template', () => {
  function check(over: Record<string, string | null>): string[] {
    const files: Record<string, string> = {};
    for (const [part, source] of Object.entries({ ...GOOD, ...over })) if (source !== null) files[`es-MX/prueba/${part}`] = source;
    const r = new TemplateRenderer(templateDir(files));
    const ctx = fullContext('es-MX');
    return problemsIn(r.render('es-MX', 'prueba', ctx), ctx);
  }

  it('passes the reference moment', () => {
    expect(check({})).toEqual([]);
  });

  it('reports a moment that omits the ETR in every part', () => {
    expect(check({
      'text.hbs': '{{ticket.subject}}',
      'html.hbs': '<p>{{ticket.subject}}</p>',
      'sms.hbs': '{{ticket.key}} Su caso sigue abierto.',
    })).toEqual([
      'ETR date missing from subject and text',
      'ETR span missing from subject and text',
      'ETR date missing from html',
      'ETR span missing from html',
      'ETR date missing from sms',
    ]);
  });

  it('accepts the ETR in the subject instead of the text', () => {
    expect(check({ 'subject.hbs': '[{{ticket.key}}] {{ticket.subject}} {{etr.date}} {{etr.span}}', 'text.hbs': '{{ticket.subject}}' })).toEqual([]);
  });

  it.each([
    ['an unescaped value in html', { 'html.hbs': '<p>{{{ticket.subject}}} {{etr.date}} ({{etr.span}})</p>' }, 'html contains a raw <script>'],
    ['html-escaping in text', { 'text.hbs': '{{ticket.subject}} &amp; {{etr.date}} ({{etr.span}})' }, 'text is HTML-escaped'],
    ['a literal mustache left in text', { 'text.hbs': '{{ticket.subject}} \\{{etr.date}} {{etr.date}} ({{etr.span}})' }, 'text has {{ or }} left'],
    ['an object printed in text', { 'text.hbs': '{{ticket.subject}} {{etr}} {{etr.date}} ({{etr.span}})' }, 'text shows "[object Object]"'],
    ['a missing value in parentheses', { 'text.hbs': '{{ticket.subject}} {{etr.date}} ({{etr.spam}}) {{etr.span}}' }, 'text shows "()"'],
    ['a subject without the key tag', { 'subject.hbs': '{{ticket.subject}} [{{ticket.key}}]' }, `subject does not start with [${KEY}]`],
    ['a text that drops the customer text', { 'text.hbs': 'ETR: {{etr.date}} ({{etr.span}})' }, 'text does not keep the customer text verbatim'],
    ['an email without html', { 'html.hbs': null }, 'email without html'],
    ['an SMS that does not start with the key', { 'sms.hbs': 'Ticket {{ticket.key}} ETR: {{etr.date}}' }, `sms does not start with ${KEY}`],
    ['an SMS that is too long', { 'sms.hbs': `{{ticket.key}} ETR: {{etr.date}} ${'x'.repeat(SMS_LIMIT)}` }, expect.stringMatching(/^sms is \d+ chars \(> 480\)$/)],
    ['an SMS that carries the description', { 'sms.hbs': '{{ticket.key}} {{etr.date}} {{ticket.description}}' }, 'sms carries the customer description'],
  ])('reports %s', (_name, over, expected) => {
    expect(check(over)).toContainEqual(expected);
  });

  it('reports a moment missing from a locale, and parts that differ between locales', () => {
    const files: Record<string, string> = {};
    for (const [part, source] of Object.entries(GOOD)) {
      files[`es-MX/prueba/${part}`] = source;
      files[`es-MX/solo-es/${part}`] = source;
      if (part !== 'sms.hbs') files[`en/prueba/${part}`] = source;
    }
    const r = new TemplateRenderer(templateDir(files));
    expect(localeGaps(r, fullContext)).toEqual(['prueba parts differ: en=subject+text+html es-MX=subject+text+html+sms', 'en/solo-es missing']);
  });
});

describe('previewTemplate', () => {
  const row: TicketRow = {
    id: 123, key: KEY, channel: 'email', mailbox: 'soportetecnico', contact_id: 7,
    subject: 'No carga el portal', description: 'Desde las 9:00 el portal marca error 500.',
    severity: 1, type: 'incidente', category: 'disponibilidad', level: 1, state: 'en_atencion',
    customer_channel: 'email', cc_json: '[]',
    classification_json: JSON.stringify({ severity: 1, reasons: [{ rule: 'portal-caido', weight: 3, matched: ['error 500', 'no carga el portal'], sets: {} }] }),
    etr_at: Date.parse('2026-03-11T07:00:00Z'),
    first_response_due_at: Date.parse('2026-03-11T03:15:00Z'),
    next_escalation_due_at: Date.parse('2026-03-11T03:30:00Z'),
    next_update_due_at: Date.parse('2026-03-11T04:00:00Z'),
    resolution_due_at: Date.parse('2026-03-11T07:00:00Z'),
    reopened_from_id: null, resolved_at: null,
    created_at: Date.parse('2026-03-11T03:00:00Z'), updated_at: Date.parse('2026-03-11T03:00:00Z'),
    level_since: Date.parse('2026-03-11T03:00:00Z'), warning_due_at: Date.parse('2026-03-11T03:24:00Z'),
    first_responded_at: null, first_response_breached_at: null, resolution_breached_at: null,
    paused_at: null, paused_remaining_json: null, paused_minutes: 0, last_customer_update_at: null,
    resolution_business_minutes: null, assignee: 'Ana Torres', next_action_at: Date.parse('2026-03-11T03:15:00Z'), organisation: null, terms_json: null, incident_id: null, report_words: null,
  };
  const contact: ContactRow = { id: 7, email: 'juan.perez@example.com', phone: '+525512345678', name: 'Juan Pérez', organisation: null };
  const now = new Date('2026-03-11T03:05:00Z');
  const preview = (moment: string, locale: Locale, part?: 'subject' | 'text' | 'html' | 'sms' | 'all', c: { contact: ContactRow | undefined } = { contact }): string =>
    previewTemplate({ renderer, policy, moment, locale, ticket: row, contact: c.contact, now, businessClock: clocks.business, part });

  for (const locale of LOCALES) {
    it(`${locale}: previews every moment with its parts and the ticket's ETR`, () => {
      const etrDate = formatInstant(new Date(row.etr_at), now, policy.desk.timeZone, locale);
      for (const moment of renderer.moments(locale)) {
        const out = preview(moment, locale);
        const m = renderer.render(locale, moment, {});
        expect(out, moment).toContain(etrDate);
        expect(out).not.toMatch(/\bundefined\b|\[object Object\]|\{\{/);
        if (m.subject !== '' && !SEVERAL_TICKETS.has(moment)) {
          expect(out).toContain(`Asunto: [${KEY}]`);
          expect(out).toContain('--- texto ---\n');
          expect(out).toContain('--- html ---\n<');
        }
        expect(out.includes('--- sms ---'), moment).toBe(m.sms !== null);
      }
    });
  }

  it('fills the samples from the ticket: rules, next escalation, contact, first-response breach', () => {
    const news = preview('agent-new-ticket', 'es-MX');
    expect(news).toContain('portal-caido: error 500, no carga el portal');
    expect(news).toContain('juan.perez@example.com');
    expect(news).toContain('Desde las 9:00 el portal marca error 500.');
    expect(news).toContain('Asignado a:   Ana Torres');
    const escalation = preview('level-escalation', 'es-MX', 'text');
    expect(escalation).toContain('se escaló de Mesa de Ayuda a Operaciones');
    expect(escalation).toContain('Nivel:        2 (Operaciones)');
    expect(preview('breach-notice', 'en', 'subject')).toBe(`[${KEY}] Missed first response deadline, severity 1 (Crítica)\n`);
    // Once answered, the first response can no longer be missed: the sample is the resolution.
    const answered = previewTemplate({ renderer, policy, moment: 'breach-notice', locale: 'en', ticket: { ...row, first_responded_at: row.created_at + 60_000 }, contact, now, businessClock: clocks.business, part: 'subject' });
    expect(answered).toBe(`[${KEY}] Missed resolution deadline, severity 1 (Crítica)\n`);
    expect(preview('level-warning', 'es-MX', 'subject')).toContain(`Aviso: ${policy.sla.warnAtPercent} % del tiempo de Mesa de Ayuda`);
  });

  it('returns one part alone, and refuses a part the moment lacks', () => {
    const sms = preview('customer-update', 'es-MX', 'sms');
    expect(sms.startsWith(`${KEY} `)).toBe(true);
    expect(sms).not.toContain('---');
    expect(preview('customer-update', 'es-MX', 'html').startsWith('<div')).toBe(true);
    expect(() => preview('level-escalated-away', 'es-MX', 'sms')).toThrow('has no sms part');
  });

  it('previews a ticket whose contact is gone', () => {
    const out = preview('agent-new-ticket', 'es-MX', 'text', { contact: undefined });
    expect(out).toContain('Cliente:      (sin nombre)');
    expect(out).not.toMatch(/undefined|null/);
  });

  it('an unknown moment throws and lists the available ones', () => {
    expect(() => preview('no-existe', 'en')).toThrow(/unknown moment "no-existe".*agent-new-ticket, .*level-warning/);
  });
});
