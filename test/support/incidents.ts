import type { DeskPolicy } from '../../src/domain/policy.ts';

/**
 * What the major-incident tests share (issue 13): detection on, at the defaults' thresholds
 * (five alike reports of severity 1–2 within 10 min), no fan-out pacing so a test reads the
 * outbox at once; and four wordings of one outage, alike enough to make a burst.
 */
export const TEST_INCIDENTS: DeskPolicy['incidents'] = {
  enabled: true, windowMinutes: 10, minTickets: 5, severities: [1, 2], minSharedWords: 3, level: 2,
  fanOutPerSecond: 0, digestMinutes: 30, holdNoticeSeconds: 120,
};

export const OUTAGE_TEXTS: readonly string[] = [
  'No carga el portal de facturación electrónica, marca error 503 al entrar.',
  'El portal de facturación electrónica no carga; error 503 cuando intento entrar.',
  'Portal caído: facturación electrónica con error 503, no podemos entrar.',
  'Desde las 9 el portal no carga, error 503 en facturación electrónica.',
];

/** The n-th report's wording. */
export function outageText(n: number): string {
  return OUTAGE_TEXTS[n % OUTAGE_TEXTS.length] as string;
}
