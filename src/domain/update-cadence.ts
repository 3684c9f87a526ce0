import type { Locale, Severity } from './policy.ts';
import type { ServiceTerms } from './service-terms.ts';

/**
 * How often the customer hears from the desk while a case is open, as its terms agree, in words
 * that follow "Le escribiremos …" / "We will write to you …": "cada 2 horas", "cada día hábil",
 * "una vez al día, a las 08:00". Null when the severity has no periodic updates.
 */
export function updateCadence(terms: Pick<ServiceTerms, 'severities' | 'messaging'>, severity: Severity, businessDayMinutes: number, locale: Locale): string | null {
  const digestAt = terms.messaging?.digestAt ?? null;
  const updatesFor = terms.messaging?.updatesFor ?? null;
  if (digestAt !== null && (updatesFor === null || updatesFor.includes(severity))) {
    return locale === 'en' ? `once a day, at ${digestAt}, with all your open cases` : `una vez al día, a las ${digestAt}, con todos sus casos abiertos`;
  }
  const sev = terms.severities[severity];
  const m = sev.customerUpdateMinutes;
  if (m === null) return null;
  const business = sev.clock === 'business';
  const en = locale === 'en';
  if (business && m % businessDayMinutes === 0) {
    const days = m / businessDayMinutes;
    if (en) return days === 1 ? 'every business day' : `every ${days} business days`;
    return days === 1 ? 'cada día hábil' : `cada ${days} días hábiles`;
  }
  const unit = (n: number, one: string, many: string): string => {
    if (en) return n === 1 ? `every ${business ? 'business ' : ''}${one}` : `every ${n} ${business ? 'business ' : ''}${many}`;
    return n === 1 ? `cada ${one}${business ? ' hábil' : ''}` : `cada ${n} ${many}${business ? ' hábiles' : ''}`;
  };
  return m % 60 === 0 ? (en ? unit(m / 60, 'hour', 'hours') : unit(m / 60, 'hora', 'horas')) : (en ? unit(m, 'minute', 'minutes') : unit(m, 'minuto', 'minutos'));
}
