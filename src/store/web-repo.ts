import type { SqlExecutor } from './sql.ts';

/** The web portal's own rows: accepted form submissions (by nonce), and contact details it fills in. */
export class WebRepo {
  constructor(private readonly sql: SqlExecutor) {}

  /** The ticket an earlier POST of this form made, if any. */
  async submissionTicket(nonce: string): Promise<number | undefined> {
    const row = await this.sql.get<{ ticket_id: number }>('SELECT ticket_id FROM web_submissions WHERE nonce = ?', [nonce]);
    return row === undefined ? undefined : Number(row.ticket_id);
  }

  /** Records the form's ticket; the primary key makes a second record of the same nonce fail. */
  async recordSubmission(nonce: string, ticketId: number, now: number): Promise<void> {
    await this.sql.run('INSERT INTO web_submissions (nonce, ticket_id, created_at) VALUES (?, ?, ?)', [nonce, ticketId, now]);
  }

  /**
   * Gives a contact the phone number the customer typed when it has none yet and no other
   * contact owns that number (phone numbers are unique: a caller's contact keeps its own).
   */
  async fillContactPhone(contactId: number, e164: string): Promise<boolean> {
    return (await this.sql.run(`UPDATE contacts SET phone = ? WHERE id = ? AND phone IS NULL
      AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.phone = ?)`, [e164, contactId, e164])) > 0;
  }
}
