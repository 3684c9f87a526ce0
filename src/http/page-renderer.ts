import type { FastifyReply } from 'fastify';
import Handlebars from 'handlebars';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replaceEntries } from '../outbound/template-renderer.ts';

/**
 * Server-rendered pages (portal, status page, panel): `templates/es-MX/web/<page>.hbs`, with
 * `_name.hbs` files as partials (`_layout.hbs` wraps every page: `{{#> _layout title="…"}}`).
 * Desk-editable like the message templates, compiled once at start so a broken page stops the
 * start. Every `{{value}}` is HTML-escaped (Handlebars' default); no page uses `{{{ }}}`.
 */
export class PageRenderer {
  private readonly pages = new Map<string, Handlebars.TemplateDelegate>();

  /** `desk`: the name and phone every page's layout shows. */
  constructor(templatesDir: string, private desk: { name: string; phone: string } = { name: '', phone: '' }, locale = 'es-MX') {
    const dir = join(templatesDir, locale, 'web');
    if (!existsSync(dir)) throw new Error(`no page templates in ${dir}`);
    const hb = Handlebars.create();
    hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
    const files = readdirSync(dir).filter((f) => f.endsWith('.hbs'));
    for (const f of files.filter((n) => n.startsWith('_'))) {
      const source = readFileSync(join(dir, f), 'utf8');
      try { hb.parse(source); } catch (err) { throw new Error(`template ${join(locale, 'web', f)}: ${(err as Error).message}`, { cause: err }); }
      hb.registerPartial(f.slice(0, -4), source);
    }
    for (const f of files.filter((n) => !n.startsWith('_'))) {
      const source = readFileSync(join(dir, f), 'utf8');
      if (source.includes('{{{')) throw new Error(`template ${join(locale, 'web', f)}: triple-stash output is not allowed in pages (it would not be escaped)`);
      try {
        const page = hb.compile(source, { strict: false });
        page({});
        this.pages.set(f.slice(0, -4), page);
      } catch (err) {
        throw new Error(`template ${join(locale, 'web', f)}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** Takes the pages (and desk name) of a renderer freshly built and so validated: a reload on SIGHUP. */
  adopt(fresh: PageRenderer): void {
    replaceEntries(this.pages, fresh.pages);
    this.desk = fresh.desk;
  }

  has(page: string): boolean {
    return this.pages.has(page);
  }

  render(page: string, context: object): string {
    const compiled = this.pages.get(page);
    if (!compiled) throw new Error(`no page template "${page}"`);
    return compiled({ desk: this.desk, ...context });
  }

  /** Answers a request with a page: status, the security headers of every page, the HTML. */
  send(reply: FastifyReply, status: number, page: string, context: object): FastifyReply {
    return reply.code(status).headers(PAGE_HEADERS).send(this.render(page, context));
  }
}

/**
 * Headers for every HTML page: no scripts from anywhere but Mesa itself, no framing, no
 * sniffing, no referrer (status links carry their token in the path).
 */
export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
