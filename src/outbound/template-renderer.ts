import Handlebars from 'handlebars';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locale } from '../domain/policy.ts';

/**
 * The desk's message templates: `templates/<locale>/<moment>/{subject,text,html,sms}.hbs` and
 * shared `templates/<locale>/partials/*.hbs` (`voice/` is the phone's, `web/` the HTTP pages'). Loaded and compiled once at start, so a broken
 * template stops the start instead of a message.
 *
 * Escaping: `html.hbs` escapes every `{{value}}` (Handlebars' default); subject, text and SMS are
 * plain text and are compiled without HTML escaping, and subjects lose line breaks so a
 * customer's subject cannot inject headers.
 */

export type TemplatePart = 'subject' | 'text' | 'html' | 'sms';
const PARTS: TemplatePart[] = ['subject', 'text', 'html', 'sms'];

export interface RenderedMessage { subject: string; text: string; html: string | null; sms: string | null }

const NOT_MOMENTS = new Set(['partials', 'voice', 'web']);

type Compiled = Partial<Record<TemplatePart, Handlebars.TemplateDelegate>>;

export class TemplateRenderer {
  private readonly compiled = new Map<string, Compiled>();
  private readonly engines = new Map<Locale, { text: typeof Handlebars; html: typeof Handlebars }>();

  constructor(private readonly dir: string) {
    for (const locale of readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name) as Locale[]) {
      const base = join(dir, locale);
      const text = Handlebars.create();
      const html = Handlebars.create();
      const partialsDir = join(base, 'partials');
      if (existsSync(partialsDir)) {
        for (const f of readdirSync(partialsDir).filter((n) => n.endsWith('.hbs'))) {
          const name = f.slice(0, -4);
          const source = readFileSync(join(partialsDir, f), 'utf8');
          try { Handlebars.parse(source); } catch (err) { throw new Error(`template ${join(locale, 'partials', f)}: ${(err as Error).message}`, { cause: err }); }
          (name.endsWith('-html') ? html : text).registerPartial(name, source);
        }
      }
      this.engines.set(locale, { text, html });
      // `voice/` holds what the phone channel speaks; `outbound/voice-renderer.ts` loads it.
      for (const moment of readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory() && !NOT_MOMENTS.has(d.name)).map((d) => d.name)) {
        const entry: Compiled = {};
        for (const part of PARTS) {
          const file = join(base, moment, `${part}.hbs`);
          if (!existsSync(file)) continue;
          const source = readFileSync(file, 'utf8');
          try {
            entry[part] = part === 'html'
              ? html.compile(source, { strict: false })
              : text.compile(source, { noEscape: true });
            // Compile eagerly: Handlebars compiles lazily on first call otherwise.
            entry[part]?.({});
          } catch (err) {
            throw new Error(`template ${join(locale, moment, `${part}.hbs`)}: ${(err as Error).message}`, { cause: err });
          }
        }
        if (!entry.subject && !entry.sms) throw new Error(`template ${join(locale, moment)}: needs subject.hbs (email) or sms.hbs`);
        if (entry.subject && !entry.text) throw new Error(`template ${join(locale, moment)}: has subject.hbs but no text.hbs`);
        this.compiled.set(`${locale}/${moment}`, entry);
      }
    }
  }

  /**
   * Takes the templates of a renderer freshly built from the same directory (a reload on
   * SIGHUP). Building one validates every template, so a broken file fails there and this
   * renderer keeps what it had: all or nothing.
   */
  adopt(fresh: TemplateRenderer): void {
    replaceEntries(this.compiled, fresh.compiled);
    replaceEntries(this.engines, fresh.engines);
  }

  has(locale: Locale, moment: string): boolean {
    return this.compiled.has(`${locale}/${moment}`);
  }

  /** Whether the moment (in this locale, or its es-MX fallback) has the given part. */
  hasPart(locale: Locale, moment: string, part: TemplatePart): boolean {
    const entry = this.compiled.get(`${locale}/${moment}`) ?? this.compiled.get(`es-MX/${moment}`);
    return entry?.[part] !== undefined;
  }

  moments(locale: Locale): string[] {
    return [...this.compiled.keys()].filter((k) => k.startsWith(`${locale}/`)).map((k) => k.slice(locale.length + 1)).sort();
  }

  locales(): Locale[] {
    return [...this.engines.keys()];
  }

  /** Falls back to es-MX when the locale lacks the moment. */
  render(locale: Locale, moment: string, context: object): RenderedMessage {
    const entry = this.compiled.get(`${locale}/${moment}`) ?? this.compiled.get(`es-MX/${moment}`);
    if (!entry) throw new Error(`no template for moment "${moment}"`);
    return {
      subject: entry.subject ? entry.subject(context).replace(/\s*[\r\n]+\s*/g, ' ').trim() : '',
      text: entry.text ? entry.text(context).replace(/\n{3,}/g, '\n\n').trimEnd() + '\n' : '',
      html: entry.html ? entry.html(context) : null,
      sms: entry.sms ? entry.sms(context).replace(/\s+/g, ' ').trim() : null,
    };
  }
}

/** A map's entries replaced by another's, the map object kept (others hold it). */
export function replaceEntries<K, V>(target: Map<K, V>, source: ReadonlyMap<K, V>): void {
  target.clear();
  for (const [k, v] of source) target.set(k, v);
}
