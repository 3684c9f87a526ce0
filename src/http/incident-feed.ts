import { Feed } from 'feed';
import type { PublicIncidentView } from './views/incident-status-view.ts';

/**
 * The public status page as a feed (issue 13): one entry per public update of each incident
 * listed, newest first, so a customer's reader or a chat integration hears of an outage and its
 * ETR without polling the page. Built with `feed` (Atom 1.0 and RSS 2.0 done right: escaping,
 * dates, ids), from the same views the page shows.
 */
export function incidentFeed(views: readonly PublicIncidentView[], opts: { deskName: string; baseUrl: string; now: Date }): Feed {
  const page = `${opts.baseUrl}/estado`;
  const updated = views.reduce((latest, v) => (v.updatedIso > latest ? v.updatedIso : latest), new Date(0).toISOString());
  const feed = new Feed({
    id: `${page}`,
    title: `${opts.deskName}: estado del servicio`,
    description: 'Incidentes que afectan a varios clientes, con su tiempo estimado de solución y sus actualizaciones.',
    link: page,
    language: 'es-MX',
    updated: views.length > 0 ? new Date(updated) : opts.now,
    generator: false,
    copyright: opts.deskName,
    feedLinks: { atom: `${page}/incidentes.atom`, rss: `${page}/incidentes.rss` },
  });
  const entries = views.flatMap((v) => v.updates.map((u, i) => ({ v, u, id: `${page}#${v.key}-${v.updates.length - i}` })));
  entries.sort((a, b) => (a.u.iso < b.u.iso ? 1 : a.u.iso > b.u.iso ? -1 : 0));
  for (const { v, u, id } of entries) {
    const lines = [u.text, u.etr ? `Tiempo estimado de solución: ${u.etr}.` : null, `Estado: ${v.stateName}.`].filter((x): x is string => x !== null && x !== '');
    // The feed marks titles and summaries as HTML: our text is escaped so readers show it as written.
    feed.addItem({ id, title: escapeHtml(`${v.key} · ${v.title}: ${u.label}`), link: `${page}#${v.key}`, date: new Date(u.iso), description: lines.map(escapeHtml).join('<br>') });
  }
  return feed;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
