import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, it, expect } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import type { Locale } from '../../src/domain/policy.ts';
import { spellTicketKey, spokenInstant } from '../../src/domain/spoken.ts';
import { formatInstant, formatSpan } from '../../src/domain/time-format.ts';
import { messageContext } from '../../src/outbound/message-context.ts';
import { TemplateRenderer } from '../../src/outbound/template-renderer.ts';
import { VOICE_CONTEXT_PATHS, VoiceRenderer, type VoiceContext } from '../../src/outbound/voice-renderer.ts';

const TEMPLATES = join(import.meta.dirname, '../../templates');
const CDMX = 'America/Mexico_City';
const LOCALES: Locale[] = ['es-MX', 'en'];
const KEY = 'MDA-000123';
const OPEN_KEY = 'MDA-000077';
// Tuesday 10 March 2026, 21:00 in Mexico City: after hours.
const NOW = new Date('2026-03-11T03:00:00Z');
const ETR = new Date('2026-03-11T16:30:00Z');
const OPENS = new Date('2026-03-11T15:00:00Z');

/** The names the call flow speaks (issue 4), and its two answers while the database is down (issue 11). */
const NAMES = [
  'added-to-ticket', 'after-hours', 'ask-ticket-number', 'created', 'database-down', 'describe', 'fallback-no-ticket', 'fallback-with-ticket',
  'goodbye', 'greeting', 'held-message', 'incident-announcement', 'incident-joined', 'incident-no-number', 'menu', 'menu-retry', 'open-ticket-offer', 'record', 'ticket-status', 'ticket-unknown', 'ticket-unknown-final',
];

/** Every field filled; the desk name carries XML specials, which must reach TwiML unescaped. */
function fullContext(locale: Locale): Required<VoiceContext> & { ticket: NonNullable<VoiceContext['ticket']> } {
  return {
    desk: { name: 'PRODITMA Mesa de Ayuda & <Soporte>', phone: '+52 (55) 5280 1241' },
    ticket: {
      key: KEY,
      spokenKey: spellTicketKey(KEY, locale),
      state: 'en_atencion',
      stateName: locale === 'en' ? 'in progress' : 'en atención',
      severityName: 'Alta',
      etr: { spoken: spokenInstant(ETR, NOW, CDMX, locale), span: formatSpan(ETR, NOW, locale) },
    },
    caller: { isKnown: true, openTicket: { spokenKey: spellTicketKey(OPEN_KEY, locale) } },
    incident: { key: 'INC-0003', publicTitle: 'Portal de facturación sin servicio', etr: { spoken: spokenInstant(ETR, NOW, CDMX, locale), span: formatSpan(ETR, NOW, locale) } },
    attempt: 2,
    afterHours: true,
    opensAt: spokenInstant(OPENS, NOW, CDMX, locale),
  };
}

function leafPaths(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v !== null && typeof v === 'object' ? leafPaths(v as object, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

/** What is wrong with one spoken text; empty when it is fine. */
function problemsIn(text: string): string[] {
  const problems: string[] = [];
  if (text.trim() === '') problems.push('empty');
  if (/\{\{|\}\}/.test(text)) problems.push('{{ or }} left');
  const empty = /\bundefined\b|\bnull\b|\bNaN\b|\[object Object\]/.exec(text);
  if (empty) problems.push(`shows "${empty[0]}"`);
  if (/&(lt|gt|amp|quot|#x27);/.test(text)) problems.push('HTML-escaped');
  if (/\s{2,}|\n/.test(text) || text !== text.trim()) problems.push('whitespace not collapsed');
  // An empty value leaves its surrounding punctuation behind: "ticket ." or "número , ".
  if (/ [.,;:]|: [.,]|\.\./.test(text)) problems.push('punctuation around an empty value');
  return problems;
}

const renderer = new VoiceRenderer(TEMPLATES);

describe('the voice templates of templates/', () => {
  it('both locales have their own voice templates, with the same names, the ones the call flow uses', () => {
    expect(renderer.locales()).toEqual(['en', 'es-MX']);
    expect(renderer.names()).toEqual(NAMES);
  });

  it('VOICE_CONTEXT_PATHS lists exactly the fields of VoiceContext', () => {
    expect([...VOICE_CONTEXT_PATHS].sort()).toEqual(leafPaths(fullContext('es-MX')).sort());
  });

  for (const locale of LOCALES) {
    for (const name of NAMES) {
      it(`${locale}/${name} renders cleanly with a full context`, () => {
        const text = renderer.say(locale, name, fullContext(locale));
        expect(problemsIn(text)).toEqual([]);
      });
    }

    it(`${locale}: created says the spelled key twice and the spoken ETR with its span`, () => {
      const c = fullContext(locale);
      const text = renderer.say(locale, 'created', c);
      expect(text.split(c.ticket.spokenKey)).toHaveLength(3);
      expect(text).toContain(c.ticket.etr.spoken);
      expect(text).toContain(c.ticket.etr.span);
      expect(text).not.toContain(KEY);
    });

    it(`${locale}: ticket-status says the spelled key, the state and the ETR, and no ETR once resolved or closed`, () => {
      const c = fullContext(locale);
      const text = renderer.say(locale, 'ticket-status', c);
      for (const fact of [c.ticket.spokenKey, c.ticket.stateName, c.ticket.etr.spoken, c.ticket.etr.span]) expect(text).toContain(fact);
      for (const state of ['resuelto', 'cerrado']) {
        const done = renderer.say(locale, 'ticket-status', { ...c, ticket: { ...c.ticket, state, stateName: state } });
        expect(done).toContain(c.ticket.spokenKey);
        expect(done).not.toContain(c.ticket.etr.spoken);
        expect(problemsIn(done)).toEqual([]);
      }
    });

    it(`${locale}: the incident announcement says the public title and the spoken ETR, and offers the SMS`, () => {
      const c = fullContext(locale);
      const text = renderer.say(locale, 'incident-announcement', c);
      for (const fact of [c.incident.publicTitle, c.incident.etr.spoken, c.incident.etr.span]) expect(text).toContain(fact);
      expect(text).toMatch(locale === 'en' ? /press 1 .*text you/ : /marque 1 .*mensaje de texto/);
      expect(text).not.toContain('INC-0003');
    });

    it(`${locale}: the flow's facts reach the caller`, () => {
      const c = fullContext(locale);
      expect(renderer.say(locale, 'open-ticket-offer', c)).toContain(c.caller.openTicket!.spokenKey);
      expect(renderer.say(locale, 'ticket-unknown', c)).toMatch(/\b2\b.*\b3\b/);
      expect(renderer.say(locale, 'after-hours', c)).toContain(c.opensAt);
      for (const name of ['added-to-ticket', 'fallback-with-ticket']) expect(renderer.say(locale, name, c)).toContain(c.ticket.spokenKey);
      expect(renderer.say(locale, 'greeting', c)).toContain(c.desk.name);
    });

    it(`${locale}: after-hours reads cleanly without an opening time`, () => {
      const { opensAt: _, ...c } = fullContext(locale);
      const text = renderer.say(locale, 'after-hours', c);
      expect(problemsIn(text)).toEqual([]);
      expect(text).toMatch(locale === 'en' ? /as soon as we open\.$/ : /en cuanto abramos\.$/);
    });
  }

  it('the two locales say different things (no untranslated copy)', () => {
    for (const name of NAMES) expect(renderer.say('en', name, fullContext('en')), name).not.toBe(renderer.say('es-MX', name, fullContext('es-MX')));
  });

  it('an unknown name throws and lists the known ones', () => {
    expect(() => renderer.say('es-MX', 'no-existe', fullContext('es-MX'))).toThrow(/no voice template "no-existe"; known: added-to-ticket, .*goodbye, .*ticket-unknown-final/);
  });
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function templateDir(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mesa-voice-'));
  dirs.push(root);
  for (const [rel, source] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), source);
  }
  return root;
}

describe('VoiceRenderer construction and rendering', () => {
  const ctx: VoiceContext = { desk: { name: 'Mesa & <Co>', phone: '1' } };

  it('renders without escaping and on one line', () => {
    const r = new VoiceRenderer(templateDir({ 'es-MX/voice/hola.hbs': '  Hola,\n\n   {{desk.name}}.\n' }));
    expect(r.say('es-MX', 'hola', ctx)).toBe('Hola, Mesa & <Co>.');
  });

  it('falls back to es-MX for a locale without voice templates', () => {
    const r = new VoiceRenderer(templateDir({ 'es-MX/voice/hola.hbs': 'Hola', 'en/ack/sms.hbs': 'x' }));
    expect(r.locales()).toEqual(['es-MX']);
    expect(r.say('en', 'hola', ctx)).toBe('Hola');
  });

  it('ignores files that are not .hbs', () => {
    const r = new VoiceRenderer(templateDir({ 'es-MX/voice/hola.hbs': 'Hola', 'es-MX/voice/LEAME.txt': '{{' }));
    expect(r.names()).toEqual(['hola']);
  });

  it('names the file of a template that does not compile', () => {
    const dir = templateDir({ 'es-MX/voice/hola.hbs': 'Hola', 'es-MX/voice/menu.hbs': 'Marque {{#if desk}}1' });
    expect(() => new VoiceRenderer(dir)).toThrow(/^template es-MX\/voice\/menu\.hbs: /);
  });

  it('names the file and the value of a misspelt field', () => {
    const dir = templateDir({ 'es-MX/voice/created.hbs': 'Su ticket es {{ticket.spokenkey}}.' });
    expect(() => new VoiceRenderer(dir)).toThrow(/^template es-MX\/voice\/created\.hbs: unknown value \{\{ticket\.spokenkey\}\}; known: desk\.name/);
  });

  it('accepts every known field, sections on their parents, @root and the eq/or helpers', () => {
    const source = VOICE_CONTEXT_PATHS.map((p) => `{{${p}}}`).join(' ')
      + ' {{#if caller.openTicket}}a{{/if}} {{#ticket}}{{key}}{{/ticket}} {{@root.desk.name}} {{#if (or (eq attempt 2) afterHours)}}b{{/if}}'
      + ' {{#with ticket}}{{anything}}{{/with}}';
    const r = new VoiceRenderer(templateDir({ 'es-MX/voice/todo.hbs': source }));
    expect(r.say('es-MX', 'todo', { desk: { name: 'D', phone: 'P' }, caller: { isKnown: false, openTicket: { spokenKey: 'K' } }, attempt: 2 })).toBe('D P false K 2 a D b');
  });

  it('refuses an unknown helper and partials', () => {
    expect(() => new VoiceRenderer(templateDir({ 'es-MX/voice/x.hbs': '{{#ifEquals attempt 2}}a{{/ifEquals}}' }))).toThrow(/x\.hbs: unknown helper "ifEquals"/);
    expect(() => new VoiceRenderer(templateDir({ 'es-MX/voice/x.hbs': '{{> firma}}' }))).toThrow(/x\.hbs: partials are not supported/);
  });

  it('refuses a locale that lacks a name another locale has, naming the missing files', () => {
    const dir = templateDir({
      'es-MX/voice/hola.hbs': 'Hola', 'es-MX/voice/adios.hbs': 'Adiós',
      'en/voice/hola.hbs': 'Hello', 'en/voice/extra.hbs': 'Extra',
    });
    expect(() => new VoiceRenderer(dir)).toThrow('voice templates missing (another locale has them): en/voice/adios.hbs, es-MX/voice/extra.hbs');
  });

  it('refuses a template set without es-MX, the fallback', () => {
    expect(() => new VoiceRenderer(templateDir({ 'en/voice/hello.hbs': 'Hello' }))).toThrow(/es-MX\/voice is missing/);
  });

  it('the real templates still fail when one of them breaks', () => {
    const root = mkdtempSync(join(tmpdir(), 'mesa-voice-real-'));
    dirs.push(root);
    for (const l of LOCALES) cpSync(join(TEMPLATES, l, 'voice'), join(root, l, 'voice'), { recursive: true });
    expect(() => new VoiceRenderer(root)).not.toThrow();
    writeFileSync(join(root, 'en', 'voice', 'created.hbs'), 'Your ticket {{ticket.spokenKey}');
    expect(() => new VoiceRenderer(root)).toThrow(/^template en\/voice\/created\.hbs: /);
    rmSync(join(root, 'en', 'voice', 'created.hbs'));
    expect(() => new VoiceRenderer(root)).toThrow('en/voice/created.hbs');
  });
});

describe('ack-phone SMS', () => {
  const policy = loadConfig(join(import.meta.dirname, '../../config'));
  // Only the ack-phone moment, so this does not depend on the rest of templates/.
  const root = mkdtempSync(join(tmpdir(), 'mesa-ack-phone-'));
  for (const l of LOCALES) cpSync(join(TEMPLATES, l, 'ack-phone'), join(root, l, 'ack-phone'), { recursive: true });
  const sms = new TemplateRenderer(root);
  rmSync(root, { recursive: true, force: true });

  for (const locale of LOCALES) {
    it(`${locale}: starts with the key, carries the ETR date and span and the desk phone, within 320 characters`, () => {
      const c = messageContext({
        policy, locale, now: NOW, customerName: 'Juan Pérez',
        ticket: {
          key: KEY, subject: 'Llamada', description: 'DESCRIPCION-PRIVADA', severity: 2, type: 'incidente', category: 'disponibilidad',
          level: 1, state: 'nuevo', channel: 'phone', etrAt: ETR, firstResponseDueAt: null,
        },
      });
      const m = sms.render(locale, 'ack-phone', c);
      expect(m.subject).toBe('');
      expect(m.sms).not.toBeNull();
      const text = m.sms!;
      expect(text.startsWith(`${KEY} `)).toBe(true);
      for (const fact of [formatInstant(ETR, NOW, policy.desk.timeZone, locale), c.etr.span, policy.desk.phone]) expect(text).toContain(fact);
      expect(text.length, text).toBeLessThanOrEqual(320);
      expect(text).not.toContain('DESCRIPCION-PRIVADA');
      expect(text).not.toMatch(/\{\{|undefined|null|\[object Object\]/);
    });
  }
});
