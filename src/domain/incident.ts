/** What the public reads of a major incident (issue 13). */

/**
 * The title customers and the status page see: the one an agent gave it (`#titulo`), else a
 * neutral one — never the subject of the report that opened it, which is one customer's words
 * and may name them or their company.
 */
export function publicTitle(incident: { public_title: string | null }): string {
  return incident.public_title ?? 'Falla que afecta a varios clientes';
}
