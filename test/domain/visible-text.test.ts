import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { visibleText } from '../../src/domain/visible-text.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'replies');

/**
 * Each fixture is `<name>.txt` (the plain part), `<name>.html` (the HTML part), or both (a
 * multipart/alternative mail), beside `<name>.expected.txt` with the visible text.
 */
function fixtureNames(): string[] {
  const names = new Set<string>();
  for (const f of readdirSync(FIXTURES)) {
    if (f.endsWith('.expected.txt')) continue;
    const m = /^(.*)\.(txt|html)$/.exec(f);
    if (m?.[1] !== undefined) names.add(m[1]);
  }
  return [...names].sort();
}

function loadFixture(name: string): { text: string; html: string | null; expected: string } {
  const read = (ext: string): string | null => {
    const p = join(FIXTURES, `${name}${ext}`);
    return existsSync(p) ? readFileSync(p, 'utf8') : null;
  };
  const expected = read('.expected.txt');
  if (expected === null) throw new Error(`fixture ${name} has no .expected.txt`);
  return { text: read('.txt') ?? '', html: read('.html'), expected: expected.replace(/\n+$/, '') };
}

function fixture(name: string): { text: string; html: string | null } {
  const { text, html } = loadFixture(name);
  return { text, html };
}

describe('visibleText — fixtures in test/fixtures/replies', () => {
  const names = fixtureNames();

  it('has fixtures to run', () => {
    expect(names.length).toBeGreaterThanOrEqual(20);
  });

  it.each(names)('%s', (name) => {
    const { text, html, expected } = loadFixture(name);
    expect(visibleText({ text, html }).text).toBe(expected);
  });
});

describe('visibleText — which marker cut', () => {
  it.each([
    ['outlook-desktop-es', 'outlook-header-block'],
    ['outlook-desktop-es-html', 'outlook-header-block'],
    ['outlook-web-es', 'outlook-header-block'],
    ['outlook-web-es-text', 'outlook-header-block'],
    ['outlook-mac-fecha-es', 'outlook-header-block'],
    ['gmail-es', 'gmail-quote'],
    ['gmail-es-text', 'es-escribio'],
    ['apple-mail-es', 'blockquote-cite'],
    ['thunderbird-es', 'moz-cite-prefix'],
    ['thunderbird-es-text', 'es-escribio'],
    ['mensaje-original-es', 'original-message'],
    ['outlook-original-message-en', 'original-message'],
    ['gmail-en', 'on-wrote'],
    ['signature-dash-es', 'signature-dash'],
    ['enviado-desde-outlook-es', 'mobile-signature'],
    // iPhone quotes its own attribution, so the `>` block goes first, then the signature.
    ['apple-mail-es-iphone', 'quote-prefix'],
    ['outlook-android-es', 'outlook-header-block'],
  ])('%s is cut by %s', (name, marker) => {
    const res = visibleText(fixture(name));
    expect(res.trimmed).toBe(true);
    expect(res.cutBy).toBe(marker);
  });

  it('leaves a message without history untouched', () => {
    const res = visibleText(fixture('no-quote-es'));
    expect(res).toEqual({ text: fixture('no-quote-es').text.trimEnd(), trimmed: false, cutBy: null });
  });

  it('keeps the whole body when the history is all there is (a bare forward)', () => {
    const res = visibleText(fixture('forward-only-es'));
    expect(res.trimmed).toBe(false);
    expect(res.cutBy).toBeNull();
    expect(res.text).toContain('Su factura A-551 fue rechazada');
    expect(res.text).toContain('Forwarded message');
  });

  it('keeps the whole body when the HTML quote container is at the very top', () => {
    const html = '<div class="gmail_quote"><div class="gmail_attr">El lun, 23 nov 2026 a las 10:15, Ana &lt;a@example.mx&gt; escribió:</div><blockquote class="gmail_quote">Texto reenviado</blockquote></div>';
    const res = visibleText({ text: '', html });
    expect(res.trimmed).toBe(false);
    expect(res.text).toContain('Texto reenviado');
  });
});

describe('visibleText — plain-text markers', () => {
  it('cuts a Gmail attribution wrapped over two lines', () => {
    const text = 'Listo, gracias.\n\nEl lun, 23 nov 2026 a las 10:15, Soporte PRODITMA (<\nsoporte@proditma.mx>) escribió:\n\n> ¿Ya quedó?\n';
    expect(visibleText({ text, html: null })).toEqual({ text: 'Listo, gracias.', trimmed: true, cutBy: 'es-escribio' });
  });

  it('cuts the Apple Mail date form "El 23/11/2026, a las 10:15, … escribió:"', () => {
    const text = 'Sí, mañana a las 9.\n\nEl 23/11/2026, a las 10:15, Soporte <soporte@proditma.mx> escribió:\n\n> ¿Podemos llamarle mañana?';
    expect(visibleText({ text, html: null }).text).toBe('Sí, mañana a las 9.');
  });

  it('cuts an Outlook mobile attribution followed by unquoted history', () => {
    const text = 'De acuerdo.\n\nEl lun, 23 de nov. de 2026 10:15 a. m., Soporte PRODITMA <soporte@proditma.mx> escribió:\nHola, le confirmamos la cita.\n';
    expect(visibleText({ text, html: null }).text).toBe('De acuerdo.');
  });

  it('cuts an English "-----Original Message-----" with nothing but the separator', () => {
    const text = 'Thanks.\r\n\r\n-----Original Message-----\r\nHello';
    expect(visibleText({ text, html: null })).toEqual({ text: 'Thanks.', trimmed: true, cutBy: 'original-message' });
  });

  it('cuts an English From/Sent/To/Subject block after a rule', () => {
    const text = 'Done.\n\n________________________________\nFrom: Support <s@example.com>\nSent: Monday, November 23, 2026 10:15 AM\nTo: Ann <ann@example.com>\nSubject: Ticket\n\nHello Ann';
    expect(visibleText({ text, html: null })).toEqual({ text: 'Done.', trimmed: true, cutBy: 'outlook-header-block' });
  });

  it('does not take one "De:" line in prose for a header block', () => {
    const text = 'Les escribo por lo siguiente.\nDe: mi parte todo bien.\nPara: el lunes estará listo.\n';
    expect(visibleText({ text, html: null })).toEqual({ text: text.trimEnd(), trimmed: false, cutBy: null });
  });

  it('does not cut a sentence that merely mentions writing', () => {
    const text = 'Mi jefe escribió:\n"necesitamos la factura hoy".\n\nGracias.';
    expect(visibleText({ text, html: null }).trimmed).toBe(false);
  });

  it('keeps "Sent from my desk, …" which is a sentence, not a signature', () => {
    const text = 'Here it is.\n\nSent from my desk, which is easier than my phone.';
    expect(visibleText({ text, html: null }).text).toBe(text);
  });

  it('keeps a "--" used mid-message when a long text follows', () => {
    const body = Array.from({ length: 20 }, (_, i) => `Paso ${i + 1}: revisar el equipo.`).join('\n');
    const text = `Antes de empezar:\n--\n${body}`;
    expect(visibleText({ text, html: null }).text).toBe(text);
  });

  it('normalises CRLF and lone CR, trims trailing whitespace, keeps inner blank lines', () => {
    const text = 'Hola,\r\n\r\n\r\nSaludos\r\n   \r\n\r\n';
    expect(visibleText({ text, html: null })).toEqual({ text: 'Hola,\n\n\nSaludos', trimmed: false, cutBy: null });
    expect(visibleText({ text: 'a\rb', html: null }).text).toBe('a\nb');
  });

  it('returns the whole body when everything is quoted', () => {
    const text = '> solo historia\n> y más historia\n';
    expect(visibleText({ text, html: null })).toEqual({ text: '> solo historia\n> y más historia', trimmed: false, cutBy: null });
  });

  it('returns empty text for an empty body', () => {
    expect(visibleText({ text: '', html: null })).toEqual({ text: '', trimmed: false, cutBy: null });
    expect(visibleText({ text: '  \n\n', html: '' })).toEqual({ text: '', trimmed: false, cutBy: null });
  });
});

describe('visibleText — HTML', () => {
  it('keeps interleaved Apple Mail answers and cuts only the trailing cite', () => {
    const html =
      '<div>Respuestas abajo.</div><blockquote type="cite"><div>¿Modelo?</div></blockquote><div>HP 400.</div>' +
      '<div><br></div><div>El 23 nov 2026, a las 10:15, Soporte &lt;s@proditma.mx&gt; escribió:</div>' +
      '<blockquote type="cite"><div>¿Modelo?</div><div>¿Serie?</div></blockquote>';
    const res = visibleText({ text: '', html });
    expect(res.text).toBe('Respuestas abajo.\n> ¿Modelo?\nHP 400.');
    expect(res.cutBy).toBe('blockquote-cite');
  });

  it('uses the plain part when the HTML has no known container', () => {
    const html = '<p>Hola</p><p>De: nadie</p>';
    const res = visibleText({ text: 'Hola\n\n-- \nFirma', html });
    expect(res).toEqual({ text: 'Hola', trimmed: true, cutBy: 'signature-dash' });
  });

  it('falls back to the HTML rendering when the plain part is empty', () => {
    const html = '<div>Gracias</div><div>Enviado desde mi iPhone</div>';
    expect(visibleText({ text: '', html })).toEqual({ text: 'Gracias', trimmed: true, cutBy: 'mobile-signature' });
  });

  it('drops scripts, styles, comments and decodes entities', () => {
    const html = '<style>p{color:red}</style><script>alert(1)</script><!-- x --><p>Ma&ntilde;ana &#233;l &#x41; &lt;ok&gt; &bogus; &#99999999;</p>';
    expect(visibleText({ text: '', html }).text).toBe('Mañana él A <ok> &bogus; &#99999999;');
  });
});

describe('visibleText — hostile input never throws', () => {
  const cases: [string, { text: string; html: string | null }][] = [
    ['1 MB on a single line', { text: 'a'.repeat(1_000_000), html: null }],
    ['1 MB of "El " without newline', { text: 'El '.repeat(350_000), html: null }],
    ['many short attribution-like lines', { text: 'On x wrote\n'.repeat(50_000), html: null }],
    ['1 MB single-line HTML', { text: '', html: `<div>${'x'.repeat(1_000_000)}` }],
    ['unclosed tags and attributes', { text: '', html: '<div class="gmail_quote<blockquote type="cite><p>hola' }],
    ['deeply nested blockquotes', { text: '', html: '<blockquote>'.repeat(20_000) + 'fondo' }],
    ['lone angle brackets', { text: '', html: '< < > <<>> </ <!-- <! <? a<b' }],
    ['thousands of interleaved cite blockquotes', { text: '', html: '<blockquote type="cite">q</blockquote>a'.repeat(30_000) }],
    ['an attribute quote that never closes', { text: '', html: `<font face="Arial>${'x'.repeat(10_000)}</font>` }],
    ['1 MB of quote markers', { text: '>'.repeat(1_000_000), html: null }],
    ['many header-like lines', { text: 'De: a\nPara: b\n'.repeat(20_000), html: null }],
  ];

  it.each(cases)('%s', (_name, input) => {
    const res = visibleText(input);
    expect(typeof res.text).toBe('string');
    expect(typeof res.trimmed).toBe('boolean');
  });

  it('does not lose the message behind an unclosed attribute quote', () => {
    const html = `<p>Hola <font face="Arial>equipo</font></p><p>${'y'.repeat(5000)}</p><p>Saludos</p>`;
    expect(visibleText({ text: '', html }).text).toContain('Saludos');
  });

  it('survives inputs that are not what the type says', () => {
    const bad = { text: undefined as unknown as string, html: 42 as unknown as string };
    expect(() => visibleText(bad)).not.toThrow();
  });

  it('keeps the content of a 1 MB single-line body', () => {
    const text = 'b'.repeat(1_000_000);
    expect(visibleText({ text, html: null }).text).toHaveLength(1_000_000);
  });
});
