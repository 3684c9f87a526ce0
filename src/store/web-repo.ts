import { prepared, type Db } from './database.ts';

/** The web portal's own rows: accepted form submissions (by nonce), and contact details it fills in. */
export class WebRepo {
  constructor(private readonly db: Db) {}

  /** The ticket an earlier POST of this form made, if any. */
  submissionTicket(nonce: string): number | undefined {
    return (prepared(this.db, 'SELECT ticket_id FROM web_submissions WHERE nonce = ?').get(nonce) as { ticket_id: number } | undefined)?.ticket_id;
  }

  /** Records the form's ticket; the primary key makes a second record of the same nonce fail. */
  recordSubmission(nonce: string, ticketId: number, now: number): void {
    prepared(this.db, 'INSERT INTO web_submissions (nonce, ticket_id, created_at) VALUES (?, ?, ?)').run(nonce, ticketId, now);
  }

  /**
   * Gives a contact the phone number the customer typed when it has none yet and no other
   * contact owns that number (phone numbers are unique: a caller's contact keeps its own).
   */
  fillContactPhone(contactId: number, e164: string): boolean {
    return prepared(this.db, `UPDATE contacts SET phone = ? WHERE id = ? AND phone IS NULL
      AND NOT EXISTS (SELECT 1 FROM contacts WHERE phone = ?)`).run(e164, contactId, e164).changes > 0;
  }
}
