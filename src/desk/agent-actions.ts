import type { AgentCommand, ParsedAgentReply } from '../domain/agent-commands.ts';
import type { DeskPolicy, Level, Person } from '../domain/policy.ts';
import { nextUpdateAfter } from '../domain/sla.ts';
import type { Store } from '../store/store.ts';
import type { TicketRow } from '../store/ticket-repo.ts';
import type { Notices } from './notices.ts';
import type { TicketLifecycle } from './ticket-lifecycle.ts';

/**
 * An agent's reply, applied (DESIGN §6): the commands at its top, in order, then the public
 * text relayed to the customer over the ticket's single channel — signed by the desk, level 1
 * being the formal contact — unless the reply is an internal note. Runs inside the caller's
 * transaction; every command is an event with its author.
 */
export class AgentActions {
  constructor(private readonly deps: { store: Store; policy: DeskPolicy; lifecycle: TicketLifecycle; notices: Notices }) {}

  apply(ticket: TicketRow, person: Person, reply: ParsedAgentReply, now: Date): { ticket: TicketRow; relayed: boolean; internal: boolean } {
    const { store, lifecycle, notices } = this.deps;
    const actor = `agent:${person.email}`;
    const t = now.getTime();
    const internal = reply.commands.some((c) => c.kind === 'note');
    const text = reply.publicText.trim();
    let row = ticket;
    if (row.state === 'nuevo') row = lifecycle.save(row, { state: 'en_atencion' }, now);
    let toldCustomer = false;
    for (const cmd of reply.commands) {
      row = this.command(row, cmd, { person, actor, internal, text, now });
      toldCustomer ||= (cmd.kind === 'pending' || cmd.kind === 'resolved') && !internal;
    }
    if (internal) {
      store.tickets.event(row.id, t, actor, 'internal_note', { length: text.length });
      return { ticket: row, relayed: false, internal: true };
    }
    if (text && !toldCustomer) {
      notices.toCustomer(row, 'agent-reply', now, { extras: { replyText: text } });
      store.tickets.event(row.id, t, actor, 'agent_reply_relayed', { channel: row.customer_channel });
      toldCustomer = true;
    }
    if (toldCustomer) {
      // A human answered: the first response is met and the update cadence restarts from here.
      const sev = this.deps.policy.severities[row.severity];
      row = lifecycle.save(lifecycle.reload(row.id), {
        first_responded_at: row.first_responded_at ?? t,
        next_update_due_at: row.state === 'en_atencion' || row.state === 'nuevo' ? nextUpdateAfter(sev, lifecycle.clockOf(row), now)?.getTime() ?? null : row.next_update_due_at,
      }, now);
    }
    return { ticket: row, relayed: toldCustomer, internal: false };
  }

  private command(row: TicketRow, cmd: AgentCommand, c: { person: Person; actor: string; internal: boolean; text: string; now: Date }): TicketRow {
    const { store, lifecycle, notices } = this.deps;
    const t = c.now.getTime();
    switch (cmd.kind) {
      case 'note':
        return row;
      case 'severity':
        // With a public text the relayed reply carries the new ETR: no separate notice.
        return lifecycle.changeSeverity(row, cmd.severity, c.now, c.actor, `#severidad ${cmd.severity}`, { notifyCustomer: !c.internal && !c.text });
      case 'etr':
        return lifecycle.changeEtr(row, { at: cmd.at, source: 'agent', baseMinutes: 0, reason: `fijado por ${c.person.name} (#etr ${cmd.text})` }, c.now, { actor: c.actor, notifyCustomer: !c.internal && !c.text });
      case 'escalate': {
        const to = (cmd.level ?? Math.min(3, row.level + 1)) as Level;
        if (to <= row.level) {
          store.tickets.event(row.id, t, c.actor, 'escalation_ignored', { level: row.level, requested: to }, 'el ticket ya está en ese nivel o uno superior');
          return row;
        }
        return lifecycle.escalate(row, to, c.now, `escalado por ${c.person.name}`, c.actor);
      }
      case 'assign':
        store.tickets.event(row.id, t, c.actor, 'assigned', { to: cmd.who });
        return lifecycle.save(row, { assignee: cmd.who }, c.now);
      case 'pending': {
        const paused = lifecycle.pause(row, c.now, c.actor, 'se pidió información al cliente');
        if (!c.internal) notices.toCustomer(paused, 'customer-request-info', c.now, { extras: { replyText: c.text } });
        return paused;
      }
      case 'resolved': {
        const resolved = lifecycle.resolve(row, c.now, c.actor);
        if (!c.internal) notices.toCustomer(resolved, 'customer-resolved', c.now, { extras: { replyText: c.text } });
        return resolved;
      }
      case 'close':
        store.tickets.event(row.id, t, c.actor, 'closed', { from: row.state });
        return lifecycle.save(row.state === 'resuelto' ? row : lifecycle.resolve(row, c.now, c.actor), { state: 'cerrado' }, c.now);
      case 'reopen':
        return row.state === 'resuelto' || row.state === 'cerrado' ? lifecycle.reopen(row, c.now, c.actor, 'reabierto por un agente') : row;
    }
  }
}
