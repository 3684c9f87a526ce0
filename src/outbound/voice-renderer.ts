import { replaceEntries } from './template-renderer.ts';
import Handlebars from 'handlebars';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locale } from '../domain/policy.ts';

/**
 * What the phone channel says: `templates/<locale>/voice/<name>.hbs`, one file per thing said
 * (greeting, menu, created, ...), edited by the desk like the message templates. Loaded and
 * compiled once at construction, so a broken or incomplete set stops the start instead of a call.
 *
 * No HTML escaping: the text goes into TwiML through twilio's `VoiceResponse`, which XML-escapes
 * it; escaping here as well would make Polly read "amp" aloud. Whitespace is collapsed, because
 * line breaks in a template are for the editor, not the caller.
 *
 * A locale whose `voice/` folder is absent falls back to es-MX. A locale that has one must have
 * every name any other locale has: a half-translated set would switch language mid-call.
 */

/** The values voice templates see. Spoken forms come from `src/domain/spoken.ts`. */
export interface VoiceContext {
  desk: { name: string; phone: string };
  ticket?: {
    key: string;
    /** `spellTicketKey(key, locale)`: 'eme, de, a, guion, cero, ...'. */
    spokenKey: string;
    state: string;
    stateName: string;
    severityName: string;
    /** spoken: `spokenInstant(etrAt, ...)`; span: `formatSpan(etrAt, ...)`. */
    etr: { spoken: string; span: string };
  };
  caller?: { isKnown: boolean; openTicket?: { spokenKey: string } };
  /** An open major incident the greeting announces (its public title, never a customer's words). */
  incident?: { key: string; publicTitle: string; etr: { spoken: string; span: string } };
  /** Failed ticket-number lookups so far (1-based), for `ticket-unknown`. */
  attempt?: number;
  afterHours?: boolean;
  /** When the desk opens next, already spoken: 'mañana a las nueve de la mañana'. */
  opensAt?: string;
}

/**
 * Every value a template may name. A template that names anything else (a typo such as
 * `ticket.spokenkey`) is refused at construction: Handlebars would render it as nothing and the
 * caller would hear "su número de ticket es" and silence.
 */
export const VOICE_CONTEXT_PATHS: readonly string[] = [
  'desk.name', 'desk.phone',
  'ticket.key', 'ticket.spokenKey', 'ticket.state', 'ticket.stateName', 'ticket.severityName', 'ticket.etr.spoken', 'ticket.etr.span',
  'caller.isKnown', 'caller.openTicket.spokenKey',
  'incident.key', 'incident.publicTitle', 'incident.etr.spoken', 'incident.etr.span',
  'attempt', 'afterHours', 'opensAt',
];

const FALLBACK_LOCALE: Locale = 'es-MX';

/** Block helpers that change `this`; paths inside them are not checked against the context. */
const SCOPING_HELPERS = new Set(['with', 'each']);

export class VoiceRenderer {
  private readonly compiled = new Map<string, Handlebars.TemplateDelegate>();
  private readonly byLocale = new Map<string, string[]>();
  private readonly engine = Handlebars.create();
  private readonly known: Set<string>;

  /** Takes the voice templates of a renderer freshly built (and so validated): a reload on SIGHUP. */
  adopt(fresh: VoiceRenderer): void {
    replaceEntries(this.compiled, fresh.compiled);
    replaceEntries(this.byLocale, fresh.byLocale);
  }

  constructor(templatesDir: string) {
    // `eq` and `or` let a template branch on the ticket's state code:
    // {{#unless (or (eq ticket.state "resuelto") (eq ticket.state "cerrado"))}}...{{/unless}}
    this.engine.registerHelper('eq', (a: unknown, b: unknown) => a === b);
    this.engine.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
    this.known = new Set(VOICE_CONTEXT_PATHS.flatMap((p) => p.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))));

    for (const locale of readdirSync(templatesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)) {
      const voiceDir = join(templatesDir, locale, 'voice');
      if (!existsSync(voiceDir)) continue;
      const names: string[] = [];
      for (const file of readdirSync(voiceDir, { withFileTypes: true }).filter((d) => d.isFile() && d.name.endsWith('.hbs')).map((d) => d.name)) {
        const label = join(locale, 'voice', file);
        const name = file.slice(0, -4);
        try {
          const source = readFileSync(join(voiceDir, file), 'utf8');
          this.checkPaths(Handlebars.parse(source));
          const template = this.engine.compile(source, { noEscape: true });
          // Compile eagerly: Handlebars compiles lazily on first call otherwise.
          template({});
          this.compiled.set(`${locale}/${name}`, template);
        } catch (err) {
          throw new Error(`template ${label}: ${(err as Error).message}`, { cause: err });
        }
        names.push(name);
      }
      this.byLocale.set(locale, names.sort());
    }

    if (!this.byLocale.has(FALLBACK_LOCALE)) throw new Error(`voice templates: ${join(templatesDir, FALLBACK_LOCALE, 'voice')} is missing or unreadable`);
    const all = [...new Set([...this.byLocale.values()].flat())].sort();
    const missing: string[] = [];
    for (const [locale, names] of this.byLocale) {
      for (const name of all) if (!names.includes(name)) missing.push(join(locale, 'voice', `${name}.hbs`));
    }
    if (missing.length > 0) throw new Error(`voice templates missing (another locale has them): ${missing.sort().join(', ')}`);
  }

  /** Locales with their own voice templates. */
  locales(): string[] {
    return [...this.byLocale.keys()].sort();
  }

  /** Every template name (the same in each locale that has voice templates). */
  names(): string[] {
    return [...this.byLocale.get(FALLBACK_LOCALE)!];
  }

  /** The text to speak, on one line. Falls back to es-MX when the locale has no voice templates. */
  say(locale: Locale, name: string, context: VoiceContext): string {
    const template = this.compiled.get(`${locale}/${name}`) ?? this.compiled.get(`${FALLBACK_LOCALE}/${name}`);
    if (!template) throw new Error(`no voice template "${name}"; known: ${this.names().join(', ')}`);
    return template(context).replace(/\s+/g, ' ').trim();
  }

  /** Refuses paths that name nothing in `VoiceContext`, and helpers that are not registered. */
  private checkPaths(node: hbs.AST.Node): void {
    const visit = (n: hbs.AST.Node | null | undefined, scoped: boolean): void => {
      if (!n) return;
      switch (n.type) {
        case 'Program':
          for (const s of (n as hbs.AST.Program).body) visit(s, scoped);
          return;
        case 'MustacheStatement':
        case 'SubExpression':
        case 'BlockStatement': {
          const call = n as hbs.AST.MustacheStatement | hbs.AST.BlockStatement;
          const path = call.path as hbs.AST.PathExpression;
          const isCall = call.params.length > 0 || (call.hash?.pairs.length ?? 0) > 0 || (n.type === 'BlockStatement' && path.original in this.engine.helpers);
          if (isCall) {
            if (!(path.original in this.engine.helpers)) throw new Error(`unknown helper "${path.original}"`);
          } else {
            visit(path, scoped);
          }
          for (const p of call.params) visit(p, scoped);
          for (const pair of call.hash?.pairs ?? []) visit(pair.value, scoped);
          if (n.type === 'BlockStatement') {
            const block = n as hbs.AST.BlockStatement;
            // `{{#ticket}}...{{/ticket}}` on a value is a section: inside it, `this` is the value.
            const inner = scoped || !isCall || SCOPING_HELPERS.has(path.original);
            visit(block.program, inner);
            visit(block.inverse, scoped);
          }
          return;
        }
        case 'PathExpression': {
          const p = n as hbs.AST.PathExpression;
          if (scoped || p.depth > 0 || p.parts.length === 0) return;
          if (p.data && p.parts[0] !== 'root') return;
          const dotted = (p.data ? p.parts.slice(1) : p.parts).join('.');
          if (dotted && !this.known.has(dotted)) throw new Error(`unknown value {{${p.original}}}; known: ${VOICE_CONTEXT_PATHS.join(', ')}`);
          return;
        }
        case 'PartialStatement':
        case 'PartialBlockStatement':
          throw new Error('partials are not supported in voice templates');
        default:
          return;
      }
    };
    visit(node, false);
  }
}
