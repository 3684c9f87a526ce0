/**
 * The ingest benchmark (issue 2, "Proof"): a generated backlog of customer mail through the
 * whole daemon, against the raw stack doing the same I/O with no logic, in the same run.
 *
 * Layout of one run:
 * - this process (the "parent") owns the private Dovecot, the SMTP sink and every clock
 *   reading that ends a measurement (an ack's arrival at the sink);
 * - the raw stack and Mesa each run in a forked child of their own, one after the other.
 *   A child per contender keeps their heaps apart (peak RSS is the child's own maxRSS, not
 *   "whatever the other one left behind"), gives both a cold JIT, and keeps the sink's MIME
 *   parsing of 10k acks off the contender's event loop, where it would not be in production.
 *
 * The backlog is written straight into the Maildirs (`new/`) of four Dovecot users: two for the
 * raw stack, two for Mesa, identical byte for byte. APPENDing 20k messages over IMAP would take
 * minutes, and each contender flags or consumes what it reads, so they cannot share one set.
 */
import { chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { Mesa } from '../src/app.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { readEnvironment } from '../src/config/environment.ts';
import { planBatches } from '../src/intake/email/imap-poller.ts';
import { createLogger, silentLogger } from '../src/log.ts';
import { Writable } from 'node:stream';
import { startPostgres, type PostgresServer } from '../test/support/postgres.ts';
import { startDovecot, type DovecotServer } from '../test/support/dovecot.ts';
import { REPO_CONFIG, testEnv } from '../test/support/mesa-harness.ts';
import { SmtpSink, waitFor, type SunkMessage } from '../test/support/smtp-sink.ts';
import { ForkedChild } from './forked-child.ts';
import { coresBetween, cpuSnapshot } from './machine-cpu.ts';
import { prng } from './prng.ts';

const DEFAULT_MESSAGES = 10_000;
const LATENCY_SAMPLES = 200;
const SEED = 0x4d455341; // "MESA"
export const MAIL_DOMAIN = 'proditmapac.com';
/** Mesa's users carry the real mailbox names; the raw stack reads an identical copy. */
export const BOXES = ['mesadeayuda', 'soportetecnico'] as const;
const RAW_USER = (box: string): string => `raw${box}`;
/** The copy Mesa on PostgreSQL reads, when the run compares the engines. */
const PG_USER = (box: string): string => `pg${box}`;
/** The copy two Mesa instances on one PostgreSQL read together. */
const PAIR_USER = (box: string): string => `duo${box}`;

export type Box = (typeof BOXES)[number];

// ---------------------------------------------------------------------------------------------
// Deterministic backlog
// ---------------------------------------------------------------------------------------------


const FIRST = ['María', 'José', 'Guadalupe', 'Juan', 'Ana', 'Luis', 'Fernanda', 'Jorge', 'Sofía', 'Ricardo', 'Verónica', 'Alejandro', 'Mónica', 'Héctor', 'Paola', 'Raúl', 'Daniela', 'Iván', 'Lucía', 'Ramón'];
const LAST = ['Hernández', 'García', 'Martínez', 'López', 'González', 'Pérez', 'Rodríguez', 'Sánchez', 'Ramírez', 'Cruz', 'Flores', 'Gómez', 'Morales', 'Vázquez', 'Jiménez', 'Reyes', 'Díaz', 'Torres', 'Gutiérrez', 'Ruiz'];
const DOMAINS = ['gmail.com', 'hotmail.com', 'outlook.com', 'yahoo.com.mx', 'prodigy.net.mx', 'constructora-norte.com.mx', 'farmaciasdelvalle.mx', 'grupoaltamira.com', 'despachofiscal.mx', 'transportes-lerma.com.mx'];
const ROLES = ['Contadora', 'Gerente de Sistemas', 'Auxiliar administrativo', 'Director General', 'Coordinadora de Nómina', 'Analista de Compras', 'Jefe de Tesorería'];
const COMPANIES = ['Constructora del Norte S.A. de C.V.', 'Farmacias del Valle', 'Grupo Altamira', 'Despacho Fiscal Ortega y Asociados', 'Transportes Lerma', 'Comercializadora El Roble'];

/** [subject, opening sentence] */
const TOPICS: ReadonlyArray<readonly [string, string]> = [
  ['No puedo entrar al portal', 'Desde esta mañana no puedo iniciar sesión en el portal, me dice que mi contraseña es incorrecta aunque la acabo de cambiar.'],
  ['Error al generar factura', 'Al intentar generar la factura del pedido me aparece un error y no se guarda nada.'],
  ['¿Cómo descargo mi constancia?', 'Quisiera saber cómo puedo descargar mi constancia desde el portal, no encuentro la opción.'],
  ['El sistema está muy lento', 'Desde ayer el sistema tarda muchísimo en cargar cada pantalla, a veces más de un minuto.'],
  ['Solicitud de alta de usuario', 'Les escribo para solicitar el alta de un nuevo usuario para nuestra área de compras.'],
  ['Duda sobre mi pago', 'Realicé un pago la semana pasada y todavía aparece como pendiente en mi estado de cuenta.'],
  ['Falla en la aplicación móvil', 'La aplicación en el celular se cierra sola cuando intento consultar mis movimientos.'],
  ['No me llegan las notificaciones', 'Dejaron de llegarme los correos de notificación cuando se aprueba una solicitud.'],
  ['Cambio de datos de facturación', 'Necesitamos actualizar la razón social y el domicilio fiscal con los que nos facturan.'],
  ['Error 500 al subir archivos', 'Cuando subo el archivo de conciliación el portal responde con error 500.'],
  ['Estado de mi trámite', 'Me gustaría saber en qué estado se encuentra el trámite que inicié hace dos semanas.'],
  ['Se borró información de mi cuenta', 'Al entrar hoy vi que se borraron los registros de octubre de nuestra cuenta.'],
  ['Problema con el timbrado de CFDI', 'Los CFDI no se están timbrando, se quedan en estado "en proceso" desde hace horas.'],
  ['No aparece mi recibo de nómina', 'No aparece mi recibo de nómina de la quincena pasada en el portal de empleados.'],
  ['Solicitud de capacitación', 'Nos gustaría programar una capacitación para el personal nuevo sobre el uso del sistema.'],
  ['Cuenta bloqueada', 'Mi cuenta quedó bloqueada después de varios intentos y necesito entrar hoy mismo.'],
  ['Pantalla en blanco al imprimir', 'Al imprimir el reporte mensual sale una pantalla en blanco y no se genera el PDF.'],
  ['Consulta sobre el contrato de soporte', 'Quisiera información sobre lo que incluye nuestro contrato de soporte y su vigencia.'],
];

const DETAILS = [
  'Ya intenté borrar el caché del navegador y sigue igual.',
  'Uso Chrome en Windows 11, pero también lo probé en Edge.',
  'Es urgente porque tenemos cierre de mes el viernes.',
  'Me aparece el mensaje «Ocurrió un error inesperado, intente más tarde».',
  'Esto nos pasa a varios usuarios de la oficina, no solo a mí.',
  'La última vez que funcionó bien fue el viernes por la tarde.',
  'Probé desde otra computadora y desde el celular y pasa lo mismo.',
  'El número de cliente es {n} por si lo necesitan.',
  'No hicimos ningún cambio en nuestra red ni en los equipos.',
  'Reinicié la computadora dos veces y no se resolvió.',
  'Hace un mes nos pasó algo parecido y lo resolvieron ustedes en el día.',
  'Necesito entregar esta información a la dirección antes de las 5 de la tarde.',
  'No sé si es un problema de permisos o de mi usuario.',
  'El folio de la operación es {n}.',
  'Les agradecería mucho que me indicaran los pasos a seguir.',
  'En la pantalla aparece un círculo girando y nunca termina de cargar.',
  'Ya revisé la carpeta de correo no deseado y tampoco está ahí.',
  'Tenemos alrededor de {n} registros pendientes por capturar.',
];

const GREETINGS = ['Hola,', 'Buenos días,', 'Buenas tardes,', 'Estimado equipo de soporte:', 'Hola, buen día.', 'A quien corresponda:'];
const CLOSINGS = ['Saludos,', 'Gracias,', 'Muchas gracias de antemano.', 'Quedo en espera de su respuesta.', 'Atentamente,', 'Quedo atento a sus comentarios.'];
const AGENT_LINES = [
  'Hola, gracias por escribirnos.',
  'Para poder ayudarle necesitamos su número de cliente y una captura de pantalla del error.',
  'Le pedimos que intente nuevamente después de cerrar sesión y volver a entrar.',
  'Quedamos atentos a su respuesta.',
  'Saludos cordiales,',
  'Mesa de Ayuda PRODITMA',
];
const WEEKDAYS = ['dom', 'lun', 'mar', 'mié', 'jue', 'vie', 'sáb'];
const MONTHS = ['ene', 'feb', 'mar', 'abr', 'may', 'jun', 'jul', 'ago', 'sep', 'oct', 'nov', 'dic'];
const EN_DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const EN_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const BASE_TIME = Date.UTC(2026, 10, 23, 15, 0, 0);

export interface BacklogMail {
  box: Box;
  /** Distinct per message: acks are rate-limited per recipient. */
  sender: string;
  /** RFC 5322 source with LF line ends (Maildir convention; Dovecot serves it as CRLF). */
  raw: Buffer;
  traits: { quoted: boolean; html: boolean; attachment: boolean; qp: boolean; log: boolean };
}

/**
 * Message `i` of a backlog. Each message has its own PRNG stream, so message i is the same
 * whatever else is generated. `tag` keeps sender addresses of different sets apart.
 */
export function backlogMail(i: number, tag = 'c'): BacklogMail {
  const rng = prng((SEED ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;
  const num = (): string => String(10_000 + Math.floor(rng() * 89_999));
  const box: Box = rng() < 0.55 ? 'mesadeayuda' : 'soportetecnico';
  const first = pick(FIRST);
  const last = pick(LAST);
  const name = `${first} ${last}`;
  const domain = pick(DOMAINS);
  const sender = `${ascii(first)}.${ascii(last)}.${tag}${i}@${domain}`;
  const [topic, opening] = pick(TOPICS);
  const when = new Date(BASE_TIME + i * 37_000);

  const traits = { quoted: rng() < 0.25, html: rng() < 0.2, attachment: rng() < 0.04, qp: rng() < 0.3, log: rng() < 0.05 };
  const paragraphs: string[] = [pick(GREETINGS), ''];
  const lead = [opening];
  const paragraphCount = 1 + Math.floor(rng() * rng() * 6);
  for (let p = 0; p < paragraphCount; p++) {
    const sentences = p === 0 ? lead : [];
    const n = 1 + Math.floor(rng() * 4);
    for (let s = 0; s < n; s++) sentences.push(pick(DETAILS).replace('{n}', num()));
    paragraphs.push(sentences.join(' '), '');
  }
  if (traits.log) {
    paragraphs.push('Este es el detalle que aparece en el registro:', '');
    const lines = 10 + Math.floor(rng() * 50);
    for (let l = 0; l < lines; l++) {
      const t = new Date(when.getTime() - (lines - l) * 1_731);
      paragraphs.push(`${t.toISOString().replace('T', ' ').slice(0, 23)} ERROR [http-nio-8080-exec-${1 + Math.floor(rng() * 9)}] c.p.portal.${pick(['FacturaService', 'SesionFilter', 'CfdiTimbrado', 'NominaController'])} - ${pick(['Timeout al conectar con el PAC (intento 3/3)', 'NullPointerException en validarRfc', 'Conexión rechazada por el servidor de base de datos', 'Token de sesión expirado'])}`);
    }
    paragraphs.push('');
  }
  paragraphs.push(pick(CLOSINGS), name);
  if (rng() < 0.6) paragraphs.push(pick(ROLES), pick(COMPANIES), `Tel. 55 ${num().slice(0, 4)} ${num().slice(0, 4)}`);
  let text = paragraphs.join('\n');
  let subject = topic;

  let quotedHtml = '';
  if (traits.quoted) {
    // Fields read with getUTC* on a date shifted to Mexico City time (UTC-6).
    const prev = new Date(when.getTime() - 6 * 3_600_000 - 86_400_000 - Math.floor(rng() * 3) * 3_600_000);
    const agent = AGENT_LINES.join('\n');
    const hh = `${String(prev.getUTCHours()).padStart(2, '0')}:${String(prev.getUTCMinutes()).padStart(2, '0')}`;
    const style = pick(['gmail', 'outlook', 'apple', 'thunderbird'] as const);
    const desk = `Mesa de Ayuda <${box}@${MAIL_DOMAIN}>`;
    const quoted = agent.split('\n').map((l) => `> ${l}`).join('\n');
    if (style === 'gmail') text += `\n\nEl ${WEEKDAYS[prev.getUTCDay()]}, ${prev.getUTCDate()} ${MONTHS[prev.getUTCMonth()]} ${prev.getUTCFullYear()} a las ${hh}, ${desk} escribió:\n${quoted}\n`;
    else if (style === 'apple') text += `\n\n> El ${prev.getUTCDate()} ${MONTHS[prev.getUTCMonth()]} ${prev.getUTCFullYear()}, a las ${hh}, ${desk} escribió:\n>\n${quoted}\n`;
    else if (style === 'thunderbird') text += `\n\nEl ${prev.getUTCDate()}/${prev.getUTCMonth() + 1}/${String(prev.getUTCFullYear()).slice(2)} a las ${hh}, Mesa de Ayuda escribió:\n${quoted}\n`;
    else text += `\n\n________________________________\nDe: ${desk}\nEnviado: ${WEEKDAYS[prev.getUTCDay()]} ${prev.getUTCDate()} de ${MONTHS[prev.getUTCMonth()]}. de ${prev.getUTCFullYear()} ${hh}\nPara: ${name} <${sender}>\nAsunto: ${topic}\n\n${agent}\n`;
    subject = `${style === 'outlook' ? 'RE' : 'Re'}: ${topic}`;
    quotedHtml = `<div class="gmail_quote"><blockquote style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">${AGENT_LINES.map(escapeHtml).join('<br>')}</blockquote></div>`;
  }

  const headers = [
    `From: ${encodeWord(name)} <${sender}>`,
    `To: ${box}@${MAIL_DOMAIN}`,
    `Subject: ${encodeWord(subject)}`,
    `Date: ${rfc2822(when)}`,
    `Message-ID: <${(i * 2654435761 >>> 0).toString(36)}.${tag}${i}@${domain}>`,
    'MIME-Version: 1.0',
  ];
  const textPart = bodyPart('text/plain; charset=utf-8', text, traits.qp);
  let body: string[];
  if (traits.html) {
    const html = `<html><body><div dir="ltr">${paragraphs.map((p) => (p ? `<div>${escapeHtml(p)}</div>` : '<div><br></div>')).join('')}</div>${quotedHtml}</body></html>`;
    body = multipart('alternative', [textPart, bodyPart('text/html; charset=utf-8', html, true)], `alt-${tag}${i}`);
  } else {
    body = textPart;
  }
  if (traits.attachment) {
    const kind = pick([['captura.png', 'image/png'], ['factura.pdf', 'application/pdf'], ['registro.txt', 'text/plain']] as const);
    const size = 1_024 + Math.floor(rng() * 40_000);
    const content = Buffer.alloc(size);
    for (let b = 0; b < size; b++) content[b] = Math.floor(rng() * 256);
    const att = [
      `Content-Type: ${kind[1]}; name="${kind[0]}"`,
      `Content-Disposition: attachment; filename="${kind[0]}"`,
      'Content-Transfer-Encoding: base64',
      '',
      ...(content.toString('base64').match(/.{1,76}/g) ?? []),
    ];
    body = multipart('mixed', [body, att], `mix-${tag}${i}`);
  }
  return { box, sender, raw: Buffer.from([...headers, ...body].join('\n') + '\n'), traits };
}

/** Content headers, blank line and the encoded body of one MIME part. */
function bodyPart(contentType: string, text: string, qp: boolean): string[] {
  return [`Content-Type: ${contentType}`, `Content-Transfer-Encoding: ${qp ? 'quoted-printable' : '8bit'}`, '', qp ? quotedPrintable(text) : text];
}

function multipart(subtype: string, parts: string[][], boundary: string): string[] {
  const b = `----=_Part_${boundary}`;
  return [`Content-Type: multipart/${subtype}; boundary="${b}"`, '', ...parts.flatMap((p) => [`--${b}`, ...p]), `--${b}--`];
}

/** RFC 2045 §6.7: =XX for non-printables, trailing white space encoded, soft breaks at 76. */
function quotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const bytes = Buffer.from(line, 'utf8');
    let enc = '';
    bytes.forEach((b, k) => {
      const plain = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && k < bytes.length - 1);
      enc += plain ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    });
    while (enc.length > 76) {
      let cut = 75;
      // Never split an =XX escape across the soft break.
      if (enc[cut - 1] === '=') cut -= 1;
      else if (enc[cut - 2] === '=') cut -= 2;
      out.push(`${enc.slice(0, cut)}=`);
      enc = enc.slice(cut);
    }
    out.push(enc);
  }
  return out.join('\n');
}

/** RFC 2047 B-encoding for non-ASCII header text, in words short enough for a 76-char line. */
function encodeWord(s: string): string {
  if (/^[\x20-\x7e]*$/.test(s)) return s;
  const chunks = s.match(/.{1,18}/gu) ?? [];
  return chunks.map((c) => `=?UTF-8?B?${Buffer.from(c, 'utf8').toString('base64')}?=`).join('\n ');
}

function rfc2822(d: Date): string {
  const local = new Date(d.getTime() - 6 * 3_600_000); // Mexico City, no DST since 2022
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${EN_DAYS[local.getUTCDay()]}, ${local.getUTCDate()} ${EN_MONTHS[local.getUTCMonth()]} ${local.getUTCFullYear()} ${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())} -0600`;
}

function ascii(s: string): string {
  return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// ---------------------------------------------------------------------------------------------
// Parent: Dovecot, sink, phases, report
// ---------------------------------------------------------------------------------------------

export interface BacklogStats { bytes: number; perBox: Record<Box, number>; quoted: number; html: number; attachment: number; qp: number; log: number }

/**
 * Writes the backlog into `new/` of each user's Maildir, as the delivery agent would, owned by
 * the user Dovecot runs mail processes as (the owner of the harness's `mail/` directory).
 * `copies` names the users that get a copy of a mail for its box (here: Mesa's and the raw stack's).
 */
export function writeBacklog(dovecot: DovecotServer, count: number, copies: (box: Box) => string[] = (box) => [box, RAW_USER(box)]): BacklogStats {
  const mailRoot = join(dovecot.baseDir, 'mail');
  const { uid, gid } = statSync(mailRoot);
  const dirs = new Map<string, string>();
  for (const user of Object.keys(dovecot.users)) {
    for (const sub of ['', 'cur', 'new', 'tmp']) {
      const dir = join(mailRoot, user, sub);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chownSync(dir, uid, gid);
    }
    dirs.set(user, join(mailRoot, user, 'new'));
  }
  const stats: BacklogStats = { bytes: 0, perBox: { mesadeayuda: 0, soportetecnico: 0 }, quoted: 0, html: 0, attachment: 0, qp: 0, log: 0 };
  for (let i = 0; i < count; i++) {
    const m = backlogMail(i);
    stats.bytes += m.raw.length;
    stats.perBox[m.box]++;
    for (const k of Object.keys(m.traits) as Array<keyof BacklogMail['traits']>) if (m.traits[k]) stats[k]++;
    // Maildir base name: unique, ",S=" lets Dovecot skip a stat for the size.
    const name = `${Math.floor(BASE_TIME / 1000) + i}.M${i}P${process.pid}.mesabench,S=${m.raw.length}`;
    for (const user of copies(m.box)) {
      const file = join(dirs.get(user) as string, name);
      writeFileSync(file, m.raw, { mode: 0o600 });
      chownSync(file, uid, gid);
    }
  }
  return stats;
}

/**
 * Lets Dovecot take in the Maildirs (move new/ to cur/, assign UIDs, build indexes) before the
 * clocks start, as it would have done at delivery time for a real backlog; checks the counts.
 */
export async function indexMailboxes(dovecot: DovecotServer, expected: Record<string, number>): Promise<void> {
  await Promise.all(Object.entries(expected).map(async ([user, n]) => {
    const client = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user, pass: dovecot.users[user] as string }, logger: false, disableAutoIdle: true });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const status = await client.status('INBOX', { messages: true });
      const seen = status ? status.messages : undefined;
      if (seen !== n) throw new Error(`${user}: Dovecot sees ${seen} messages, expected ${n}`);
    } finally {
      await client.logout().catch(() => undefined);
    }
  }));
}

/**
 * Arrival times at the sink, by recipient. The sink keeps every message it receives, parsed;
 * for 10k acks that is memory and GC work the bench does not need, so each arrival is noted
 * (at the moment the sink accepts it, just before its 250 reply) and the message dropped.
 */
class AckTracker {
  private readonly arrivals = new Map<string, number>();
  /** Per sending mailbox (the envelope From): first and last ack, and how many. */
  readonly bySender = new Map<string, { first: number; last: number; n: number }>();
  total = 0;
  lastAt = 0;

  constructor(sink: SmtpSink) {
    sink.messages.push = (...items: SunkMessage[]): number => {
      const at = Date.now();
      for (const m of items) {
        this.total++;
        this.lastAt = at;
        for (const to of m.envelopeTo) if (!this.arrivals.has(to)) this.arrivals.set(to, at);
        const seen = this.bySender.get(m.envelopeFrom);
        if (seen) { seen.last = at; seen.n++; } else this.bySender.set(m.envelopeFrom, { first: at, last: at, n: 1 });
      }
      return 0;
    };
  }

  get distinct(): number {
    return this.arrivals.size;
  }

  at(recipient: string): number | undefined {
    return this.arrivals.get(recipient.toLowerCase());
  }

  reset(): void {
    this.arrivals.clear();
    this.bySender.clear();
    this.total = 0;
    this.lastAt = 0;
  }
}

type Role = 'raw' | 'mesa';

interface ChildConfig {
  role: Role;
  imap: { host: string; port: number };
  boxes: Array<{ id: Box; user: string; password: string; address: string }>;
  smtpPort: number;
  workDir: string;
  /** Mesa's store: null for SQLite under workDir, else a PostgreSQL URL. */
  databaseUrl: string | null;
  /** Several instances: this one's MESA_INSTANCE, and it starts only on the parent's `go`. */
  instance?: string;
}

/** `mark`: the backlog is done (all acks at the sink); the child notes its CPU time so far. */
type ToChild = { type: 'run'; config: ChildConfig } | { type: 'go' } | { type: 'mark' } | { type: 'stop' };

interface ChildReport {
  /** RSS when the clock started: the runtime and every module loaded, no mail yet. */
  startRssMb: number;
  maxRssMb: number;
  sampledPeakRssMb: number;
  /** Peaks of the V8 heap in use and of memory outside it (Buffers), sampled with the RSS. */
  peakHeapUsedMb: number;
  peakExternalMb: number;
  /** CPU time the process spent from the start of its clock to `mark`, in ms. */
  backlogCpu: { userMs: number; systemMs: number };
  facts: Record<string, unknown>;
}

type FromChild = { type: 'started'; at: number } | ({ type: 'done' } & ChildReport) | { type: 'failed'; error: string };

interface PhaseResult { startedAt: number; endedAt: number; msgPerSec: number; report: ChildReport; cpu: ReturnType<typeof coresBetween> }

/** Runs one contender over the backlog: start → all `expected` acks at the sink → stop. */
async function runBacklogPhase(role: Role, config: Omit<ChildConfig, 'role'>, tracker: AckTracker, expected: number,
  profileDir: string | null, between?: () => Promise<void>): Promise<PhaseResult> {
  tracker.reset();
  const contender = new ForkedChild<ToChild, FromChild>(['ingest'], profileDir ? { dir: profileDir, name: role } : null);
  try {
    contender.send({ type: 'run', config: { ...config, role } });
    const { at: startedAt } = await contender.next('started', 120_000);
    const cpuAtStart = cpuSnapshot();
    const progress = setInterval(() => {
      const s = (Date.now() - startedAt) / 1000;
      process.stderr.write(`  ${role}: ${tracker.distinct}/${expected} acks after ${s.toFixed(0)} s\n`);
    }, 10_000);
    try {
      await waitFor(() => tracker.distinct >= expected, `${expected} acks from ${role}`, 120_000 + expected * 60);
    } finally {
      clearInterval(progress);
    }
    const endedAt = tracker.lastAt;
    const cpu = coresBetween(cpuAtStart, cpuSnapshot());
    contender.send({ type: 'mark' });
    if (between) await between();
    contender.send({ type: 'stop' });
    const done = await contender.next('done', 120_000);
    await contender.exit();
    const { type: _type, ...report } = done;
    return { startedAt, endedAt, msgPerSec: expected / ((endedAt - startedAt) / 1000), report, cpu };
  } finally {
    contender.kill();
  }
}

/**
 * Two Mesa instances on one PostgreSQL and the same two mailboxes, started together: each takes
 * one mailbox (the share), and the backlog is done when every ack is at the sink.
 */
async function runPairPhase(config: Omit<ChildConfig, 'role'>, tracker: AckTracker, expected: number): Promise<{ msgPerSec: number; processed: Array<Record<string, unknown>>; cpu: ReturnType<typeof coresBetween>; mesaCores: number[]; timeline: string[] }> {
  tracker.reset();
  const pair = ['duo-a', 'duo-b'].map(() => new ForkedChild<ToChild, FromChild>(['ingest'], null));
  try {
    pair.forEach((c, i) => c.send({ type: 'run', config: { ...config, workDir: join(config.workDir, `duo-${i}`), role: 'mesa', instance: `duo-${i}` } }));
    await sleep(3_000); // both opened (schema, pool) before either starts
    for (const c of pair) c.send({ type: 'go' });
    const starts = await Promise.all(pair.map((c) => c.next('started', 120_000)));
    const startedAt = Math.min(...starts.map((x) => x.at));
    const cpuAtStart = cpuSnapshot();
    await waitFor(() => tracker.distinct >= expected, `${expected} acks from two instances`, 120_000 + expected * 60);
    const endedAt = tracker.lastAt;
    const cpu = coresBetween(cpuAtStart, cpuSnapshot());
    for (const c of pair) c.send({ type: 'mark' });
    for (const c of pair) c.send({ type: 'stop' });
    const done = await Promise.all(pair.map((c) => c.next('done', 120_000)));
    await Promise.all(pair.map((c) => c.exit()));
    const seconds = (endedAt - startedAt) / 1000;
    const timeline = [...tracker.bySender].map(([from, t]) => `${from.split('@')[0]} ${t.n} acks from +${((t.first - startedAt) / 1000).toFixed(1)} s to +${((t.last - startedAt) / 1000).toFixed(1)} s`);
    return {
      timeline,
      msgPerSec: expected / seconds, processed: done.map((d) => (d.facts as { processed: Record<string, unknown> }).processed), cpu,
      mesaCores: done.map((d) => Math.round(((d.backlogCpu.userMs + d.backlogCpu.systemMs) / 1000 / seconds) * 100) / 100),
    };
  } finally {
    for (const c of pair) c.kill();
  }
}

/**
 * With Mesa caught up and idle (in IDLE on both mailboxes), APPENDs one message at a time,
 * 50–100 ms apart, and measures APPEND completion → ack accepted by the sink.
 */
async function measureAckLatency(dovecot: DovecotServer, tracker: AckTracker, firstIndex: number): Promise<number[]> {
  const rng = prng(SEED + 1);
  const appended: Array<{ sender: string; at: number }> = [];
  for (let j = 0; j < LATENCY_SAMPLES; j++) {
    const m = backlogMail(firstIndex + j, 'lat');
    await dovecot.appendRaw(m.box, Buffer.from(m.raw.toString('utf8').replace(/\n/g, '\r\n')));
    appended.push({ sender: m.sender, at: Date.now() });
    await sleep(50 + rng() * 50);
  }
  await waitFor(() => appended.every((a) => tracker.at(a.sender) !== undefined), `${LATENCY_SAMPLES} latency acks`, 60_000);
  return appended.map((a) => (tracker.at(a.sender) as number) - a.at);
}

/** `ingest [--store sqlite|postgres]`: with postgres, Mesa runs on each engine in turn, same backlog. */
export function ingestStoreOption(args: string[]): 'sqlite' | 'postgres' {
  if (args.length === 0) return 'sqlite';
  if (args.length === 2 && args[0] === '--store' && (args[1] === 'sqlite' || args[1] === 'postgres')) return args[1];
  throw new Error('usage: npm run bench -- ingest [--store sqlite|postgres]');
}

export async function runIngestBench(args: string[] = []): Promise<void> {
  const store = ingestStoreOption(args);
  const n = positiveInt('BENCH_MESSAGES', DEFAULT_MESSAGES);
  const profileDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : null;
  const workDir = mkdtempSync(join(tmpdir(), 'mesa-bench-'));
  let dovecot: DovecotServer | null = null;
  let postgres: PostgresServer | null = null;
  const sink = new SmtpSink();
  const cleanUp = async (): Promise<void> => {
    for (const c of ForkedChild.live) c.kill();
    await sink.stop();
    await dovecot?.stop();
    await postgres?.remove();
    rmSync(workDir, { recursive: true, force: true });
  };
  // Ctrl-C: leave no Dovecot, child or temp dir behind.
  const onSignal = (): void => { void cleanUp().finally(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    console.log(`ingest benchmark: ${n} messages; ${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node ${process.version}`);
    let t0 = Date.now();
    const copies = (box: string): string[] => (store === 'postgres' ? [box, RAW_USER(box), PG_USER(box), PAIR_USER(box)] : [box, RAW_USER(box)]);
    dovecot = await startDovecot({ users: BOXES.flatMap(copies) });
    await sink.start();
    const tracker = new AckTracker(sink);
    const backlog = writeBacklog(dovecot, n, copies);
    const perUser: Record<string, number> = {};
    for (const box of BOXES) for (const user of copies(box)) perUser[user] = backlog.perBox[box];
    if (store === 'postgres') postgres = await startPostgres();
    await indexMailboxes(dovecot, perUser);
    const prepSeconds = (Date.now() - t0) / 1000;
    console.log(`backlog: ${n} mails (${(backlog.bytes / 1048576).toFixed(1)} MB, mean ${(backlog.bytes / n / 1024).toFixed(1)} KB), `
      + `mesadeayuda ${backlog.perBox.mesadeayuda} / soportetecnico ${backlog.perBox.soportetecnico}; `
      + `${backlog.quoted} quoted replies, ${backlog.html} with HTML, ${backlog.attachment} with attachments, ${backlog.qp} quoted-printable, ${backlog.log} with log pastes; `
      + `written twice and indexed by Dovecot in ${prepSeconds.toFixed(1)} s`);

    const base = (users: (box: Box) => string): Omit<ChildConfig, 'role'> => ({
      imap: { host: dovecot!.host, port: dovecot!.port },
      boxes: BOXES.map((id) => ({ id, user: users(id), password: dovecot!.users[users(id)] as string, address: `${id}@${MAIL_DOMAIN}` })),
      smtpPort: sink.port,
      workDir,
      databaseUrl: null,
    });

    t0 = Date.now();
    const raw = await runBacklogPhase('raw', base(RAW_USER), tracker, n, profileDir);
    console.log(`raw stack: ${n} in ${((raw.endedAt - raw.startedAt) / 1000).toFixed(2)} s = ${raw.msgPerSec.toFixed(1)} msg/s (peak RSS ${raw.report.maxRssMb.toFixed(0)} MB)`);

    let latencies: number[] = [];
    const mesa = await runBacklogPhase('mesa', base((b) => b), tracker, n, profileDir, async () => {
      // Let both pollers finish flagging the last batch and settle into IDLE.
      await sleep(3_000);
      latencies = await measureAckLatency(dovecot!, tracker, n);
    });
    let onPostgres: PhaseResult | null = null;
    let pairOnPostgres: Awaited<ReturnType<typeof runPairPhase>> | null = null;
    if (postgres) {
      const url = await postgres.createDatabase('mesa_bench');
      onPostgres = await runBacklogPhase('mesa', { ...base(PG_USER), workDir: join(workDir, 'pg'), databaseUrl: url }, tracker, n, profileDir);
      console.log(`mesa (PostgreSQL ${postgres.port}): ${n} in ${((onPostgres.endedAt - onPostgres.startedAt) / 1000).toFixed(2)} s = ${onPostgres.msgPerSec.toFixed(1)} msg/s`);
      console.log(`           facts: ${JSON.stringify(onPostgres.report.facts)}`);
      const pairUrl = await postgres.createDatabase('mesa_bench_pair');
      pairOnPostgres = await runPairPhase({ ...base(PAIR_USER), workDir: join(workDir, 'duo'), databaseUrl: pairUrl }, tracker, n);
      console.log(`two instances (PostgreSQL): ${pairOnPostgres.msgPerSec.toFixed(1)} msg/s; mailboxes read by each: ${JSON.stringify(pairOnPostgres.processed)}; ${pairOnPostgres.timeline.join('; ')}`);
    }
    const ratio = mesa.msgPerSec / raw.msgPerSec;
    const sorted = [...latencies].sort((a, b) => a - b);
    const p = (q: number): number => percentile(sorted, q);
    console.log(`mesa:      ${n} in ${((mesa.endedAt - mesa.startedAt) / 1000).toFixed(2)} s = ${mesa.msgPerSec.toFixed(1)} msg/s`);
    console.log(`           facts: ${JSON.stringify(mesa.report.facts)}`);
    console.log('');
    console.log('summary');
    console.log(`  throughput   mesa ${mesa.msgPerSec.toFixed(1)} msg/s, raw ${raw.msgPerSec.toFixed(1)} msg/s, ratio ${ratio.toFixed(3)} (target >= 0.8: ${ratio >= 0.8 ? 'met' : 'NOT met'})`);
    console.log(`  ack latency  ${LATENCY_SAMPLES} APPENDs while idle: p50 ${p(0.5)} ms, p90 ${p(0.9)} ms, p99 ${p(0.99)} ms, min ${sorted[0]} ms, max ${sorted[sorted.length - 1]} ms (target p50 <= 1000 ms: ${p(0.5) <= 1000 ? 'met' : 'NOT met'})`);
    const cpuLine = (r: PhaseResult): string => {
      const { userMs, systemMs } = r.report.backlogCpu;
      return `${((userMs + systemMs) / n).toFixed(2)} ms/msg (user ${(userMs / 1000).toFixed(1)} s + system ${(systemMs / 1000).toFixed(1)} s, ${(100 * (userMs + systemMs) / (r.endedAt - r.startedAt)).toFixed(0)}% of one core)`;
    };
    console.log(`  CPU          mesa process ${cpuLine(mesa)}; raw-stack process ${cpuLine(raw)}`);
    console.log(`  peak RSS     mesa process ${mesa.report.maxRssMb.toFixed(1)} MB (sampled every 100 ms: ${mesa.report.sampledPeakRssMb.toFixed(1)} MB; `
      + `${mesa.report.startRssMb.toFixed(1)} MB at start, before any mail; V8 heap in use peaked at ${mesa.report.peakHeapUsedMb.toFixed(0)} MB, `
      + `Buffers at ${mesa.report.peakExternalMb.toFixed(0)} MB); raw-stack process ${raw.report.maxRssMb.toFixed(1)} MB (${raw.report.startRssMb.toFixed(1)} MB at start)`);
    console.log(`  wall time    ${((Date.now() - t0) / 1000 + prepSeconds).toFixed(0)} s including preparation`);
    if (onPostgres) {
      const vs = onPostgres.msgPerSec / mesa.msgPerSec;
      console.log(`  engines      PostgreSQL ${onPostgres.msgPerSec.toFixed(1)} msg/s vs SQLite ${mesa.msgPerSec.toFixed(1)} msg/s: ${vs.toFixed(3)} (target >= 0.7: ${vs >= 0.7 ? 'met' : 'NOT met'}); `
        + `CPU ${cpuLine(onPostgres)}; peak RSS ${onPostgres.report.maxRssMb.toFixed(1)} MB`);
    }
    const split = (c: PhaseResult['cpu'], mesaCores: number[]): string => `machine ${c.machine} of ${c.cores} cores busy: `
      + [...mesaCores.map((m, i) => `mesa${mesaCores.length > 1 ? ` ${i + 1}` : ''} ${m}`), ...Object.entries(c.groups).map(([g, v]) => `${g} ${v}`)].join(', ');
    const coresOf = (r: PhaseResult): number => Math.round(((r.report.backlogCpu.userMs + r.report.backlogCpu.systemMs) / (r.endedAt - r.startedAt)) * 100) / 100;
    if (onPostgres) console.log(`  cpu split    one instance on PostgreSQL, ${split(onPostgres.cpu, [coresOf(onPostgres)])}`);
    if (onPostgres && pairOnPostgres) {
      const x = pairOnPostgres.msgPerSec / onPostgres.msgPerSec;
      console.log(`  instances    two on PostgreSQL ${pairOnPostgres.msgPerSec.toFixed(1)} msg/s vs one ${onPostgres.msgPerSec.toFixed(1)} msg/s: ${x.toFixed(2)}x (target >= 1.3: ${x >= 1.3 ? 'met' : 'NOT met'})`);
      console.log(`  cpu split    two instances, ${split(pairOnPostgres.cpu, pairOnPostgres.mesaCores)}`);
    }
    if (profileDir) console.log(`  CPU profiles in ${profileDir}/{raw,mesa}/`);
    console.log(JSON.stringify({
      bench: 'ingest', store, messages: n,
      mesaMsgPerSec: round(mesa.msgPerSec, 1), rawMsgPerSec: round(raw.msgPerSec, 1), ratio: round(ratio, 3),
      ackP50Ms: p(0.5), ackP99Ms: p(0.99), peakRssMb: round(mesa.report.maxRssMb, 1),
      ...(onPostgres ? { postgresMsgPerSec: round(onPostgres.msgPerSec, 1), postgresVsSqlite: round(onPostgres.msgPerSec / mesa.msgPerSec, 3), postgresPeakRssMb: round(onPostgres.report.maxRssMb, 1) } : {}),
      ...(onPostgres && pairOnPostgres ? {
        twoInstancesMsgPerSec: round(pairOnPostgres.msgPerSec, 1), twoVsOne: round(pairOnPostgres.msgPerSec / onPostgres.msgPerSec, 2),
        twoInstancesMachineCores: pairOnPostgres.cpu.machine, twoInstancesMesaCores: pairOnPostgres.mesaCores,
      } : {}),
    }));
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await cleanUp();
  }
}

// ---------------------------------------------------------------------------------------------
// Children: the raw stack and Mesa
// ---------------------------------------------------------------------------------------------

/** Entry of a forked contender: waits for its config, runs, reports, exits. */
export async function runIngestChild(): Promise<void> {
  const messages: ToChild[] = [];
  const cpu: { atStart?: NodeJS.CpuUsage; backlog?: NodeJS.CpuUsage } = {};
  process.on('message', (m: ToChild) => {
    if (m.type === 'mark') cpu.backlog = process.cpuUsage(cpu.atStart);
    else messages.push(m);
  });
  // If the parent dies, the IPC channel closes; do not linger as an orphan.
  process.on('disconnect', () => process.exit(1));
  const next = <T extends ToChild['type']>(type: T): Promise<Extract<ToChild, { type: T }>> =>
    waitFor(() => {
      const i = messages.findIndex((m) => m.type === type);
      return i >= 0 ? (messages.splice(i, 1)[0] as Extract<ToChild, { type: T }>) : undefined;
    }, `parent '${type}'`, 24 * 3_600_000);

  const peak = { rss: 0, heap: 0, external: 0 };
  const sample = (): void => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heap = Math.max(peak.heap, m.heapUsed);
    peak.external = Math.max(peak.external, m.external + m.arrayBuffers);
  };
  let startRss = 0;
  const sampler = setInterval(sample, 100);
  sampler.unref();
  try {
    const { config } = await next('run');
    const run = config.role === 'raw' ? rawStack(config) : mesaDaemon(config, () => next('go').then(() => undefined));
    const facts = await run(
      (at) => {
        startRss = process.memoryUsage().rss;
        cpu.atStart = process.cpuUsage();
        return tell({ type: 'started', at });
      },
      () => next('stop').then(() => undefined),
    );
    sample();
    const mb = (bytes: number): number => bytes / 1048576;
    // maxRSS is in kilobytes on Linux.
    await tell({ type: 'done', startRssMb: mb(startRss), maxRssMb: process.resourceUsage().maxRSS / 1024, sampledPeakRssMb: mb(peak.rss),
      peakHeapUsedMb: mb(peak.heap), peakExternalMb: mb(peak.external), facts,
      backlogCpu: { userMs: (cpu.backlog?.user ?? Number.NaN) / 1000, systemMs: (cpu.backlog?.system ?? Number.NaN) / 1000 } });
  } catch (err) {
    await tell({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  } finally {
    clearInterval(sampler);
    process.removeAllListeners('disconnect');
    process.disconnect();
  }
}

function tell(msg: FromChild): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) { reject(new Error('not a forked child')); return; }
    process.send(msg, undefined, {}, (err) => (err ? reject(err) : resolve()));
  });
}

type ContenderRun = (started: (at: number) => Promise<void>, stopRequested: () => Promise<void>) => Promise<Record<string, unknown>>;

/**
 * The baseline: the same libraries doing the same I/O with no logic. Both mailboxes at once,
 * one connection each (as Mesa's pollers), the listing cut into Mesa's fetch batches, each
 * message parsed with Mesa's mailparser options, one autocommit INSERT per message into a WAL
 * SQLite file with Mesa's pragmas, and a short reply through a nodemailer pool shaped as Mesa's
 * (2 connections, maxMessages Infinity). No dedupe, no blobs, no flags, no threading.
 */
function rawStack(config: ChildConfig): ContenderRun {
  return async (started, stopRequested) => {
    const db = new Database(join(config.workDir, 'raw.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE messages (id INTEGER PRIMARY KEY, mailbox TEXT NOT NULL, uid INTEGER NOT NULL, message_id TEXT,
      from_address TEXT, subject TEXT, body TEXT, received_at INTEGER NOT NULL)`);
    const insert = db.prepare('INSERT INTO messages (mailbox, uid, message_id, from_address, subject, body, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const transport = nodemailer.createTransport({
      host: '127.0.0.1', port: config.smtpPort, secure: false, pool: true, maxConnections: 2, maxMessages: Infinity,
      tls: { rejectUnauthorized: false }, logger: false,
    });
    const parseOptions = { skipImageLinks: true, skipTextToHtml: true, keepDeliveryStatus: true } as Parameters<typeof simpleParser>[1];
    const sends: Array<Promise<unknown>> = [];
    let sendErrors = 0;

    await started(Date.now());
    await Promise.all(config.boxes.map(async (box) => {
      const client = new ImapFlow({ host: config.imap.host, port: config.imap.port, secure: false, auth: { user: box.user, pass: box.password }, logger: false, disableAutoIdle: true });
      client.on('error', () => undefined);
      await client.connect();
      await client.mailboxOpen('INBOX');
      const listing = await client.fetchAll('1:*', { uid: true, size: true }, { uid: true });
      for (const batch of planBatches(listing.map((m) => ({ uid: m.uid, size: m.size ?? 0 })).sort((a, b) => a.uid - b.uid))) {
        const fetched = await client.fetchAll(`${batch[0]}:${batch[batch.length - 1]}`, { uid: true, source: true }, { uid: true });
        for (const m of fetched) {
          if (!m.source) throw new Error(`no source for UID ${m.uid}`);
          const mail = await simpleParser(m.source, parseOptions);
          const from = mail.from?.value[0]?.address ?? '';
          insert.run(box.id, m.uid, mail.messageId ?? null, from, mail.subject ?? '', mail.text ?? '', Date.now());
          sends.push(transport.sendMail({
            from: box.address, to: from, subject: `Re: ${mail.subject ?? ''}`, inReplyTo: mail.messageId, references: mail.messageId,
            text: 'Recibimos su mensaje. Gracias.',
          }).catch(() => { sendErrors++; }));
        }
      }
      await client.logout();
    }));
    await Promise.all(sends);
    await stopRequested();
    transport.close();
    const rows = (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
    db.close();
    return { rows, sent: sends.length - sendErrors, sendErrors };
  };
}

/**
 * A real Mesa on the production default policy (config/default.yaml, so new mail is noticed
 * through IDLE and not the 1 s poll of the test policy), IMAP to the bench's Dovecot, SMTP to
 * the sink, a fresh data directory and a silent logger.
 */
function mesaDaemon(config: ChildConfig, go: () => Promise<void>): ContenderRun {
  return async (started, stopRequested) => {
    const dataDir = join(config.workDir, 'mesa-data');
    // testEnv reads only host, port and users of the servers it is given.
    const dovecot = { host: config.imap.host, port: config.imap.port, users: Object.fromEntries(config.boxes.map((b) => [b.user, b.password])) } as DovecotServer;
    const vars = testEnv(dataDir, { dovecot, smtp: { port: config.smtpPort } as SmtpSink, databaseUrl: config.databaseUrl });
    // Each mailbox logs in as the copy this run reads (e.g. pgmesadeayuda for the PostgreSQL run).
    for (const b of config.boxes) Object.assign(vars, { [`${b.id.toUpperCase()}_USER`]: b.user, [`${b.id.toUpperCase()}_PASSWORD`]: b.password });
    if (config.instance) vars.MESA_INSTANCE = config.instance;
    const env = readEnvironment(vars);
    // Several instances: heartbeats of 0.5 s (production: 5 s) so the two share the mailboxes
    // out within a second of starting together rather than five.
    // With several instances, the lease events go to stderr (when each took or gave up a mailbox).
    const log = config.instance ? createLogger({ level: 'info', pretty: false, destination: leaseEventsTo(process.stderr, config.instance) }) : silentLogger();
    const mesa = await Mesa.open(env, { log, listen: false, policy: loadConfig(REPO_CONFIG), ...(config.instance ? { leaseTiming: { heartbeatMs: 500, ttlMs: 2_500 } } : {}) });
    if (config.instance) await go();
    await started(Date.now());
    await mesa.start();
    await stopRequested();
    const facts = {
      tickets: await mesa.store.tickets.count(),
      outbox: await mesa.store.outbox.counts(),
      quarantine: (await mesa.store.intake.listQuarantine(true)).length,
      processed: Object.fromEntries(mesa.mailboxes.map((k) => [k.mailbox, k.stats.processed])),
    };
    await mesa.stop();
    return facts;
  };
}

// ---------------------------------------------------------------------------------------------

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  // Nearest rank.
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function positiveInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: "${v}" is not a positive integer`);
  return n;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A log destination that passes on only the lease events, one short line each, with the time. */
function leaseEventsTo(out: NodeJS.WritableStream, instance: string): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.includes('"lease.') && !line.includes('"imap.round_failed') && !line.includes('"imap.stopped')) continue;
        const e = JSON.parse(line) as { time: number; event: string; mailbox?: string };
        out.write(`  [${instance} ${new Date(e.time).toISOString().slice(11, 23)}] ${e.event} ${e.mailbox ?? ''}\n`);
      }
      done();
    },
  });
}
