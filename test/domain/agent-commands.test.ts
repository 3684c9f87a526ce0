import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseAgentReply, parseEtr, COMMAND_HELP } from '../../src/domain/agent-commands.ts';
import type { AgentCommand, AgentReplyContext } from '../../src/domain/agent-commands.ts';
import { visibleText } from '../../src/domain/visible-text.ts';
import { BusinessCalendar, DEFAULT_CALENDAR } from '../../src/domain/business-time.ts';
import { formatInstant } from '../../src/domain/time-format.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'agent-replies');

/** Monday 23 November 2026, 10:20 in Mexico City (UTC−6, no DST since 2022). */
const NOW = new Date('2026-11-23T16:20:00Z');
const ZONE = 'America/Mexico_City';
const calendar = new BusinessCalendar(DEFAULT_CALENDAR);
const CTX: AgentReplyContext = {
  now: NOW,
  timeZone: ZONE,
  addBusinessMinutes: (from, minutes) => calendar.addBusinessMinutes(from, minutes),
};

function parse(text: string, ctx: AgentReplyContext = CTX) {
  return parseAgentReply(text, ctx);
}

/** The single command of a one-command reply, or a failure that shows the errors. */
function only(text: string, ctx: AgentReplyContext = CTX): AgentCommand {
  const res = parse(text, ctx);
  expect(res.errors).toEqual([]);
  expect(res.commands).toHaveLength(1);
  return res.commands[0] as AgentCommand;
}

function problems(text: string, ctx: AgentReplyContext = CTX): string[] {
  return parse(text, ctx).errors.map((e) => e.problem);
}

function etrAt(value: string, ctx: AgentReplyContext = CTX): string {
  const res = parseEtr(value, ctx);
  if ('problem' in res) throw new Error(`#etr ${value}: ${res.problem}`);
  return res.at.toISOString();
}

function etrProblem(value: string, ctx: AgentReplyContext = CTX): string {
  const res = parseEtr(value, ctx);
  if (!('problem' in res)) throw new Error(`#etr ${value} parsed as ${res.at.toISOString()}`);
  return res.problem;
}

// ---------------------------------------------------------------------------------------------

/**
 * Each fixture is a reply as an agent's client sends it: `<name>.txt` (plain part), `<name>.html`
 * (HTML part) or both, beside `<name>.expected.json` with what the parser must return (Dates as
 * ISO strings). The reply goes through `visibleText` first, as the desk does.
 */
function fixtureNames(): string[] {
  const names = new Set<string>();
  for (const f of readdirSync(FIXTURES)) {
    const m = /^(.*)\.(txt|html)$/.exec(f);
    if (m?.[1] !== undefined) names.add(m[1]);
  }
  return [...names].sort();
}

function loadFixture(name: string): { text: string; html: string | null; expected: unknown } {
  const read = (ext: string): string | null => {
    const p = join(FIXTURES, `${name}${ext}`);
    return existsSync(p) ? readFileSync(p, 'utf8') : null;
  };
  const expected = read('.expected.json');
  if (expected === null) throw new Error(`fixture ${name} has no .expected.json`);
  return { text: read('.txt') ?? '', html: read('.html'), expected: JSON.parse(expected) };
}

describe('parseAgentReply — replies from real clients (test/fixtures/agent-replies)', () => {
  const names = fixtureNames();

  it('has the fixtures the issue asks for', () => {
    expect(names.length).toBeGreaterThanOrEqual(15);
    // HTML-only bodies are part of the table.
    expect(names.filter((n) => !existsSync(join(FIXTURES, `${n}.txt`))).length).toBeGreaterThanOrEqual(3);
  });

  it.each(names)('%s', (name) => {
    const { text, html, expected } = loadFixture(name);
    const parsed = parseAgentReply(visibleText({ text, html }).text, CTX);
    expect(JSON.parse(JSON.stringify(parsed))).toEqual(expected);
    // Whatever else happens, the customer never gets the agent's reply address nor the history,
    // and command lines are never left at the top of what is relayed.
    expect(parsed.publicText).not.toContain('mesa+r.');
    expect(parsed.publicText).not.toMatch(/^\s*#\p{L}/u);
  });
});

// ---------------------------------------------------------------------------------------------

describe('each command, Spanish word and English alias', () => {
  it.each<[string, AgentCommand]>([
    ['#nota', { kind: 'note' }],
    ['#note', { kind: 'note' }],
    ['#severidad 1', { kind: 'severity', severity: 1 }],
    ['#severity 4', { kind: 'severity', severity: 4 }],
    ['#severidad: 3', { kind: 'severity', severity: 3 }],
    ['#severidad2', { kind: 'severity', severity: 2 }],
    ['#escalar', { kind: 'escalate', level: null }],
    ['#escalate', { kind: 'escalate', level: null }],
    ['#escalar 2', { kind: 'escalate', level: 2 }],
    ['#escalate 3', { kind: 'escalate', level: 3 }],
    ['#escalar nivel 3', { kind: 'escalate', level: 3 }],
    ['#escalar a N2', { kind: 'escalate', level: 2 }],
    ['#asignar Luis Hernández', { kind: 'assign', who: 'Luis Hernández' }],
    ['#assign Kevin Walsh', { kind: 'assign', who: 'Kevin Walsh' }],
    ['#asignar a Ana Torres', { kind: 'assign', who: 'Ana Torres' }],
    ['#assign to @kwalsh', { kind: 'assign', who: 'kwalsh' }],
    ['#pendiente', { kind: 'pending' }],
    ['#pending', { kind: 'pending' }],
    ['#resuelto', { kind: 'resolved' }],
    ['#resolved', { kind: 'resolved' }],
    ['#cerrar', { kind: 'close' }],
    ['#close', { kind: 'close' }],
    ['#reabrir', { kind: 'reopen' }],
    ['#reopen', { kind: 'reopen' }],
    ['#nota:', { kind: 'note' }],
    ['#resuelto.', { kind: 'resolved' }],
  ])('%s', (line, expected) => {
    expect(only(line)).toEqual(expected);
  });

  it('#etr keeps the value as written and the instant it means', () => {
    expect(only('#etr 4h')).toEqual({ kind: 'etr', at: new Date('2026-11-23T20:20:00Z'), text: '4h' });
    expect(only('#ETR   Mañana   10:00')).toEqual({ kind: 'etr', at: new Date('2026-11-24T16:00:00Z'), text: 'Mañana 10:00' });
  });
});

describe('#categoria and #organizacion', () => {
  const ctx: AgentReplyContext = { ...CTX, categories: ['seguridad', 'tecnico'], organisations: [{ id: 'bnorte', name: 'Banco del Norte' }] };
  it('take a known category, an organisation by id or name, or none', () => {
    expect(only('#categoria Seguridad', ctx)).toEqual({ kind: 'category', category: 'seguridad' });
    expect(only('#category tecnico', ctx)).toEqual({ kind: 'category', category: 'tecnico' });
    expect(only('#organización Banco del Norte', ctx)).toEqual({ kind: 'organisation', organisation: 'bnorte' });
    expect(only('#organization bnorte', ctx)).toEqual({ kind: 'organisation', organisation: 'bnorte' });
    expect(only('#organizacion ninguna', ctx)).toEqual({ kind: 'organisation', organisation: null });
  });
  it('refuse what the config does not name, saying what exists', () => {
    expect(problems('#categoria pagos', ctx)).toEqual(['«pagos» no es una categoría conocida (hay: seguridad, tecnico).']);
    expect(problems('#organizacion Banco del Sur', ctx)).toEqual(['«Banco del Sur» no es una organización configurada (hay: Banco del Norte).']);
    expect(problems('#organizacion', ctx)).toEqual(['Falta la organización: #organizacion NOMBRE (o #organizacion ninguna).']);
    expect(problems('#categoria', ctx)).toEqual(['Falta la categoría: #categoria NOMBRE.']);
  });
});

describe('case and accents do not matter', () => {
  it.each<[string, AgentCommand['kind']]>([
    ['#Nota', 'note'],
    ['#NOTA', 'note'],
    ['#SEVERIDAD 2', 'severity'],
    ['#resuélto', 'resolved'],
    ['#Resuelto', 'resolved'],
    ['#Escalar 3', 'escalate'],
    ['#Pendiénte', 'pending'],
    ['#CERRAR', 'close'],
    ['#ReAbrir', 'reopen'],
    ['#Asignar Ana', 'assign'],
    // Decomposed accent (NFD), as some Mac clients send it.
    ['#resue\u0301lto', 'resolved'],
  ])('%s', (line, kind) => {
    expect(only(line).kind).toBe(kind);
  });

  it('keeps the name in #asignar as written (the directory lookup decides)', () => {
    expect(only('#ASIGNAR José Ángel Núñez')).toEqual({ kind: 'assign', who: 'José Ángel Núñez' });
  });

  it('reads commands through invisible characters, no-break spaces and a full-width #', () => {
    expect(only('\u200b#nota\u200b')).toEqual({ kind: 'note' });
    expect(only('#severidad\u00a02')).toEqual({ kind: 'severity', severity: 2 });
    expect(only('\uff03reabrir')).toEqual({ kind: 'reopen' });
    expect(only('*#nota*')).toEqual({ kind: 'note' });
    expect(only('# nota')).toEqual({ kind: 'note' });
  });
});

describe('where commands are', () => {
  it('takes commands at the top and the rest as public text, trimmed', () => {
    const res = parse('\n\n  \n#etr 4h\n\n#severidad 2\n\nBuen día, ya quedó.\n\nSaludos\n\n');
    expect(res.commands.map((c) => c.kind)).toEqual(['etr', 'severity']);
    expect(res.errors).toEqual([]);
    expect(res.publicText).toBe('Buen día, ya quedó.\n\nSaludos');
  });

  it('handles CRLF line ends', () => {
    const res = parse('#nota\r\nLlamé al cliente.\r\nNo contestó.\r\n');
    expect(res.commands).toEqual([{ kind: 'note' }]);
    expect(res.publicText).toBe('Llamé al cliente.\nNo contestó.');
  });

  it('gives an empty public text when the reply is only commands', () => {
    expect(parse('#resuelto\n').publicText).toBe('');
  });

  it('without commands the whole text is public', () => {
    const res = parse('  Hola, ya quedó.\n\nSaludos  ');
    expect(res).toEqual({ commands: [], errors: [], publicText: 'Hola, ya quedó.\n\nSaludos' });
  });

  it('stops at the first line of text: later hashtags are prose', () => {
    const res = parse('#etr 2h\nEl error #404 persiste.\n#nota\n#cerrar');
    expect(res.commands).toEqual([{ kind: 'etr', at: new Date('2026-11-23T18:20:00Z'), text: '2h' }]);
    expect(res.errors).toEqual([]);
    expect(res.publicText).toBe('El error #404 persiste.\n#nota\n#cerrar');
  });

  it('a greeting before a command makes it text, not a command', () => {
    const res = parse('Hola equipo,\n#nota\nrevisar mañana');
    expect(res.commands).toEqual([]);
    expect(res.errors).toEqual([]);
  });

  it('a # followed by a number at the top is a ticket or error number, not a command', () => {
    expect(parse('#4821 ya quedó resuelto.')).toEqual({ commands: [], errors: [], publicText: '#4821 ya quedó resuelto.' });
    expect(parse('# 4821 ya quedó.').errors).toEqual([]);
  });

  it('a full body with quoted history: commands in the quote are not read', () => {
    const body = [
      'Gracias, lo reviso con el proveedor.',
      '',
      '> El 23 nov 2026, a las 10:05, Pedro Salas escribió:',
      '> #nota',
      '> #cerrar',
    ].join('\n');
    const res = parse(body);
    expect(res.commands).toEqual([]);
    expect(res.errors).toEqual([]);
    expect(res.publicText).toBe(body);
  });

  it('a full body whose reply has commands: only the top ones count', () => {
    const body = '#pendiente\n¿Me envía la foto?\n\nDe: Mesa PRODITMA\nAsunto: [MDA-000123]\n\n#cerrar\n#severidad 9';
    const res = parse(body);
    expect(res.commands).toEqual([{ kind: 'pending' }]);
    expect(res.errors).toEqual([]);
  });
});

describe('combining commands', () => {
  it('one per line, in the order written', () => {
    const res = parse('#asignar Ana Torres\n#escalar 2\n#severidad 1\n#etr hoy 18:00\n#nota\nSeguimiento interno.');
    expect(res.errors).toEqual([]);
    expect(res.commands).toEqual([
      { kind: 'assign', who: 'Ana Torres' },
      { kind: 'escalate', level: 2 },
      { kind: 'severity', severity: 1 },
      { kind: 'etr', at: new Date('2026-11-24T00:00:00Z'), text: 'hoy 18:00' },
      { kind: 'note' },
    ]);
    expect(res.publicText).toBe('Seguimiento interno.');
  });

  it('several on one line separated by spaces', () => {
    const res = parse('#nota #pendiente\nEsperamos al técnico.');
    expect(res.commands).toEqual([{ kind: 'note' }, { kind: 'pending' }]);
    expect(parse('#asignar Luis Hernández #severidad 2 #etr mañana 10:00').commands).toEqual([
      { kind: 'assign', who: 'Luis Hernández' },
      { kind: 'severity', severity: 2 },
      { kind: 'etr', at: new Date('2026-11-24T16:00:00Z'), text: 'mañana 10:00' },
    ]);
  });

  it('the same command twice with the same value counts once', () => {
    const res = parse('#nota\n#Nota\n#severidad 2\n#SEVERITY 2');
    expect(res.errors).toEqual([]);
    expect(res.commands).toEqual([{ kind: 'note' }, { kind: 'severity', severity: 2 }]);
  });

  it('the same command with different values is an error', () => {
    const res = parse('#severidad 2\n#severidad 3');
    expect(res.errors).toEqual([{ line: '#severidad 3', problem: '#severidad aparece dos veces con valores distintos.' }]);
    expect(problems('#etr 4h\n#etr mañana 10:00')).toEqual(['#etr aparece dos veces con valores distintos.']);
    expect(problems('#asignar Ana\n#asignar Luis')).toHaveLength(1);
  });

  it('only one change of state per reply', () => {
    expect(problems('#resuelto\n#reabrir')).toEqual([
      '#resuelto y #reabrir no pueden ir en la misma respuesta: elija un solo cambio de estado.',
    ]);
    expect(problems('#pendiente #cerrar')).toHaveLength(1);
    expect(problems('#nota\n#pendiente\n#etr 2h\n#severidad 3')).toEqual([]);
  });
});

describe('errors: nothing is to be applied and the agent is told why', () => {
  it.each<[string, RegExp]>([
    ['#urgente', /«#urgente» no es un comando de Mesa\.$/],
    ['#resulto', /¿Quiso decir #resuelto\?/],
    ['#pend', /¿Quiso decir #pendiente\?/],
    ['#severity', /Falta el número/],
    ['#severidad 7', /«7» no es una severidad: debe ser 1, 2, 3 o 4/],
    ['#severidad 0', /no es una severidad/],
    ['#severidad alta', /no es una severidad/],
    ['#escalar 5', /«5» no es un nivel/],
    ['#escalar 1', /no es un nivel/],
    ['#escalar pronto', /no es un nivel/],
    ['#asignar', /Falta a quién/],
    ['#nota llamé al cliente', /#nota no lleva valor; escriba el texto en una línea aparte/],
    ['#resuelto se cambió el disco', /#resuelto no lleva valor/],
    ['#etr', /Falta el valor/],
    ['#etr ayer', /ya pasó/],
    ['#etr ayer 10:00', /ya pasó/],
    ['#etr pronto', /No entiendo/],
    ['#!', /Después de «#» debe ir el nombre de un comando/],
  ])('%s', (line, problem) => {
    const res = parse(`${line}\nTexto para el cliente.`);
    expect(res.commands).toEqual([]);
    expect(res.errors).toHaveLength(1);
    expect(res.errors[0]?.line).toBe(line);
    expect(res.errors[0]?.problem).toMatch(problem);
    expect(res.publicText).toBe('Texto para el cliente.');
  });

  it('reports the bad segment and still lists the good commands', () => {
    const res = parse('#nota #severidad 9 #etr 4h');
    expect(res.errors).toEqual([{ line: '#severidad 9', problem: '«9» no es una severidad: debe ser 1, 2, 3 o 4.' }]);
    expect(res.commands.map((c) => c.kind)).toEqual(['note', 'etr']);
  });

  it('never throws, whatever it gets', () => {
    expect(() => parseAgentReply(undefined as unknown as string, CTX)).not.toThrow();
    expect(parseAgentReply(null as unknown as string, CTX)).toEqual({ commands: [], errors: [], publicText: '' });
    const bad = { now: new Date(NaN), timeZone: 'Nowhere/Else' };
    expect(problems('#etr 4h', bad)[0]).toMatch(/hora de referencia/);
    const throwing: AgentReplyContext = { ...CTX, addBusinessMinutes: () => { throw new Error('boom'); } };
    expect(problems('#etr 2dh', throwing)[0]).toMatch(/No se pudo calcular el tiempo hábil/);
  });

  it('stays fast and bounded on hostile input', () => {
    const long = `#etr ${'1'.repeat(200_000)}h`;
    const started = performance.now();
    const res = parse(`${long}\n${'#nota x\n'.repeat(5000)}`);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(res.errors.length).toBeLessThanOrEqual(20);
    expect(res.errors[0]?.problem).toMatch(/demasiado larga/);
    expect(res.errors[0]?.line.length).toBeLessThan(80);
  });

  it('text without a leading # is returned whole and untouched (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        fc.pre(!/^[\s\u200b-\u200f\u2060\ufeff\u00ad*]*[#\uff03]/mu.test(s));
        const res = parseAgentReply(s, CTX);
        return res.commands.length === 0 && res.errors.length === 0 && res.publicText === s.replace(/\r\n?/g, '\n').trim();
      }),
    );
  });

  it('never throws on arbitrary command-looking lines (property)', () => {
    const word = fc.constantFrom('#etr', '#severidad', '#escalar', '#asignar', '#nota', '#x', '#');
    fc.assert(
      fc.property(word, fc.string({ maxLength: 40 }), (w, rest) => {
        const res = parseAgentReply(`${w} ${rest}\nTexto`, CTX);
        return Array.isArray(res.commands) && Array.isArray(res.errors) && typeof res.publicText === 'string';
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('#etr durations (now = Monday 23 Nov 2026, 10:20 Mexico City)', () => {
  it.each<[string, string]>([
    ['4h', '2026-11-23T20:20:00.000Z'],
    ['90m', '2026-11-23T17:50:00.000Z'],
    ['30 min', '2026-11-23T16:50:00.000Z'],
    ['1h30m', '2026-11-23T17:50:00.000Z'],
    ['1h 30m', '2026-11-23T17:50:00.000Z'],
    ['1,5 horas', '2026-11-23T17:50:00.000Z'],
    ['1.5h', '2026-11-23T17:50:00.000Z'],
    ['4 hrs', '2026-11-23T20:20:00.000Z'],
    ['2d', '2026-11-25T16:20:00.000Z'],
    ['2 días', '2026-11-25T16:20:00.000Z'],
    ['1 day 2 hours', '2026-11-24T18:20:00.000Z'],
    ['4h.', '2026-11-23T20:20:00.000Z'],
  ])('%s', (value, iso) => {
    expect(etrAt(value)).toBe(iso);
  });

  // Business days are 540 business minutes on the ticket's clock (Mon–Fri 09:00–18:00).
  it.each<[string, string]>([
    // Mon 10:20 + 3 × 540 min: 460 today, 540 Tue, 540 Wed, 80 Thu → Thu 10:20.
    ['3dh', '2026-11-26T16:20:00.000Z'],
    ['3bd', '2026-11-26T16:20:00.000Z'],
    ['3 días hábiles', '2026-11-26T16:20:00.000Z'],
    ['1 business day', '2026-11-24T16:20:00.000Z'],
    // 8 business hours: 460 min today, 20 more on Tuesday → Tue 09:20.
    ['8hh', '2026-11-24T15:20:00.000Z'],
    ['8 horas hábiles', '2026-11-24T15:20:00.000Z'],
  ])('%s (business)', (value, iso) => {
    expect(etrAt(value)).toBe(iso);
  });

  it('business days go through ctx.addBusinessMinutes with 540 minutes a day', () => {
    const calls: Array<[string, number]> = [];
    const ctx: AgentReplyContext = {
      now: NOW,
      timeZone: ZONE,
      addBusinessMinutes: (from, minutes) => {
        calls.push([from.toISOString(), minutes]);
        return new Date(from.getTime() + 1000);
      },
    };
    etrAt('2bd', ctx);
    expect(calls).toEqual([[NOW.toISOString(), 1080]]);
  });

  it('business units without a business clock are an error', () => {
    expect(etrProblem('3dh', { now: NOW, timeZone: ZONE })).toMatch(/no tiene calendario hábil/);
  });

  it.each<[string, RegExp]>([
    ['0h', /mayor que cero/],
    ['400d', /más de un año/],
    ['1dh 2h', /No combine tiempo hábil con tiempo natural/],
    ['-2h', /No entiendo/],
    ['14', /«14» es ambiguo: escriba 14h para una duración o 14:00 para una hora/],
  ])('%s is an error', (value, problem) => {
    expect(etrProblem(value)).toMatch(problem);
  });
});

describe('#etr dates and times (wall clock in ctx.timeZone, day first)', () => {
  it.each<[string, string]>([
    ['2026-12-01 14:00', '2026-12-01T20:00:00.000Z'],
    ['2026-12-01T14:00', '2026-12-01T20:00:00.000Z'],
    ['2026\u201112\u201101 14:00', '2026-12-01T20:00:00.000Z'],
    ['01/12/2026 14:00', '2026-12-01T20:00:00.000Z'],
    ['1/12/26 14:00', '2026-12-01T20:00:00.000Z'],
    ['1-12-2026 14:00', '2026-12-01T20:00:00.000Z'],
    ['1/12 14:00', '2026-12-01T20:00:00.000Z'],
    ['1/12 2 pm', '2026-12-01T20:00:00.000Z'],
    ['1 de diciembre 14:00', '2026-12-01T20:00:00.000Z'],
    ['1 dic. 14:00 hrs', '2026-12-01T20:00:00.000Z'],
    ['1 de diciembre de 2026, 14:00', '2026-12-01T20:00:00.000Z'],
    ['dec 1 2pm', '2026-12-01T20:00:00.000Z'],
    ['hoy 18:00', '2026-11-24T00:00:00.000Z'],
    ['hoy a las 6 p. m.', '2026-11-24T00:00:00.000Z'],
    ['today 6pm', '2026-11-24T00:00:00.000Z'],
    ['18:00', '2026-11-24T00:00:00.000Z'],
    ['2:30 p.m.', '2026-11-23T20:30:00.000Z'],
    ['mañana 10:00', '2026-11-24T16:00:00.000Z'],
    ['manana 10', '2026-11-24T16:00:00.000Z'],
    ['mañana a las 9:30 am', '2026-11-24T15:30:00.000Z'],
    ['tomorrow 10am', '2026-11-24T16:00:00.000Z'],
    ['pasado mañana 12:00', '2026-11-25T18:00:00.000Z'],
    ['mañana mediodía', '2026-11-24T18:00:00.000Z'],
    // 12 am is midnight, 12 pm noon.
    ['mañana 12 am', '2026-11-24T06:00:00.000Z'],
    ['mañana 12 pm', '2026-11-24T18:00:00.000Z'],
    // Weekdays: the nearest one still ahead, today included.
    ['lunes 11:00', '2026-11-23T17:00:00.000Z'],
    ['lunes 9:00', '2026-11-30T15:00:00.000Z'],
    ['el viernes 12:00', '2026-11-27T18:00:00.000Z'],
    ['vie 17:30', '2026-11-27T23:30:00.000Z'],
    // The form Mesa writes in its own messages, pasted back.
    ['lunes 30 de noviembre, 13:00 h (hora del centro)', '2026-11-30T19:00:00.000Z'],
  ])('%s', (value, iso) => {
    expect(etrAt(value)).toBe(iso);
  });

  it('a day and month without a year is this year, or next year for a date already gone', () => {
    const december = { ...CTX, now: new Date('2026-12-20T18:00:00Z') };
    expect(etrAt('5/1 10:00', december)).toBe('2027-01-05T16:00:00.000Z');
    expect(etrAt('5 de enero 10:00', december)).toBe('2027-01-05T16:00:00.000Z');
    // Two weeks ago is a typo, not an estimate eleven months away.
    expect(etrProblem('10/11 10:00')).toMatch(/ya pasó/);
    // Today at a time already gone is not next year either.
    expect(etrProblem('23/11 09:00')).toMatch(/ya pasó/);
  });

  it.each<[string, RegExp]>([
    ['hoy 9:00', /«hoy 9:00» ya pasó: el ETR debe ser una hora futura/],
    ['2026-11-20 10:00', /ya pasó/],
    ['01/12/2028 10:00', /más de un año/],
    ['31/02/2027 10:00', /31\/2\/2027 no es una fecha válida/],
    ['1/13 10:00', /no es una fecha válida/],
    ['mañana', /Falta la hora/],
    ['1/12', /Falta la hora/],
    ['mañana 25:00', /no es una hora válida/],
    ['mañana 13 pm', /no es una hora válida/],
    ['martes 30 de noviembre 13:00', /El 30\/11\/2026 es lunes, no martes/],
    ['mañana temprano', /No entiendo «temprano»/],
  ])('%s is an error', (value, problem) => {
    expect(etrProblem(value)).toMatch(problem);
  });

  it('reads the wall clock in ctx.timeZone', () => {
    const tijuana = { ...CTX, timeZone: 'America/Tijuana' };
    expect(etrAt('mañana 10:00', tijuana)).toBe('2026-11-24T18:00:00.000Z');
    // "hora del centro" names Mexico City whatever the desk's zone.
    expect(etrAt('mañana 10:00 hora del centro', tijuana)).toBe('2026-11-24T16:00:00.000Z');
    // An unknown zone falls back to Mexico City instead of failing.
    expect(etrAt('mañana 10:00', { ...CTX, timeZone: 'Mars/Olympus' })).toBe('2026-11-24T16:00:00.000Z');
  });

  it('a wall-clock time skipped by a daylight-saving jump is an error', () => {
    const newYork = { ...CTX, timeZone: 'America/New_York' };
    expect(etrProblem('14/03/2027 02:30', newYork)).toMatch(/no existen ese día por el cambio de horario/);
    expect(etrAt('14/03/2027 03:30', newYork)).toBe('2027-03-14T07:30:00.000Z');
  });

  it('reads back every date Mesa writes in its messages (es-MX and en)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 360 * 24 * 60 }), fc.constantFrom('es-MX' as const, 'en' as const), (minutes, locale) => {
        const at = new Date(NOW.getTime() + minutes * 60_000);
        at.setUTCSeconds(0, 0);
        fc.pre(at.getTime() > NOW.getTime());
        const written = formatInstant(at, NOW, ZONE, locale);
        return etrAt(written) === at.toISOString();
      }),
      { numRuns: 300 },
    );
  });
});

describe('COMMAND_HELP', () => {
  it('lists every command in both languages', () => {
    for (const word of ['nota', 'severidad', 'etr', 'escalar', 'asignar', 'pendiente', 'resuelto', 'cerrar', 'reabrir']) {
      expect(COMMAND_HELP['es-MX']).toMatch(new RegExp(`^#${word}\\b`, 'm'));
    }
    for (const word of ['note', 'severity', 'etr', 'escalate', 'assign', 'pending', 'resolved', 'close', 'reopen']) {
      expect(COMMAND_HELP.en).toMatch(new RegExp(`^#${word}\\b`, 'm'));
    }
  });

  it.each(['es-MX', 'en'] as const)('every #etr example in the %s help is accepted', (locale) => {
    const line = COMMAND_HELP[locale].split('\n').find((l) => l.startsWith('#etr')) ?? '';
    const list = line.slice(line.lastIndexOf(': ') + 2).replace(/\s*\([^)]*\)/g, '').replace(/\.$/, '');
    const examples = list.split(/, | o | or /);
    expect(examples.length).toBeGreaterThanOrEqual(10);
    for (const example of examples) {
      const res = parseAgentReply(`#etr ${example}\nTexto`, CTX);
      expect(res.errors, example).toEqual([]);
      expect(res.commands[0]?.kind, example).toBe('etr');
    }
  });
});

describe('major incident commands (issue 13)', () => {
  const TICKET: AgentReplyContext = { ...CTX, ticketPrefix: 'MDA' };
  const INCIDENT: AgentReplyContext = { ...CTX, ticketPrefix: 'MDA', target: 'incident' };

  it('reads #incidente mayor, #vincular and #desvincular on a ticket, keys normalised', () => {
    expect(only('#incidente mayor', TICKET)).toEqual({ kind: 'major_incident' });
    expect(only('#Incidente', TICKET)).toEqual({ kind: 'major_incident' });
    expect(only('#major incident', TICKET)).toEqual({ kind: 'major_incident' });
    expect(only('#vincular inc-1', TICKET)).toEqual({ kind: 'link', keys: ['INC-0001'] });
    expect(only('#vincular [MDA-123]', TICKET)).toEqual({ kind: 'link', keys: ['MDA-000123'] });
    expect(only('#link MDA-000123.', TICKET)).toEqual({ kind: 'link', keys: ['MDA-000123'] });
    expect(only('#desvincular', TICKET)).toEqual({ kind: 'unlink', keys: [] });
  });

  it('refuses what makes no sense on a ticket', () => {
    expect(problems('#vincular', TICKET)[0]).toMatch(/^#vincular lleva un incidente/);
    expect(problems('#vincular INC-1 INC-2', TICKET)[0]).toMatch(/^#vincular lleva un incidente/);
    expect(problems('#vincular XYZ-12', TICKET)[0]).toBe('«XYZ-12» no es un ticket (MDA-000123) ni un incidente (INC-0001).');
    expect(problems('#desvincular MDA-1', TICKET)[0]).toMatch(/^#desvincular, en un ticket, no lleva valor/);
    expect(problems('#incidente menor', TICKET)[0]).toMatch(/^#incidente mayor no lleva otro valor/);
    expect(problems('#incidente mayor #desvincular', TICKET)[0]).toBe('#incidente mayor y #desvincular no pueden ir en la misma respuesta.');
    expect(problems('#titulo Algo', TICKET)[0]).toBe('#titulo solo se usa en el aviso de un incidente mayor.');
  });

  it('takes on an incident thread only what applies to all its customers', () => {
    const ok = parse('#etr 2h #titulo Portal sin servicio\n#vincular MDA-1, MDA-2 #desvincular MDA-3\n\nYa casi.', INCIDENT);
    expect(ok.errors).toEqual([]);
    expect(ok.commands.map((c) => c.kind)).toEqual(['etr', 'title', 'link', 'unlink']);
    expect(ok.commands[2]).toEqual({ kind: 'link', keys: ['MDA-000001', 'MDA-000002'] });
    expect(ok.publicText).toBe('Ya casi.');
    for (const c of ['#severidad 1', '#escalar', '#pendiente', '#asignar Ana', '#cerrar', '#reabrir']) {
      expect(problems(c, INCIDENT)[0]).toMatch(/no se aplica a un incidente mayor; respóndalo en el aviso del ticket\.$/);
    }
    expect(problems('#incidente mayor', INCIDENT)[0]).toBe('Este aviso ya es de un incidente mayor.');
    expect(problems('#vincular INC-2', INCIDENT)[0]).toMatch(/lleva tickets \(MDA-000123\), no incidentes/);
    expect(problems('#desvincular', INCIDENT)[0]).toBe('Falta qué tickets: #desvincular MDA-000123 …');
    expect(problems('#titulo', INCIDENT)[0]).toMatch(/^Falta el título/);
  });
});
