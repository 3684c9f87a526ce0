import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import { sharedRateLimitStore } from './shared-rate-limit.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { statusPath } from '../domain/status-link.ts';
import { formatIncidentKey } from '../domain/ticket-key.ts';
import { isOpenState } from '../domain/ticket.ts';
import { levelDirectory } from '../domain/agent-identity.ts';
import { panelIncidentRoutes } from './panel-incident-routes.ts';
import { csrfToken, isPanelRequestAuthorized, issueSession, PANEL_COOKIE, sessionCookieOptions, tokenMatches, type PanelKeys } from './panel-auth.ts';
import { panelRowView, panelTicketView, parsePanelFilters } from './views/panel-views.ts';
import type { WebDeps } from './web-deps.ts';
import { DateTime } from 'luxon';
import { complianceReport, periodProblem, type ReportGrouping, type ReportPeriod } from '../desk/compliance-report.ts';
import { reportCsv } from '../domain/sla-report-text.ts';
import { reportChart, reportRowsView } from './views/report-view.ts';

/**
 * The agents' queue view (DESIGN §9, issue 6) under `/panel`, behind the operator token: the
 * open tickets by urgency with filters, and one ticket with its deadlines, ETR history, events
 * and messages; the major incidents (`panel-incident-routes.ts`). Agents act by email; the one
 * change made here is declaring a major incident, behind a form token. Every route but the login
 * form, logout and the static countdown script needs the token (header) or a session cookie;
 * without it a browser gets the login page with 401, anything else a short 401 text.
 */

const FORM = 'application/x-www-form-urlencoded';
const LIST_LIMIT = 500;
const COUNTDOWN_JS = readFileSync(new URL('./panel-countdown.js', import.meta.url), 'utf8');

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Panel routes reachable without the operator token. */
    panelPublic?: boolean;
  }
}

export function registerPanelRoutes(app: FastifyInstance, web: WebDeps): void {
  void app.register(async (scope) => {
    if (!scope.hasContentTypeParser(FORM)) await scope.register(formbody);
    if (!scope.hasRequestDecorator('cookies')) await scope.register(cookie);
    await scope.register(rateLimit, { global: false, store: sharedRateLimitStore(web.store.rateLimits, web.clock, 'panel') });
    panelScope(scope, web);
  }, { prefix: '/panel' });
}

function panelScope(scope: FastifyInstance, web: WebDeps): void {
  const keys: PanelKeys = { secret: web.secret, panelToken: web.panelToken };
  const { policy } = web;
  const cookieOptions = sessionCookieOptions(web.linkBaseUrl, policy.web.panel.sessionHours);
  const html = (reply: FastifyReply, code: number, page: string, context: object): FastifyReply =>
    web.pages.send(reply, code, page, { section: 'Panel de agentes', ...context });
  const loginPage = (reply: FastifyReply, code: number, opts: { next?: string; error?: string | null }): FastifyReply =>
    html(reply, code, 'panel-login', { title: 'Entrar al panel', next: opts.next ?? '/panel', error: opts.error ?? null });

  scope.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config?.panelPublic) return;
    if (isPanelRequestAuthorized(request, keys, web.clock())) return;
    reply.header('www-authenticate', 'Bearer realm="Mesa panel"');
    if (wantsHtml(request)) return loginPage(reply, 401, { next: safeNext(request.url) });
    return reply.code(401).headers({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
      .send('401: el panel requiere el token de operador (Authorization: Bearer <token>, X-Mesa-Token o sesión iniciada en /panel/login)\n');
  });

  scope.get('/login', { config: { panelPublic: true } }, async (request, reply) => {
    if (isPanelRequestAuthorized(request, keys, web.clock())) return reply.code(303).header('location', '/panel').send();
    const next = safeNext(String((request.query as Record<string, unknown>).next ?? ''));
    return loginPage(reply, 200, { next });
  });

  scope.post('/login', { config: { panelPublic: true, rateLimit: { max: 10, timeWindow: '1 minute' } } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const token = typeof body.token === 'string' ? body.token.trim() : '';
    const next = safeNext(typeof body.next === 'string' ? body.next : '');
    if (!tokenMatches(web.panelToken, token)) {
      web.log.warn({ event: 'panel.login_failed', ip: request.ip }, 'token de panel incorrecto');
      return loginPage(reply, 401, { next, error: 'El token no es válido. Revise que lo haya copiado completo.' });
    }
    web.log.info({ event: 'panel.login', ip: request.ip }, 'sesión de panel iniciada');
    reply.setCookie(PANEL_COOKIE, issueSession(keys, web.clock(), policy.web.panel.sessionHours), cookieOptions);
    return reply.code(303).header('location', next).header('cache-control', 'no-store').send();
  });

  scope.post('/logout', { config: { panelPublic: true } }, async (_request, reply) => {
    reply.clearCookie(PANEL_COOKIE, { path: cookieOptions.path, httpOnly: true, sameSite: 'strict', secure: cookieOptions.secure });
    return reply.code(303).header('location', '/panel/login').header('cache-control', 'no-store').send();
  });

  // The countdown ticks in the browser (the CSP allows same-origin scripts only); the page is
  // correct without it. Static, nothing secret in it.
  scope.get('/countdown.js', { config: { panelPublic: true } }, async (_request, reply) =>
    reply.headers({ 'content-type': 'text/javascript; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' }).send(COUNTDOWN_JS));

  scope.get('/', async (request, reply) => {
    const now = web.clock();
    const filters = parsePanelFilters(request.query as Record<string, unknown>);
    const rows = (await web.store.tickets.listOpen({ ...filters, limit: LIST_LIMIT })).map((t) => panelRowView(policy, t, now));
    const option = (value: string, label: string, current: number | undefined) => ({ value, label, selected: value === String(current ?? '') });
    return html(reply, 200, 'panel', {
      title: 'Tickets abiertos', wide: true,
      rows, count: rows.length, truncated: rows.length >= LIST_LIMIT, limit: LIST_LIMIT,
      filtered: filters.level !== undefined || filters.severity !== undefined,
      levelOptions: [option('', 'Todos', filters.level), ...([1, 2, 3] as const).map((l) => option(String(l), `${l} · ${policy.levels[l].name}`, filters.level))],
      severityOptions: [option('', 'Todas', filters.severity), ...([1, 2, 3, 4] as const).map((s) => option(String(s), `${s} · ${policy.severities[s].name}`, filters.severity))],
      warnMinutes: policy.web.panel.warnMinutes,
    });
  });

  // The compliance report (DESIGN §11): the same figures as `mesa report sla`, with a chart.
  scope.get('/informes', async (request, reply) => {
    const q = reportQuery(request.query as Record<string, unknown>, web.clock(), policy.desk.timeZone);
    const base = { title: 'Informe de cumplimiento · Panel', wide: true, from: q.period.from, to: q.period.to, by: q.by, ...q.links,
      byName: q.by === 'organisation' ? 'organización' : 'categoría', byTitle: q.by === 'organisation' ? 'Organización' : 'Categoría' };
    if (q.error !== null) return html(reply, 400, 'panel-reports', { ...base, error: q.error, csvHref: null });
    const report = await complianceReport(web, q.period, q.by);
    return html(reply, 200, 'panel-reports', { ...base, error: null, timeZone: report.timeZone, rows: reportRowsView(report), chart: reportChart(report.rows) });
  });

  scope.get('/informes.csv', async (request, reply) => {
    const q = reportQuery(request.query as Record<string, unknown>, web.clock(), policy.desk.timeZone);
    if (q.error !== null) return reply.code(400).header('content-type', 'text/plain; charset=utf-8').send(`${q.error}\n`);
    const report = await complianceReport(web, q.period, q.by);
    return reply.headers({
      'content-type': 'text/csv; charset=utf-8', 'cache-control': 'no-store',
      'content-disposition': `attachment; filename="sla-${q.by}-${q.period.from}-${q.period.to}.csv"`,
    }).send(`${reportCsv(report)}\n`);
  });

  scope.get<{ Params: { key: string } }>('/tickets/:key', async (request, reply) => {
    const key = request.params.key.toUpperCase();
    const ticket = key.length <= 40 ? await web.store.tickets.byKey(key) : undefined;
    if (!ticket) return html(reply, 404, 'not-found', { title: 'Ticket no encontrado', panel: true });
    const now = web.clock();
    const contact = await web.store.tickets.contact(ticket.contact_id);
    const view = panelTicketView({
      policy, ticket, contact, now,
      etrHistory: await web.store.tickets.etrHistory(ticket.id),
      events: await web.store.tickets.events(ticket.id),
      messages: await web.store.tickets.messagesOf(ticket.id),
      sms: contact?.phone ? await web.store.tickets.smsTo(ticket.id, contact.phone) : [],
    });
    const incident = ticket.incident_id === null ? null : formatIncidentKey(ticket.incident_id);
    const canDeclare = policy.incidents.enabled && incident === null && isOpenState(ticket.state);
    return html(reply, 200, 'panel-ticket', {
      title: `${view.key} · Panel`, wide: true, ticket: view, statusPath: statusPath(web.secret, ticket.key),
      incident, declare: canDeclare ? { csrf: csrfToken(keys, request), people: levelPeople(policy) } : null,
    });
  });

  panelIncidentRoutes(scope, web, keys, html);
}

/**
 * The report's period and grouping from `?desde=&hasta=&por=` (the month so far by default),
 * with the links the page offers: this month, last month, and the same report as CSV.
 */
function reportQuery(query: Record<string, unknown>, now: Date, timeZone: string) {
  const today = DateTime.fromJSDate(now, { zone: timeZone });
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  const period = { from: text(query.desde) ?? today.startOf('month').toISODate() as string, to: text(query.hasta) ?? today.toISODate() as string };
  const por = text(query.por) ?? 'organizacion';
  const by: ReportGrouping = por === 'categoria' ? 'category' : 'organisation';
  const problem = por === 'organizacion' || por === 'categoria' ? periodProblem(period, { from: 'Desde', to: 'Hasta' }) : `por=${por}: se espera organizacion o categoria`;
  const href = (p: ReportPeriod, path = '/panel/informes'): string => `${path}?${new URLSearchParams({ desde: p.from, hasta: p.to, por: by === 'category' ? 'categoria' : 'organizacion' }).toString()}`;
  const last = today.minus({ months: 1 });
  return {
    period, by,
    error: problem,
    links: {
      thisMonthHref: href({ from: today.startOf('month').toISODate() as string, to: today.toISODate() as string }),
      lastMonthHref: href({ from: last.startOf('month').toISODate() as string, to: last.endOf('month').toISODate() as string }),
      csvHref: href(period, '/panel/informes.csv'),
    },
  };
}

/** Who may be named as the author of a change made on the panel: the attention levels' people, each once. */
function levelPeople(policy: WebDeps['policy']): Array<{ name: string; email: string }> {
  const byAddress = new Map(levelDirectory(policy.levels).map(({ person }) => [person.email.toLowerCase(), person] as const));
  return [...byAddress.values()];
}

function wantsHtml(request: FastifyRequest): boolean {
  return /\btext\/html\b/i.test(request.headers.accept ?? '');
}

/** Where to go after logging in: a path inside the panel, never another site. */
export function safeNext(url: string): string {
  return /^\/panel(?:\/[A-Za-z0-9/_-]*)?(?:\?[A-Za-z0-9=&_%-]*)?$/.test(url) && !url.startsWith('/panel/login') && !url.includes('//') ? url : '/panel';
}
