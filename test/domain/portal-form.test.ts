import { describe, expect, it } from 'vitest';
import {
  checkFormStart, cleanFilename, DESCRIPTION_MAX, MESSAGES, NAME_MAX, signFormStart, subjectFromDescription, URGENCY_CHOICES, urgencyChoice, validatePortalForm,
} from '../../src/domain/portal-form.ts';

const good = { nombre: 'Juan Pérez', correo: 'Juan.Perez@Cliente.com.mx', telefono: '', descripcion: 'El portal marca error 500 al entrar.', urgencia: 'falla' };

describe('validatePortalForm', () => {
  it('accepts a complete form and normalises it', () => {
    const r = validatePortalForm({ ...good, nombre: '  Juan \t  Pérez ', telefono: '(55) 1234-5678', descripcion: '\r\n Línea uno\r\nLínea dos \r\n' });
    expect(r).toEqual({
      ok: true,
      value: { name: 'Juan Pérez', email: 'juan.perez@cliente.com.mx', phone: '+525512345678', description: 'Línea uno\nLínea dos', urgency: 'falla' },
      input: expect.objectContaining({ nombre: '  Juan \t  Pérez ', telefono: '(55) 1234-5678' }),
    });
  });

  it('leaves the phone out when empty', () => {
    const r = validatePortalForm(good);
    expect(r.ok && r.value.phone).toBe(null);
  });

  it('puts every problem on its own field, in Spanish, and keeps the input as typed', () => {
    const raw = { nombre: '   ', correo: 'no es un correo', telefono: '123', descripcion: 'corto', urgencia: 'muy-urgente' };
    const r = validatePortalForm(raw);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual({
      nombre: MESSAGES.nameRequired, correo: MESSAGES.emailInvalid, telefono: MESSAGES.phoneInvalid,
      descripcion: MESSAGES.descriptionTooShort, urgencia: MESSAGES.urgencyRequired,
    });
    expect(r.input).toEqual(raw);
  });

  it('requires the email and the description', () => {
    const r = validatePortalForm({ ...good, correo: '', descripcion: '' });
    expect(!r.ok && r.errors).toEqual({ correo: MESSAGES.emailRequired, descripcion: MESSAGES.descriptionRequired });
  });

  it('treats missing and non-string fields as empty', () => {
    const r = validatePortalForm({ nombre: ['a', 'b'], correo: 42, descripcion: { x: 1 } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.input).toEqual({ nombre: '', correo: '', telefono: '', descripcion: '', urgencia: '' });
    expect(Object.keys(r.errors).sort()).toEqual(['correo', 'descripcion', 'nombre', 'urgencia']);
  });

  it.each([
    'juan@cliente', 'juan@@cliente.mx', 'juan cliente@x.mx', '<script>@x.mx', 'juan@cliente.mx>', 'a"b@x.mx', 'juan@-cliente.mx', 'juan@cliente.m',
    `${'a'.repeat(65)}@x.mx`, `a@${'b'.repeat(250)}.mx`, 'juan@cliente.mx\r\nBcc: otro@x.mx',
  ])('refuses the address %j', (correo) => {
    const r = validatePortalForm({ ...good, correo });
    expect(!r.ok && r.errors.correo).toBe(MESSAGES.emailInvalid);
  });

  it.each(['ana+soporte@cliente.mx', "o'brien@cliente.com", 'ana@sub.dominio.gob.mx', 'josé@cliente.mx', 'ana@correo.méxico'])('accepts the address %j', (correo) => {
    expect(validatePortalForm({ ...good, correo }).ok).toBe(true);
  });

  it("refuses the desk's own mailboxes, plus-addressed too", () => {
    const own = ['mesadeayuda@proditmapac.com'];
    for (const correo of ['mesadeayuda@proditmapac.com', 'MesaDeAyuda+MDA-000001.abc@proditmapac.com']) {
      const r = validatePortalForm({ ...good, correo }, { ownAddresses: own });
      expect(!r.ok && r.errors.correo).toBe(MESSAGES.emailOurs);
    }
  });

  it('bounds the name and the description (counted in characters, not bytes)', () => {
    expect(validatePortalForm({ ...good, nombre: 'ñ'.repeat(NAME_MAX) }).ok).toBe(true);
    const long = validatePortalForm({ ...good, nombre: 'ñ'.repeat(NAME_MAX + 1), descripcion: 'é'.repeat(DESCRIPTION_MAX + 1) });
    expect(!long.ok && long.errors).toEqual({ nombre: MESSAGES.nameTooLong, descripcion: MESSAGES.descriptionTooLong });
    expect(validatePortalForm({ ...good, descripcion: '😀'.repeat(DESCRIPTION_MAX) }).ok).toBe(true);
  });

  it('refuses phone numbers that are withheld words or junk', () => {
    for (const telefono of ['anonymous', 'abc', '1'.repeat(41), '55 1234', '+52 55 12']) {
      const r = validatePortalForm({ ...good, telefono });
      expect(!r.ok && r.errors.telefono, telefono).toBe(MESSAGES.phoneInvalid);
    }
  });

  it('strips control and bidi characters from the name and the description, keeping line breaks', () => {
    const r = validatePortalForm({ ...good, nombre: 'Juan\u0000\u202e Pérez\r\nBcc: x', descripcion: 'Uno\u0007 dos\u202e\ntres\n\n\n\n\n\ncuatro' });
    expect(r.ok && r.value.name).toBe('Juan Pérez Bcc: x');
    expect(r.ok && r.value.description).toBe('Uno dos\ntres\n\n\ncuatro');
  });
});

describe('urgency choices', () => {
  it('only the outage choices raise the severity; the others are defaults the rules can overrule', () => {
    expect(URGENCY_CHOICES.map((c) => [c.value, c.defaults.severity, c.severityHint])).toEqual([
      ['caido', 1, 1], ['muchos', 2, 2], ['falla', 3, null], ['consulta', 4, null],
    ]);
    expect(urgencyChoice('consulta')?.defaults.type).toBe('solicitud');
    expect(urgencyChoice('__proto__')).toBeUndefined();
  });
});

describe('subjectFromDescription and cleanFilename', () => {
  it('takes the first non-empty line, shortened on a character boundary', () => {
    expect(subjectFromDescription('\n  \n  El portal   no carga\nDetalles')).toBe('El portal no carga');
    const s = subjectFromDescription('ñ'.repeat(100), 20);
    expect(s).toBe(`${'ñ'.repeat(19)}…`);
  });

  it('keeps only the base name, without control characters', () => {
    expect(cleanFilename('C:\\fakepath\\captura.png')).toBe('captura.png');
    expect(cleanFilename('../../etc/passwd')).toBe('passwd');
    expect(cleanFilename('a\r\nb.txt')).toBe('a b.txt');
    expect(cleanFilename('')).toBe(null);
    expect(cleanFilename('..')).toBe(null);
    expect(cleanFilename('x'.repeat(500))?.length).toBe(200);
  });
});

describe('form-start token', () => {
  const secret = 'secreto-de-prueba';
  const limits = { minFillSeconds: 3, maxFillHours: 24 };
  const t0 = new Date('2026-11-30T16:00:00Z');
  const nonce = 'AAAAAAAAAAAAAAAAAAAAAA';
  const at = (ms: number): Date => new Date(t0.getTime() + ms);

  it('is `${t}.${nonce}.${mac}` with the start time in milliseconds', () => {
    const token = signFormStart(secret, t0, nonce);
    expect(token).toMatch(new RegExp(`^${t0.getTime()}\\.${nonce}\\.[A-Za-z0-9_-]{43}$`));
  });

  it('accepts a form filled in between the minimum and the maximum time', () => {
    const token = signFormStart(secret, t0, nonce);
    expect(checkFormStart(secret, token, at(3_000), limits)).toEqual({ ok: true, nonce, startedAt: t0 });
    expect(checkFormStart(secret, token, at(24 * 3_600_000), limits)).toEqual({ ok: true, nonce, startedAt: t0 });
  });

  it('refuses a form posted too fast, or with a start in the future', () => {
    const token = signFormStart(secret, t0, nonce);
    expect(checkFormStart(secret, token, at(2_999), limits)).toMatchObject({ ok: false, reason: 'too_fast' });
    expect(checkFormStart(secret, token, at(-60_000), limits)).toMatchObject({ ok: false, reason: 'too_fast' });
  });

  it('calls a form older than the maximum expired, still naming its nonce', () => {
    const token = signFormStart(secret, t0, nonce);
    expect(checkFormStart(secret, token, at(24 * 3_600_000 + 1), limits)).toEqual({ ok: false, reason: 'expired', nonce, startedAt: t0 });
  });

  it('refuses a token that was tampered with, signed with another secret, or malformed', () => {
    const token = signFormStart(secret, t0, nonce);
    const [t, n, m] = token.split('.') as [string, string, string];
    const later = at(60_000);
    const forgedTime = `${Number(t) - 3_600_000}.${n}.${m}`;
    const forgedNonce = `${t}.BBBBBBBBBBBBBBBBBBBBBB.${m}`;
    const flipped = `${t}.${n}.${m.slice(0, -1)}${m.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [forgedTime, forgedNonce, flipped, signFormStart('otro', t0, nonce), '', 'x.y.z', `${token}.`, ` ${token}x`, null, undefined]) {
      expect(checkFormStart(secret, bad, later, limits), String(bad)).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('refuses a nonce that is not base64url of a sensible length', () => {
    expect(() => signFormStart(secret, t0, 'corto')).toThrow();
    expect(() => signFormStart(secret, t0, 'a.b.c-d-e-f-g-h-i-j')).toThrow();
  });
});
