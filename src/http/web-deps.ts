import type { IncidentActions } from '../desk/incident-actions.ts';
import type { SlaClocks } from '../desk/sla-clocks.ts';
import type { Notices } from '../desk/notices.ts';
import type { TicketLifecycle } from '../desk/ticket-lifecycle.ts';
import type { TicketTerms } from '../desk/ticket-terms.ts';
import type { DeskPolicy } from '../domain/policy.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { PageRenderer } from './page-renderer.ts';

/** What the web routes (portal, status page, panel) are built from. */
export interface WebDeps {
  store: Store;
  policy: DeskPolicy;
  lifecycle: TicketLifecycle;
  notices: Notices;
  clocks: SlaClocks;
  /** Each ticket's service terms (the compliance report measures tickets by them). */
  terms: TicketTerms;
  pages: PageRenderer;
  /** HMAC key (status links). */
  secret: string;
  /** Operator token that opens /panel. */
  panelToken: string;
  /** Base of absolute links (MESA_PUBLIC_URL or http://localhost:port). */
  linkBaseUrl: string;
  /** The shell's clock: routes read "now" from it once per request and pass it down. */
  clock: () => Date;
  log: Logger;
  /** Major incidents as agents work them (the panel declares one). */
  incidents: IncidentActions;
  /** Call after a commit that queued outbox rows. */
  onOutbox: () => void;
}
