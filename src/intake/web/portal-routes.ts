import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import { sharedRateLimitStore } from '../../http/shared-rate-limit.ts';
import { isTransientStoreError } from '../../store/errors.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import {
  ATTACHMENT_FIELD, checkFormStart, cleanFilename, DESCRIPTION_MAX, HONEYPOT_FIELD, NAME_MAX, PHONE_MAX, EMAIL_MAX, signFormStart, TOKEN_FIELD,
  URGENCY_CHOICES, urgencyChoice, validatePortalForm, type PortalErrors, type PortalField, type PortalInput, type PortalSubmission,
} from '../../domain/portal-form.ts';
import { statusPath } from '../../domain/status-link.ts';
import { messageContext } from '../../outbound/message-context.ts';
import type { WebIntake, WebSubmission, WebSubmitResult } from '../../desk/web-intake.ts';
import type { WebDeps } from '../../http/web-deps.ts';

export const PORTAL_PATH = '/soporte-tecnico';

const HOUR_MS = 3_600_000;
/** Multipart limits besides the file: the form has seven text fields of modest size. */
const FIELD_BYTES = 32 * 1024;
const MAX_FIELDS = 12;
const FORM_TYPES = new Set(['multipart/form-data', 'application/x-www-form-urlencoded']);
const MULTIPART_LIMIT_CODES = new Set(['FST_PARTS_LIMIT', 'FST_FILES_LIMIT', 'FST_FIELDS_LIMIT']);

type Posted = { fields: Record<string, string>; file: WebSubmission['attachment'] };

/**
 * The web portal (DESIGN §4): `GET /soporte-tecnico` serves the form, `POST` turns it into a
 * ticket. Everything lives in its own fastify scope — the form-body and multipart parsers and the
 * rate limiter apply to these two routes only.
 *
 * Spam defence without third parties: a honeypot field people never see, a signed form-start
 * token (too fast → refused, too old → shown again), and rate limits per IP (before the body is
 * read) and per email address (after the form is parsed and checked, so only real submissions
 * count). A POST of the same form twice shows the same ticket (the token's nonce).
 */
export function registerPortalRoutes(app: FastifyInstance, web: WebDeps, intake: WebIntake): void {
  const { policy, pages, log } = web;
  const limits = policy.web.portal;
  const maxBytes = policy.intake.attachmentMaxBytes;
  const ownAddresses = policy.mailboxes.map((m) => m.address);
  const newToken = (now: Date): string => signFormStart(web.secret, now, randomBytes(16).toString('base64url'));

  const html = (reply: FastifyReply, status: number, page: string, ctx: object): FastifyReply =>
    pages.send(reply, status, page, ctx);

  const notice = (reply: FastifyReply, status: number, title: string, message: string, extra: object = {}): FastifyReply =>
    html(reply, status, 'portal-notice', { title, message, formPath: PORTAL_PATH, ...extra });

  const form = (reply: FastifyReply, status: number, f: { token: string; values?: PortalInput; errors?: PortalErrors; notice?: string | null; fileDropped?: boolean }): FastifyReply => {
    const values = f.values ?? { nombre: '', correo: '', telefono: '', descripcion: '', urgencia: '' };
    const errors = f.errors ?? {};
    return html(reply, status, 'portal', {
      title: 'Reportar un problema',
      formPath: PORTAL_PATH,
      token: f.token,
      fields: { token: TOKEN_FIELD, honeypot: HONEYPOT_FIELD, attachment: ATTACHMENT_FIELD },
      values,
      errors,
      errorList: errorList(errors),
      urgencies: URGENCY_CHOICES.map((c) => ({ value: c.value, label: c.label, hint: c.hint, checked: c.value === values.urgencia })),
      notice: f.notice ?? null,
      fileDropped: f.fileDropped ?? false,
      maxAttachment: formatBytes(maxBytes),
      max: { name: NAME_MAX, email: EMAIL_MAX, phone: PHONE_MAX, description: DESCRIPTION_MAX },
    });
  };

  const received = (reply: FastifyReply, result: WebSubmitResult, now: Date, submitted: { value: PortalSubmission; attachment: WebSubmission['attachment'] } | null): FastifyReply => {
    const t = result.ticket;
    // The ETR and the first response as the acknowledgment says them (same context builder).
    const ctx = messageContext({
      policy, locale: policy.desk.locale, now, businessClock: web.clocks.business, customerName: submitted?.value.name ?? '',
      ticket: {
        key: t.key, subject: t.subject, severity: t.severity, type: t.type, category: t.category, level: t.level, state: t.state,
        etrAt: new Date(t.etr_at), firstResponseDueAt: t.first_response_due_at === null ? null : new Date(t.first_response_due_at),
      },
    });
    const afterHours = policy.severities[t.severity].clock === 'business' && ctx.opensAt !== null;
    const a = submitted?.attachment ?? null;
    return html(reply, 200, 'portal-received', {
      title: `Reporte recibido: ${t.key}`,
      ticket: ctx.ticket,
      etr: ctx.etr,
      firstResponse: ctx.firstResponse,
      opensAt: afterHours ? ctx.opensAt : null,
      statusPath: statusPath(web.secret, t.key),
      repeated: !result.created,
      acknowledged: result.acknowledged,
      formPath: PORTAL_PATH,
      summary: submitted ? {
        name: submitted.value.name, email: submitted.value.email, phone: submitted.value.phone,
        urgency: urgencyChoice(submitted.value.urgency)?.label ?? '', description: submitted.value.description,
        attachment: a ? { filename: a.filename ?? '(sin nombre)', size: formatBytes(a.size), stored: a.content !== null && a.size <= maxBytes, max: formatBytes(maxBytes) } : null,
      } : null,
    });
  };

  const tooMany = (reply: FastifyReply, req: FastifyRequest, scope: 'ip' | 'address', retryAfterSeconds: number): FastifyReply => {
    log.warn({ event: 'web.portal_rate_limited', scope, ip: req.ip }, 'demasiados envíos del portal');
    const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
    reply.header('retry-after', String(Math.max(1, retryAfterSeconds)));
    return notice(reply, 429, 'Demasiados envíos', scope === 'ip'
      ? `Recibimos demasiados reportes desde su conexión en la última hora. Vuelva a intentarlo en unos ${minutes} minutos.`
      : `Recibimos demasiados reportes con este correo electrónico en la última hora. Vuelva a intentarlo en unos ${minutes} minutos.`, { showContacts: true });
  };

  const rejected = (req: FastifyRequest, reason: string): void => {
    // One line, never the body: which check, from where.
    log.warn({ event: 'web.portal_rejected', reason, ip: req.ip }, 'envío del portal rechazado');
  };

  const UNAVAILABLE = `En este momento no podemos guardar su reporte por una falla de nuestro sistema; no se registró. Su texto sigue aquí: vuelva a enviarlo en unos minutos${policy.desk.phone ? ` o llámenos al ${policy.desk.phone}` : ''}.`;
  const NEUTRAL = 'No pudimos recibir su reporte. Revise sus datos y vuelva a enviarlo.';

  void app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 64 * 1024 });
    await scope.register(multipart, {
      throwFileSizeLimit: false,
      limits: { fileSize: maxBytes, files: 1, fields: MAX_FIELDS, parts: MAX_FIELDS + 1, fieldSize: FIELD_BYTES, fieldNameSize: 100, headerPairs: 50 },
    });
    // Counted in the database (all instances share the limits); a database that cannot count
    // does not turn the form away here: the submission itself then meets the outage.
    await scope.register(rateLimit, { global: false, store: sharedRateLimitStore(web.store.rateLimits, web.clock, 'portal'), skipOnError: true });
    const perIp = scope.createRateLimit({ max: limits.perIpPerHour, timeWindow: HOUR_MS });
    const addressOf = new WeakMap<FastifyRequest, string>();
    const perAddress = scope.createRateLimit({ max: limits.perAddressPerHour, timeWindow: HOUR_MS, keyGenerator: (req) => `correo:${addressOf.get(req) ?? ''}` });

    scope.get(PORTAL_PATH, async (_req, reply) => form(reply, 200, { token: newToken(web.clock()) }));

    scope.post(PORTAL_PATH, {
      // Before the body is read: a flood from one address costs us no parsing.
      onRequest: async (req, reply) => {
        const r = await perIp(req);
        if (!r.isAllowed && r.isExceeded) return tooMany(reply, req, 'ip', r.ttlInSeconds);
        const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
        if (!FORM_TYPES.has(type)) {
          rejected(req, 'content_type');
          return notice(reply, 415, 'Formato de envío no válido', 'Envíe su reporte desde el formulario de esta página.');
        }
        return undefined;
      },
    }, async (req, reply) => {
      const now = web.clock();
      let posted: Posted;
      try {
        posted = await readPost(req, maxBytes);
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if (MULTIPART_LIMIT_CODES.has(code)) {
          rejected(req, 'too_many_parts');
          return notice(reply, 413, 'El envío es demasiado grande', `El formulario admite un solo archivo adjunto de hasta ${formatBytes(maxBytes)}.`);
        }
        rejected(req, 'malformed');
        return notice(reply, 400, 'No pudimos recibir su reporte', NEUTRAL);
      }
      const { fields, file } = posted;
      const checked = validatePortalForm(fields, { ownAddresses });
      const input = checked.input;
      const fileDropped = file !== null;
      if ((fields[HONEYPOT_FIELD] ?? '') !== '') {
        rejected(req, 'honeypot');
        return notice(reply, 400, 'No pudimos recibir su reporte', NEUTRAL);
      }
      const start = checkFormStart(web.secret, fields[TOKEN_FIELD], now, limits);
      if (!start.ok) {
        if (start.reason === 'expired') {
          return form(reply, 422, { token: newToken(now), values: input, notice: 'El formulario expiró, vuelva a enviarlo.', fileDropped });
        }
        rejected(req, start.reason);
        // Neutral: a robot learns nothing; a person gets the form back as typed.
        const token = start.reason === 'too_fast' ? fields[TOKEN_FIELD] as string : newToken(now);
        return form(reply, 400, { token, values: input, notice: NEUTRAL, fileDropped });
      }
      try {
        const earlier = await intake.ticketOfSubmission(start.nonce);
        if (earlier) return received(reply, { ticket: earlier, created: false, acknowledged: false, classification: null }, now, null);
        if (!checked.ok) {
          return form(reply, 422, { token: fields[TOKEN_FIELD] as string, values: checked.input, errors: checked.errors, fileDropped });
        }
        addressOf.set(req, checked.value.email);
        const r = await perAddress(req);
        if (!r.isAllowed && r.isExceeded) return tooMany(reply, req, 'address', r.ttlInSeconds);
        const result = await intake.submit({ ...checked.value, nonce: start.nonce, attachment: file }, now);
        return received(reply, result, now, result.created ? { value: checked.value, attachment: file } : null);
      } catch (err) {
        if (!isTransientStoreError(err)) throw err;
        // The database is unavailable: nothing was saved. The customer keeps what they typed
        // (and the same form token, so sending it again later makes one ticket, not two).
        log.error({ event: 'web.portal_unavailable', ip: req.ip, error: (err as Error).message }, 'base de datos no disponible: reporte del portal no guardado');
        reply.header('retry-after', '60');
        return form(reply, 503, { token: fields[TOKEN_FIELD] as string, values: input, notice: UNAVAILABLE, fileDropped });
      }
    });
  });
}

/**
 * Reads the form, multipart (with the file) or url-encoded. Text fields keep their first value;
 * the file is read up to the size limit — beyond it busboy stops keeping bytes and the file is
 * recorded without its content, like an oversized email attachment. An empty file input (the
 * browser sends a nameless, empty part) is no attachment.
 */
async function readPost(req: FastifyRequest, maxBytes: number): Promise<Posted> {
  const fields: Record<string, string> = {};
  if (!req.isMultipart()) {
    for (const [k, v] of Object.entries((req.body ?? {}) as Record<string, unknown>)) {
      const first = Array.isArray(v) ? v[0] : v;
      if (typeof first === 'string' && !Object.hasOwn(fields, k)) fields[k] = first;
    }
    return { fields, file: null };
  }
  let file: Posted['file'] = null;
  for await (const part of req.parts()) {
    if (part.type === 'field') {
      if (typeof part.value === 'string' && !Object.hasOwn(fields, part.fieldname)) fields[part.fieldname] = part.value;
      continue;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of part.file) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    if (part.fieldname !== ATTACHMENT_FIELD || file !== null) continue;
    const filename = cleanFilename(part.filename);
    if (filename === null && size === 0) continue;
    const truncated = part.file.truncated || size > maxBytes;
    file = {
      filename,
      contentType: cleanContentType(part.mimetype),
      // Over the limit busboy stops counting at the limit: the size recorded is "at least" that.
      size: truncated ? Math.max(size, part.file.bytesRead, maxBytes + 1) : size,
      content: truncated ? null : Buffer.concat(chunks),
    };
  }
  return { fields, file };
}

function cleanContentType(v: string | undefined): string {
  const t = (v ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/.test(t) ? t : 'application/octet-stream';
}

function errorList(errors: PortalErrors): Array<{ id: string; message: string }> {
  const order: PortalField[] = ['nombre', 'correo', 'telefono', 'descripcion', 'urgencia'];
  return order.filter((f) => errors[f]).map((f) => ({ id: f === 'urgencia' ? `urgencia-${URGENCY_CHOICES[0]?.value ?? ''}` : f, message: errors[f] as string }));
}

/** 15728640 → "15 MB", 1536 → "1.5 KB". */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  const shown = u === 0 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
  return `${shown} ${units[u]}`;
}
