import { createHmac, timingSafeEqual } from 'node:crypto';
import { normalizeCaller } from './phone-number.ts';
import type { Severity, TicketType } from './policy.ts';

/**
 * The web portal's form (DESIGN §4, `GET/POST /soporte-tecnico`): field rules with their Spanish
 * messages, the customer's own view of urgency and what it means for classification, and the
 * signed form-start token that carries the fill-time check and makes a POST idempotent.
 * Pure: the nonce and "now" come from the caller.
 */

/** The form's field names, as posted (and as the page's ids). */
export type PortalField = 'nombre' | 'correo' | 'telefono' | 'descripcion' | 'urgencia';

/** Honeypot (hidden from people and screen readers) and form-start token fields. */
export const HONEYPOT_FIELD = 'website';
export const TOKEN_FIELD = 'inicio';
export const ATTACHMENT_FIELD = 'adjunto';

export const NAME_MAX = 120;
export const EMAIL_MAX = 254;
export const PHONE_MAX = 40;
export const DESCRIPTION_MIN = 10;
export const DESCRIPTION_MAX = 5000;

export type Urgency = 'caido' | 'muchos' | 'falla' | 'consulta';

export interface UrgencyChoice {
  value: Urgency;
  label: string;
  hint: string;
  /** Where classification starts when no rule decides a dimension (the "mailbox defaults"). */
  defaults: { severity: Severity; type: TicketType; category: string };
  /**
   * A severity the customer's choice raises the ticket to (classify's channel hint: it raises,
   * never lowers what the rules find). Only the choices that describe an outage carry one; the
   * others are defaults the rules can overrule in either direction.
   */
  severityHint: Severity | null;
}

/** The customer's own view of urgency: one input to classification, not the verdict. */
export const URGENCY_CHOICES: readonly UrgencyChoice[] = [
  {
    value: 'caido', label: 'No funciona para nadie', hint: 'El portal o el servicio está caído para todos los usuarios.',
    defaults: { severity: 1, type: 'incidente', category: 'disponibilidad' }, severityHint: 1,
  },
  {
    value: 'muchos', label: 'Una función importante falla para muchos usuarios', hint: 'No hay otra forma de hacer el trabajo mientras tanto.',
    defaults: { severity: 2, type: 'incidente', category: 'tecnico' }, severityHint: 2,
  },
  {
    value: 'falla', label: 'Algo falla, pero puedo seguir trabajando', hint: 'Hay una alternativa, o solo me afecta a mí.',
    defaults: { severity: 3, type: 'incidente', category: 'tecnico' }, severityHint: null,
  },
  {
    value: 'consulta', label: 'Tengo una pregunta o una solicitud', hint: 'Dudas de uso, su cuenta, información o detalles visuales.',
    defaults: { severity: 4, type: 'solicitud', category: 'general' }, severityHint: null,
  },
];

export function urgencyChoice(value: string): UrgencyChoice | undefined {
  return URGENCY_CHOICES.find((c) => c.value === value);
}

/** What the customer typed, as strings, for re-rendering the form (never the file). */
export type PortalInput = Record<PortalField, string>;

export interface PortalSubmission {
  name: string;
  /** Lower-cased. */
  email: string;
  /** E.164, or null when left empty. */
  phone: string | null;
  description: string;
  urgency: Urgency;
}

export type PortalErrors = Partial<Record<PortalField, string>>;

export type PortalValidation =
  | { ok: true; value: PortalSubmission; input: PortalInput }
  | { ok: false; errors: PortalErrors; input: PortalInput };

export const MESSAGES = {
  nameRequired: 'Escriba su nombre.',
  nameTooLong: `El nombre es demasiado largo (máximo ${NAME_MAX} caracteres).`,
  emailRequired: 'Escriba su correo electrónico: ahí le enviaremos el número de ticket.',
  emailInvalid: 'Escriba un correo electrónico válido, por ejemplo nombre@empresa.com.mx.',
  emailOurs: 'Escriba su propio correo electrónico, no el de la Mesa de Ayuda.',
  phoneInvalid: 'Escriba un teléfono válido de 10 dígitos, por ejemplo 55 1234 5678 (o con su clave de país, +1 …).',
  descriptionRequired: 'Describa el problema o la solicitud.',
  descriptionTooShort: `Describa el problema con un poco más de detalle (al menos ${DESCRIPTION_MIN} caracteres).`,
  descriptionTooLong: `La descripción es demasiado larga (máximo ${DESCRIPTION_MAX} caracteres). Si tiene un registro largo, adjúntelo como archivo.`,
  urgencyRequired: 'Elija qué tan urgente es para usted.',
} as const;

// eslint-disable-next-line no-control-regex -- control characters are what is removed
const CONTROL_EXCEPT_NEWLINE_TAB = /[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- control characters are what is removed
const CONTROL_ALL = /[\u0000-\u001f\u007f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** Pragmatic address check: one @, no spaces or characters that have no place in a mailbox, a dotted domain. */
const EMAIL = /^[^\s@<>()[\]\\,;:"]{1,64}@(?=.{1,253}$)(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}]{2,63}$/u;

/** One line: control characters out, runs of spaces collapsed. */
function oneLine(v: string): string {
  return v.replace(CONTROL_ALL, ' ').replace(/\s+/g, ' ').trim();
}

/** Free text: newlines kept (CRLF → LF), other control characters out, at most two blank lines in a row. */
function freeText(v: string): string {
  return v.replace(/\r\n?/g, '\n').replace(CONTROL_EXCEPT_NEWLINE_TAB, '').replace(/\n{4,}/g, '\n\n\n').trim();
}

function chars(v: string): number {
  return [...v].length;
}

function field(raw: Partial<Record<string, unknown>>, name: string): string {
  const v = raw[name];
  return typeof v === 'string' ? v : '';
}

/**
 * Checks a posted form. Every problem comes back on its field, in Spanish, and `input` is what to
 * put back in the form (as typed, for the customer to correct). `ownAddresses` are the desk's
 * mailboxes: an acknowledgment addressed to ourselves helps nobody.
 */
export function validatePortalForm(raw: Partial<Record<string, unknown>>, opts: { ownAddresses?: readonly string[]; defaultCountry?: string } = {}): PortalValidation {
  const input: PortalInput = {
    nombre: field(raw, 'nombre'), correo: field(raw, 'correo'), telefono: field(raw, 'telefono'),
    descripcion: field(raw, 'descripcion'), urgencia: field(raw, 'urgencia'),
  };
  const errors: PortalErrors = {};

  const name = oneLine(input.nombre);
  if (name === '') errors.nombre = MESSAGES.nameRequired;
  else if (chars(name) > NAME_MAX) errors.nombre = MESSAGES.nameTooLong;

  const email = oneLine(input.correo).toLowerCase();
  const own = new Set((opts.ownAddresses ?? []).map((a) => a.toLowerCase()));
  if (email === '') errors.correo = MESSAGES.emailRequired;
  else if (email.length > EMAIL_MAX || !EMAIL.test(email)) errors.correo = MESSAGES.emailInvalid;
  else if (own.has(email.replace(/\+[^@]*@/, '@'))) errors.correo = MESSAGES.emailOurs;

  let phone: string | null = null;
  const phoneRaw = oneLine(input.telefono);
  if (phoneRaw !== '') {
    const n = phoneRaw.length > PHONE_MAX ? null : normalizeCaller(phoneRaw, opts.defaultCountry ?? 'MX');
    if (n?.kind === 'e164') phone = n.e164;
    else errors.telefono = MESSAGES.phoneInvalid;
  }

  const description = freeText(input.descripcion);
  const length = chars(description);
  if (length === 0) errors.descripcion = MESSAGES.descriptionRequired;
  else if (length < DESCRIPTION_MIN) errors.descripcion = MESSAGES.descriptionTooShort;
  else if (length > DESCRIPTION_MAX) errors.descripcion = MESSAGES.descriptionTooLong;

  const urgency = urgencyChoice(input.urgencia);
  if (!urgency) errors.urgencia = MESSAGES.urgencyRequired;

  if (Object.keys(errors).length > 0 || !urgency) return { ok: false, errors, input };
  return { ok: true, value: { name, email, phone, description, urgency: urgency.value }, input };
}

/** A ticket subject from the description: its first line, shortened. */
export function subjectFromDescription(description: string, max = 80): string {
  const first = description.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  const one = first.replace(/\s+/g, ' ');
  return chars(one) <= max ? one : `${[...one].slice(0, max - 1).join('').trimEnd()}…`;
}

/**
 * A file name as the browser sent it, made safe to store and show: no path (old browsers send
 * `C:\fakepath\…`), no control characters, bounded length. Null for no name.
 */
export function cleanFilename(name: string | null | undefined): string | null {
  if (!name) return null;
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = oneLine(base).slice(0, 200);
  return clean === '' || clean === '.' || clean === '..' ? null : clean;
}

// ---------------------------------------------------------------------------------------------
// Form-start token: `${t}.${nonce}.${mac}`. `t` is the server's clock when the form was served
// (ms since the epoch), the nonce is random, the MAC is HMAC-SHA256 over both in the token's own
// scope (so no other signed value of Mesa can be passed off as one). At POST: a bad MAC is
// refused; less than `minFillSeconds` since `t` is a robot's speed; more than `maxFillHours` is
// an expired form. The nonce names the submission: its ticket is recorded against it, so a second
// POST of the same form (refresh, double click) finds that ticket instead of making another.
// ---------------------------------------------------------------------------------------------

const TOKEN = /^(\d{1,15})\.([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{43})$/;

export type FormStartCheck =
  | { ok: true; nonce: string; startedAt: Date }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'too_fast' | 'expired'; nonce: string; startedAt: Date };

export function signFormStart(secret: string, startedAt: Date, nonce: string): string {
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) throw new Error('form nonce must be 16-64 base64url characters');
  const t = String(startedAt.getTime());
  return `${t}.${nonce}.${mac(secret, t, nonce)}`;
}

export function checkFormStart(secret: string, token: string | null | undefined, now: Date, limits: { minFillSeconds: number; maxFillHours: number }): FormStartCheck {
  const m = typeof token === 'string' ? TOKEN.exec(token.trim()) : null;
  if (!m) return { ok: false, reason: 'invalid' };
  const [, t, nonce, given] = m as unknown as [string, string, string, string];
  const expected = Buffer.from(mac(secret, t, nonce));
  const got = Buffer.from(given);
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) return { ok: false, reason: 'invalid' };
  const startedAt = new Date(Number(t));
  const elapsed = now.getTime() - startedAt.getTime();
  // A start in the future is not ours to trust either way: too fast (the form shows again).
  if (elapsed < limits.minFillSeconds * 1000) return { ok: false, reason: 'too_fast', nonce, startedAt };
  if (elapsed > limits.maxFillHours * 3_600_000) return { ok: false, reason: 'expired', nonce, startedAt };
  return { ok: true, nonce, startedAt };
}

function mac(secret: string, t: string, nonce: string): string {
  return createHmac('sha256', secret).update(`portal-form\n${t}\n${nonce}`).digest('base64url');
}
