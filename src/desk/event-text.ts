import type { Locale } from '../domain/policy.ts';

/** One line of a ticket's history, worded for the people a notice goes to. */
export function describeEvent(e: { type: string; actor: string; data: Record<string, unknown>; reason: string | null }, locale: Locale): string {
  const es = locale === 'es-MX';
  const d = e.data;
  const text = ((): string => {
    switch (e.type) {
      case 'created': return es ? `Ticket creado (${String(d.channel ?? '')}${d.mailbox ? `, ${String(d.mailbox)}` : ''}), severidad ${String(d.severity)}` : `Ticket created (${String(d.channel ?? '')}), severity ${String(d.severity)}`;
      case 'service_terms': return es
        ? `Términos de servicio: ${d.organisationName ? `${String(d.organisationName)}${d.contract ? ' (con contrato)' : ''}` : 'generales'}${d.matrix ? `, matriz ${String(d.matrix)}` : ''}`
        : `Service terms: ${d.organisationName ? `${String(d.organisationName)}${d.contract ? ' (under contract)' : ''}` : 'general'}${d.matrix ? `, matrix ${String(d.matrix)}` : ''}`;
      case 'customer_message': return es ? 'Mensaje del cliente' : 'Customer message';
      case 'reopened': return es ? 'Reabierto por respuesta del cliente' : 'Reopened by a customer reply';
      case 'level_warning': return es ? `Aviso al nivel ${String(d.level)}: ${String(d.percent)} % del tiempo del nivel` : `Level ${String(d.level)} warned at ${String(d.percent)} % of its time`;
      case 'escalated': return es ? `Escalado del nivel ${String(d.from)} al ${String(d.to)}` : `Escalated from level ${String(d.from)} to ${String(d.to)}`;
      case 'first_response_breached': return es ? 'Venció el plazo de primera respuesta' : 'First-response deadline missed';
      case 'resolution_breached': return es ? 'Venció el plazo de resolución' : 'Resolution deadline missed';
      case 'etr_changed': return es ? `ETR actualizado (${String(d.source)})` : `ETR updated (${String(d.source)})`;
      case 'customer_update_sent': return es ? 'Actualización enviada al cliente' : 'Update sent to the customer';
      case 'paused': return es ? 'En espera del cliente (reloj detenido)' : 'Waiting for the customer (clock stopped)';
      case 'resumed': return es ? 'Se reanuda la atención' : 'Work resumed';
      case 'resolved': return es ? 'Resuelto' : 'Resolved';
      case 'severity_changed': return es ? `Severidad ${String(d.from)} → ${String(d.to)}` : `Severity ${String(d.from)} → ${String(d.to)}`;
      case 'delivery_failed': return es ? 'Falló la entrega de un mensaje al cliente' : 'A message to the customer bounced';
      case 'agent_reply_relayed': return es ? `Respuesta de ${actorName(e.actor)} enviada al cliente` : `Reply from ${actorName(e.actor)} sent to the customer`;
      case 'agent_attachments_withheld': return es ? `Archivos de ${actorName(e.actor)} no enviados al cliente` : `Files from ${actorName(e.actor)} not sent to the customer`;
      case 'internal_note': return es ? `Nota interna de ${actorName(e.actor)}` : `Internal note by ${actorName(e.actor)}`;
      case 'assigned': return es ? `Asignado a ${String(d.to)}` : `Assigned to ${String(d.to)}`;
      case 'closed': return es ? 'Cerrado' : 'Closed';
      case 'customer_call': return es ? 'El cliente llamó por teléfono' : 'The customer called';
      case 'agent_command_rejected': return es ? 'Comando de agente rechazado (sin cambios)' : 'Agent command refused (no change)';
      case 'agent_reply_rejected': return es ? 'Respuesta de agente rechazada (sin cambios)' : 'Agent reply refused (no change)';
      default: return e.type;
    }
  })();
  return e.reason && !['created', 'message_queued'].includes(e.type) ? `${text} — ${e.reason}` : text;
}

/** `agent:ana@x` → `ana@x`: the author as the desk's people know them. */
function actorName(actor: string): string {
  return actor.replace(/^(agent|customer|caller):/, '');
}

/** Event types that are bookkeeping rather than history worth showing to a level. */
export const QUIET_EVENTS = new Set(['message_queued', 'ack_skipped', 'automatic_mail_recorded', 'message_skipped']);
