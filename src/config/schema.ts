import { z } from 'zod';

/** Schema of `config/*.yaml`. Durations stay strings here; `load-config.ts` resolves them. */

const durationText = z.string().regex(/^\s*\d+(\.\d+)?\s*(m|min|h|d|bd)\s*$/i, 'expected a duration such as 15m, 4h, 2d or 3bd');
const severityNumber = z.coerce.number().int().min(1).max(4);
const levelNumber = z.coerce.number().int().min(1).max(3);
const hhmmRange = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, 'expected HH:MM-HH:MM');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD');
const email = z.string().email();
const timeZone = z.string().min(1).refine((zone) => {
  try { new Intl.DateTimeFormat('en', { timeZone: zone }); return true; } catch { return false; }
}, 'unknown IANA time zone (e.g. America/Mexico_City)');

const person = z.object({
  name: z.string().min(1),
  email: email.transform((s) => s.toLowerCase()),
  /** Other addresses the person writes from (a phone's account, an old address). */
  aliases: z.array(email.transform((s) => s.toLowerCase())).default([]),
  phone: z.string().nullable().default(null),
  area: z.string().min(1).nullable().default(null),
}).strict();

const mailbox = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'lower-case identifier'),
  address: email.transform((s) => s.toLowerCase()),
  defaultSeverity: severityNumber,
  defaultType: z.enum(['incidente', 'solicitud']),
  defaultCategory: z.string().min(1),
  folder: z.string().min(1).default('INBOX'),
  processedFolder: z.string().min(1).nullable().default(null),
  pollIntervalSeconds: z.number().int().min(1).max(3600).default(30),
}).strict();

const severity = z.object({
  name: z.string().min(1),
  clock: z.enum(['continuous', 'business']),
  firstResponse: durationText,
  resolution: durationText,
  escalateAfter: z.record(z.string().regex(/^[12]$/, 'level 1 or 2'), durationText),
  customerUpdateEvery: durationText.nullable(),
  sms: z.boolean(),
}).strict();

const rule = z.object({
  id: z.string().min(1),
  words: z.array(z.string().min(1)).default([]),
  patterns: z.array(z.string().min(1).refine((p) => {
    try { new RegExp(p, 'iu'); return true; } catch { return false; }
  }, 'invalid regular expression')).default([]),
  mailboxes: z.array(z.string()).optional(),
  weight: z.number().positive().default(1),
  set: z.object({
    severity: severityNumber.optional(),
    type: z.enum(['incidente', 'solicitud']).optional(),
    category: z.string().min(1).optional(),
    level: levelNumber.optional(),
  }).strict(),
}).strict().refine((r) => r.words.length + r.patterns.length > 0, 'a rule needs words or patterns');

const identifier = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'lower-case identifier');
const domainName = z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'a domain name').transform((s) => s.toLowerCase());

/** What a contract changes of a severity's defaults; anything left out stays the desk's. */
const contractTargets = z.object({
  clock: z.enum(['continuous', 'business']).optional(),
  firstResponse: durationText.optional(),
  resolution: durationText.optional(),
  escalateAfter: z.record(z.string().regex(/^[12]$/, 'level 1 or 2'), durationText).optional(),
  customerUpdateEvery: durationText.nullable().optional(),
  sms: z.boolean().optional(),
}).strict();

const weekly = z.object({
  mon: z.array(hhmmRange).default([]), tue: z.array(hhmmRange).default([]),
  wed: z.array(hhmmRange).default([]), thu: z.array(hhmmRange).default([]),
  fri: z.array(hhmmRange).default([]), sat: z.array(hhmmRange).default([]),
  sun: z.array(hhmmRange).default([]),
}).strict();

/** A contract's own business calendar: what it names replaces the desk's `businessHours`. */
const contractCalendar = z.object({
  timeZone: timeZone.optional(),
  /** The whole week when given (a day left out is closed). */
  weekly: weekly.optional(),
  holidayCountry: z.string().length(2).nullable().optional(),
  /** Days the customer is closed besides the country's holidays (replaces the desk's list). */
  extraClosedDates: z.array(isoDate).optional(),
}).strict();

/** Which messages the organisation's customers receive, and how (DESIGN §11). */
const customerMessages = z.object({
  /** The agreed single channel for every message to the customer; absent: the one they wrote by. */
  channel: z.enum(['email', 'sms']).nullable().default(null),
  /** false: never an SMS to the customer (a call is answered by email). */
  sms: z.boolean().default(true),
  /** Severities that get the periodic updates (the others hear of changes only); absent: all. */
  updatesFor: z.array(severityNumber).nullable().default(null),
  /** 'HH:MM' (the contract's time zone): one daily digest of open tickets instead of per-ticket updates. */
  digestAt: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM').nullable().default(null),
  /** Addresses copied on every email to the customer (the organisation's coordinator). */
  copy: z.array(email.transform((s) => s.toLowerCase())).default([]),
}).strict();

const organisation = z.object({
  id: identifier,
  name: z.string().min(1),
  match: z.object({
    /** Its contacts' email domains (subdomains included). */
    domains: z.array(domainName).default([]),
    addresses: z.array(email.transform((s) => s.toLowerCase())).default([]),
    /** E.164 numbers, exact (`+528112345678`) or a prefix ending in `*` (`+52818*`). */
    phones: z.array(z.string().min(2)).default([]),
  }).strict(),
  /** The service-level contract: what it changes of the severity defaults, and until when. */
  contract: z.object({
    until: isoDate.nullable().default(null),
    calendar: contractCalendar.nullable().default(null),
    customer: customerMessages.nullable().default(null),
    severities: z.object({ 1: contractTargets.optional(), 2: contractTargets.optional(), 3: contractTargets.optional(), 4: contractTargets.optional() }).strict().default({}),
    /** false: its reports never share a major incident (nor its messages) with other organisations. */
    sharedMessages: z.boolean().default(true),
  }).strict().nullable().default(null),
}).strict();

/** People named (by name or address) from `levels`, `responsables` or `people`. */
const peopleRefs = z.array(z.string().min(1));

const matrix = z.object({
  id: identifier,
  organisation: z.string().nullable().default(null),
  category: z.string().min(1).nullable().default(null),
  levels: z.object({ 1: peopleRefs.optional(), 2: peopleRefs.optional(), 3: peopleRefs.optional() }).strict().default({}),
  /** Whose people a level left empty takes: another matrix's id; absent, the levels' (the default matrix). */
  fallback: z.string().nullable().default(null),
}).strict();

export const configSchema = z.object({
  desk: z.object({
    name: z.string().min(1),
    phone: z.string().min(1),
    portalUrl: z.string().url(),
    locale: z.enum(['es-MX', 'en']),
    timeZone,
    ticketPrefix: z.string().regex(/^[A-Z]{2,6}$/, 'two to six capital letters'),
    messageIdDomain: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'a domain name'),
    loopHeader: z.string().regex(/^X-[A-Za-z0-9-]+$/, 'an X- header name'),
    reopenWindowDays: z.number().int().min(0),
  }).strict(),
  mailboxes: z.array(mailbox).min(1),
  businessHours: z.object({
    timeZone,
    weekly,
    holidayCountry: z.string().length(2).nullable(),
    extraClosedDates: z.array(isoDate).default([]),
    businessDayMinutes: z.number().int().min(1).max(1440),
  }).strict(),
  severities: z.object({ 1: severity, 2: severity, 3: severity, 4: severity }).strict(),
  levels: z.object({
    1: z.object({ name: z.string(), people: z.array(person) }).strict(),
    2: z.object({ name: z.string(), people: z.array(person) }).strict(),
    3: z.object({ name: z.string(), people: z.array(person) }).strict(),
  }).strict(),
  responsables: z.array(person).default([]),
  /** People who appear only in escalation matrices (a specialist for one customer). */
  people: z.array(person).default([]),
  organisations: z.array(organisation).default([]),
  matrices: z.array(matrix).default([]),
  sla: z.object({
    warnAtPercent: z.number().min(1).max(99),
    sweepSchedule: z.string().min(9),
  }).strict(),
  etr: z.object({
    percentile: z.number().min(1).max(100),
    minHistory: z.number().int().min(1),
    windowDays: z.number().int().min(1),
    floorPercent: z.number().min(1).max(100),
  }).strict(),
  classification: z.object({
    minimumScore: z.number().min(0),
    rules: z.array(rule),
  }).strict(),
  phone: z.object({
    voice: z.string().min(1),
  }).strict(),
  web: z.object({
    portal: z.object({
      /** A form posted sooner than this after it was served is a robot's. */
      minFillSeconds: z.number().min(0).max(600),
      /** A form older than this is stale (its signed timestamp expired). */
      maxFillHours: z.number().min(1).max(168),
      perIpPerHour: z.number().int().min(1),
      perAddressPerHour: z.number().int().min(1),
    }).strict(),
    panel: z.object({
      /** Countdown turns amber when the next escalation is this close. */
      warnMinutes: z.number().int().min(1),
      sessionHours: z.number().min(1).max(720),
    }).strict(),
  }).strict(),
  /** Major incidents (issue 13): a burst of alike reports gathered into one. */
  incidents: z.object({
    enabled: z.boolean().default(false),
    windowMinutes: z.number().int().min(1).max(1440).default(10),
    minTickets: z.number().int().min(2).max(1000).default(5),
    severities: z.array(severityNumber).min(1).default([1, 2]),
    minSharedWords: z.number().int().min(1).max(20).default(3),
    /** The level told once when an incident opens (and that works it). */
    level: z.union([z.literal(1), z.literal(2), z.literal(3)]).default(2),
    /**
     * An update to an incident's customers leaves the outbox at most this many messages a second
     * (the SMTP relay's and the SMS provider's limits); 0: as fast as the dispatcher sends.
     */
    fanOutPerSecond: z.number().int().min(0).max(10_000).default(20),
    /**
     * While an incident is open, the level holding it gets one digest this often with how many
     * tickets joined since it last heard (none when none did); 0: no digests.
     */
    digestMinutes: z.number().int().min(0).max(1440).default(30),
    /**
     * A report alike with recent ones (a burst may be forming) holds its level notice this long;
     * if the burst completes, the incident's one notice replaces it. 0: notify at once.
     */
    holdNoticeSeconds: z.number().int().min(0).max(900).default(120),
  }).strict().prefault({}),
  operations: z.object({
    /** /readyz fails when more than this many outbox rows wait to be sent. */
    readyOutboxBacklog: z.number().int().min(1),
  }).strict(),
  intake: z.object({
    attachmentMaxBytes: z.number().int().min(0),
    maxAttempts: z.number().int().min(1).max(100),
    dropFolderPollSeconds: z.number().min(0.1).max(3600),
  }).strict(),
  outbound: z.object({
    from: z.object({ name: z.string().min(1) }).strict(),
    retry: z.object({
      maxAttempts: z.number().int().min(1).max(100),
      firstDelaySeconds: z.number().min(0),
      maxDelaySeconds: z.number().min(1),
    }).strict(),
    autoReplyLimit: z.object({ count: z.number().int().min(1), windowMinutes: z.number().int().min(1) }).strict(),
    followUpAckQuietMinutes: z.number().int().min(0),
    /** An agent's reply by SMS longer than this is cut (with the status link) or split into numbered parts. */
    smsMaxSegments: z.number().int().min(1).max(10).default(3),
  }).strict(),
  agents: z.object({
    requireAuthentication: z.object({
      enabled: z.boolean().default(false),
      /** Agent address domains it applies to (and their subdomains); empty: every agent. */
      domains: z.array(z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'a domain name').transform((s) => s.toLowerCase())).default([]),
      /** authserv-ids of OUR receiving servers, whose Authentication-Results are believed. */
      trustedAuthservIds: z.array(z.string().min(1).regex(/^[^\s;=()"]+$/, 'an authserv-id (usually a host name)').transform((s) => s.toLowerCase())).default([]),
    }).strict().prefault({}),
  }).strict().prefault({}),
}).strict();

export type RawConfig = z.infer<typeof configSchema>;
