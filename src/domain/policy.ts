import type { EscalationMatrix, Organisation } from './service-terms.ts';

/**
 * The desk's policy as the domain sees it: configuration resolved into plain, typed values
 * (durations in minutes). Built once at start by `config/load-config.ts` and frozen.
 */

export type Severity = 1 | 2 | 3 | 4;
export type Level = 1 | 2 | 3;
export type TicketType = 'incidente' | 'solicitud';
export type ClockKind = 'continuous' | 'business';
export type Locale = 'es-MX' | 'en';

export interface SeverityPolicy {
  id: Severity;
  name: string;
  clock: ClockKind;
  firstResponseMinutes: number;
  resolutionMinutes: number;
  /** Minutes a level may hold the ticket before it escalates (levels 1 and 2). */
  escalateAfterMinutes: Partial<Record<Level, number>>;
  customerUpdateMinutes: number | null;
  sms: boolean;
}

export interface Person {
  name: string;
  /** The address notices go to, and the one reply tokens are signed for. */
  email: string;
  /** Other addresses the person may reply from. */
  aliases?: string[];
  phone: string | null;
  area?: string | null;
}

export interface MailboxPolicy {
  id: string;
  address: string;
  defaultSeverity: Severity;
  defaultType: TicketType;
  defaultCategory: string;
  folder: string;
  processedFolder: string | null;
  pollIntervalSeconds: number;
}

export interface ClassificationRule {
  id: string;
  /** Normalised (lower-case, no accents) words and phrases. */
  words: string[];
  patterns: RegExp[];
  mailboxes: string[] | null;
  weight: number;
  set: { severity?: Severity; type?: TicketType; category?: string; level?: Level };
}

/** A business calendar as configured: the desk's, or a contract's own. */
export interface BusinessHours {
  timeZone: string;
  /** ISO weekday 1 = Monday … 7 = Sunday → open intervals. */
  weeklyHours: Record<number, Array<{ start: string; end: string }>>;
  holidayCountry: string | null;
  extraClosedDates: string[];
}

export interface DeskPolicy {
  desk: {
    name: string;
    phone: string;
    portalUrl: string;
    locale: Locale;
    timeZone: string;
    ticketPrefix: string;
    messageIdDomain: string;
    loopHeader: string;
    reopenWindowDays: number;
  };
  mailboxes: MailboxPolicy[];
  businessHours: BusinessHours & { businessDayMinutes: number };
  severities: Record<Severity, SeverityPolicy>;
  levels: Record<Level, { name: string; people: Person[] }>;
  responsables: Person[];
  /** People who appear only in escalation matrices. */
  people: Person[];
  /** Customers with a contract or their own matrix (DESIGN §11); see `service-terms.ts`. */
  organisations: Organisation[];
  matrices: EscalationMatrix[];
  sla: { warnAtPercent: number; sweepSchedule: string };
  etr: { percentile: number; minHistory: number; windowDays: number; floorPercent: number };
  classification: { minimumScore: number; rules: ClassificationRule[] };
  phone: { voice: string };
  web: {
    portal: { minFillSeconds: number; maxFillHours: number; perIpPerHour: number; perAddressPerHour: number };
    panel: { warnMinutes: number; sessionHours: number };
  };
  /** Major incidents (issue 13); see `domain/incident-detection.ts`. */
  incidents: { enabled: boolean; windowMinutes: number; minTickets: number; severities: Severity[]; minSharedWords: number; level: Level; fanOutPerSecond: number; digestMinutes: number; holdNoticeSeconds: number };
  operations: { readyOutboxBacklog: number };
  intake: { attachmentMaxBytes: number; maxAttempts: number; dropFolderPollSeconds: number };
  outbound: {
    fromName: string;
    retry: { maxAttempts: number; firstDelaySeconds: number; maxDelaySeconds: number };
    autoReplyLimit: { count: number; windowMinutes: number };
    followUpAckQuietMinutes: number;
    /** Budget of one SMS in segments (160/153 GSM-7, 70/67 UCS-2 characters each). */
    smsMaxSegments: number;
  };
  agents: {
    /**
     * The optional stricter check of agents' replies (issue 5): besides the signed token and
     * the From address, the receiving server's Authentication-Results must show an aligned
     * dkim=pass or spf=pass.
     */
    requireAuthentication: { enabled: boolean; domains: string[]; trustedAuthservIds: string[] };
  };
}
