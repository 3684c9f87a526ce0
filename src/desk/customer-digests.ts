import { DateTime } from 'luxon';
import type { DeskPolicy } from '../domain/policy.ts';
import { contractInForce, type Organisation } from '../domain/service-terms.ts';
import type { TicketRow } from '../domain/ticket.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { Notices } from './notices.ts';
import type { SlaClocks } from './sla-clocks.ts';
import type { TicketTerms } from './ticket-terms.ts';

export interface DigestResult { organisations: number; emails: number }

/**
 * Daily digests for contracts that agree one instead of per-ticket updates (`customer.digestAt`):
 * once the contract's local time passes that hour on a day its calendar is open, each customer
 * of the organisation with open cases gets one email listing them. The day is claimed in the
 * database first, in the same transaction as the emails, so every instance's sweep may call
 * `run` and each organisation still gets one digest a day; a crash before the commit leaves the
 * day unclaimed for the next sweep.
 *
 * A case is in the digest when its recorded terms say so (it was opened, or re-evaluated, under
 * a contract with a digest), like every other term of a case.
 */
export class CustomerDigests {
  constructor(private readonly deps: { store: Store; policy: DeskPolicy; notices: Notices; clocks: SlaClocks; terms: TicketTerms; log: Logger }) {}

  async run(now: Date): Promise<DigestResult> {
    const result: DigestResult = { organisations: 0, emails: 0 };
    for (const o of this.deps.policy.organisations) {
      const day = this.dueDay(o, now);
      if (day === null) continue;
      const emails = await this.deps.store.transaction(async () => {
        if (!await this.deps.store.tickets.claimCustomerDigest(o.id, day, now.getTime())) return null;
        return await this.send(o, now);
      });
      if (emails === null) continue;
      result.organisations++;
      result.emails += emails;
    }
    if (result.emails > 0) this.deps.log.info({ event: 'digests.sent', ...result }, 'resúmenes diarios enviados');
    return result;
  }

  /** The local day whose digest is due at `now` for this organisation, or null (none agreed, not yet time, a closed day). */
  private dueDay(o: Organisation, now: Date): string | null {
    const c = o.contract;
    const at = c?.customer?.digestAt ?? null;
    if (!c || at === null || !contractInForce(c, now, this.deps.policy.desk.timeZone)) return null;
    const calendar = this.deps.clocks.calendar(c.calendar);
    const zone = c.calendar?.timeZone ?? this.deps.policy.businessHours.timeZone;
    const local = DateTime.fromJSDate(now, { zone });
    if (local.toFormat('HH:mm') < at) return null;
    const day = local.toISODate() as string;
    // Only on the customer's working days: a day with no opening hours gets no digest.
    const opens = DateTime.fromJSDate(calendar.nextOpening(local.startOf('day').toJSDate()), { zone });
    return opens.toISODate() === day ? day : null;
  }

  private async send(o: Organisation, now: Date): Promise<number> {
    const { store, notices, terms } = this.deps;
    const byContact = new Map<number, TicketRow[]>();
    for (const t of await store.tickets.openOfOrganisation(o.id)) {
      const m = terms.of(t).messaging ?? null;
      if (m?.digestAt == null || (m.updatesFor !== null && !m.updatesFor.includes(t.severity))) continue;
      const list = byContact.get(t.contact_id);
      if (list) list.push(t);
      else byContact.set(t.contact_id, [t]);
    }
    let emails = 0;
    for (const [contactId, tickets] of byContact) {
      const contact = await store.tickets.contact(contactId);
      if (!contact) continue;
      if (await notices.digestTo(contact, tickets, now, o.contract?.customer?.copy ?? []) !== null) emails++;
    }
    return emails;
  }
}
