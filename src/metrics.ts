import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from './store/store.ts';

/** Prometheus metrics: one registry per Mesa instance (tests run several in one process). */
export function createMetrics(store: Store): { registry: Registry; intake: Counter<'result' | 'origin'> } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mesa_' });
  const intake = new Counter({ name: 'mesa_intake_messages_total', help: 'Inbound messages by outcome', labelNames: ['result', 'origin'] as const, registers: [registry] });
  new Gauge({
    name: 'mesa_outbox_messages', help: 'Outbox rows by status', labelNames: ['status'] as const, registers: [registry],
    collect() {
      for (const [status, n] of Object.entries(store.outbox.counts())) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'mesa_quarantine_open', help: 'Quarantined messages not yet resolved', registers: [registry],
    collect() { this.set(store.intake.listQuarantine().length); },
  });
  return { registry, intake };
}
