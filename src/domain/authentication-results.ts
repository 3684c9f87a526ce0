/**
 * `Authentication-Results` (RFC 8601): what a receiving server found when it checked a message's
 * DKIM signatures and SPF record, and whether that vouches for the From domain of an agent's
 * reply (issue 5, the optional stricter check).
 *
 * Trust is the whole point, so two rules come before any parsing:
 * - Anyone can write this header. Only a header whose authserv-id names one of OUR receiving
 *   servers counts (RFC 8601 §2.5 makes the id mandatory for exactly that reason; §5 requires a
 *   conforming server to delete inbound copies that claim its id).
 * - Headers are prepended on the way, so the ones our servers added are the top ones. We read
 *   the leading run of trusted headers and stop at the first foreign (or unreadable) one: a
 *   header below it was already there before the message reached us, whatever id it claims.
 *
 * Pure and total: malformed input yields fewer results, never an exception.
 */

export interface AuthMethodResult {
  /** Lower-cased method, e.g. `dkim`, `spf`, `dmarc`, `compauth` (a version suffix is dropped). */
  method: string;
  /** Lower-cased result, e.g. `pass`, `fail`, `softfail`, `none`, `neutral`, `temperror`. */
  result: string;
  reason: string | null;
  /**
   * Properties keyed by their lower-cased `ptype.property` (`header.d`, `header.i`,
   * `smtp.mailfrom`, `header.from`), or by the bare name for non-standard ones (Microsoft's
   * `action`). Values are unquoted; the first occurrence wins.
   */
  properties: Record<string, string>;
}

export interface AuthenticationResultsHeader {
  /** Lower-cased authserv-id; null when absent (Microsoft 365 omits it, against the RFC). */
  authservId: string | null;
  /** `none` (no checks were made) yields an empty list. */
  results: AuthMethodResult[];
}

/** Bounds against hostile input: a header or a result list longer than this is cut. */
const MAX_HEADER_CHARS = 8_192;
const MAX_RESULTS = 64;

/** One header value (unfolded or not) → its parts; null when nothing usable is in it. */
export function parseAuthenticationResults(value: string): AuthenticationResultsHeader | null {
  if (typeof value !== 'string') return null;
  const clean = stripComments(value.slice(0, MAX_HEADER_CHARS)).replace(/\s+/g, ' ').trim();
  if (!clean) return null;
  const segments = splitOutsideQuotes(clean, ';').map((s) => s.trim());
  let authservId: string | null = null;
  let rest = segments;
  const first = segments[0] ?? '';
  if (!looksLikeResult(first)) {
    // authserv-id [version]: the id is a token or a quoted string; the version is digits.
    const words = splitOutsideQuotes(first, ' ').filter(Boolean);
    const id = unquote(words[0] ?? '').toLowerCase();
    if (!id || !/^[^\s"=;]+$/.test(id)) return null;
    if (words.length > 2 || (words[1] !== undefined && !/^\d+$/.test(words[1]))) return null;
    authservId = id;
    rest = segments.slice(1);
  }
  const results: AuthMethodResult[] = [];
  for (const seg of rest) {
    if (results.length >= MAX_RESULTS) break;
    const r = parseResinfo(seg);
    if (r) results.push(r);
  }
  if (authservId === null && results.length === 0) return null;
  return { authservId, results };
}

/** Every `Authentication-Results` value of a message, top (newest) first, parsed. */
export function parseAllAuthenticationResults(values: readonly string[]): Array<AuthenticationResultsHeader | null> {
  return values.map((v) => parseAuthenticationResults(v));
}

export type AuthenticationVerdict =
  | { pass: true; method: 'dkim' | 'spf'; domain: string; authservId: string }
  | {
    pass: false;
    /** `no_trusted_results`: none of our servers reported on it; `no_aligned_pass`: they did, and no aligned DKIM or SPF passed. */
    reason: 'no_trusted_results' | 'no_aligned_pass';
    /** What our servers said (for events and `mesa explain`), e.g. `dkim=fail header.d=example.com`. */
    seen: string[];
  };

/**
 * Does the message pass for `fromDomain`? It passes when one of our trusted servers reported
 * `dkim=pass` for a signing domain (`header.d`, else the domain of `header.i`) aligned with the
 * From domain, or `spf=pass` for an envelope sender (`smtp.mailfrom`) whose domain is aligned.
 * Aligned means the same domain or a parent of it (relaxed alignment without a public-suffix
 * list; a signer must hold the DNS of the domain it signs for, so a parent cannot be borrowed).
 */
export function authenticationVerdict(headerValues: readonly string[], fromDomain: string, trustedAuthservIds: readonly string[]): AuthenticationVerdict {
  const trusted = new Set(trustedAuthservIds.map((s) => s.trim().toLowerCase()).filter(Boolean));
  const from = normalizeDomain(fromDomain);
  const ours: Array<{ authservId: string; results: AuthMethodResult[] }> = [];
  for (const value of headerValues) {
    const h = parseAuthenticationResults(value);
    if (!h || h.authservId === null || !trusted.has(h.authservId)) break;
    ours.push({ authservId: h.authservId, results: h.results });
  }
  if (ours.length === 0) return { pass: false, reason: 'no_trusted_results', seen: [] };
  const seen: string[] = [];
  for (const h of ours) {
    for (const r of h.results) {
      if (r.method !== 'dkim' && r.method !== 'spf') continue;
      const domain = r.method === 'dkim' ? dkimDomain(r) : spfDomain(r);
      seen.push(`${r.method}=${r.result}${domain ? ` ${r.method === 'dkim' ? 'header.d' : 'smtp.mailfrom'}=${domain}` : ''}`);
      if (r.result === 'pass' && domain && from && aligned(domain, from)) {
        return { pass: true, method: r.method, domain, authservId: h.authservId };
      }
    }
  }
  return { pass: false, reason: 'no_aligned_pass', seen: seen.slice(0, 20) };
}

/** True when `domain` is `fromDomain` or one of its parents (never a bare top-level label). */
export function aligned(domain: string, fromDomain: string): boolean {
  const d = normalizeDomain(domain);
  const f = normalizeDomain(fromDomain);
  if (!d || !f || !d.includes('.')) return false;
  return f === d || f.endsWith(`.${d}`);
}

/** Whether the stricter check applies to mail from `fromDomain` (an empty list means every agent domain). */
export function requiresAuthentication(fromDomain: string, config: { enabled: boolean; domains: readonly string[] }): boolean {
  if (!config.enabled) return false;
  if (config.domains.length === 0) return true;
  const f = normalizeDomain(fromDomain);
  return f !== null && config.domains.some((d) => { const n = normalizeDomain(d); return n !== null && (f === n || f.endsWith(`.${n}`)); });
}

// ——— parsing helpers ———

function looksLikeResult(segment: string): boolean {
  // `method = result` at the start: an authserv-id never contains '=' (it is a token/quoted
  // domain), so a first segment that starts like this is a result and the id is missing.
  return /^[A-Za-z0-9][A-Za-z0-9_-]*(\s*\/\s*\d+)?\s*=/.test(segment);
}

function parseResinfo(segment: string): AuthMethodResult | null {
  // `method[/version] = result [reason=…] [ptype.property=value …]`, CFWS allowed around '=' and '.'.
  const compact = segment.replace(/\s*=\s*/g, '=').replace(/(\b(?:smtp|header|body|policy|dns|iprev|arc)) ?\. ?([A-Za-z])/gi, '$1.$2');
  const words = splitOutsideQuotes(compact, ' ').filter(Boolean);
  const head = /^([A-Za-z0-9][A-Za-z0-9_-]*)(?:\/\d+)?=([A-Za-z0-9_-]+)$/.exec(words[0] ?? '');
  if (!head) return null;
  const r: AuthMethodResult = { method: (head[1] as string).toLowerCase(), result: (head[2] as string).toLowerCase(), reason: null, properties: {} };
  for (const w of words.slice(1)) {
    const eq = w.indexOf('=');
    if (eq <= 0) continue;
    const key = w.slice(0, eq).toLowerCase();
    const value = unquote(w.slice(eq + 1));
    if (key === 'reason') { r.reason ??= value; continue; }
    if (!/^[a-z0-9_.-]+$/.test(key)) continue;
    if (!(key in r.properties)) Object.defineProperty(r.properties, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return r;
}

function dkimDomain(r: AuthMethodResult): string | null {
  const d = normalizeDomain(r.properties['header.d'] ?? '');
  if (d) return d;
  const i = r.properties['header.i'] ?? '';
  return normalizeDomain(i.includes('@') ? i.slice(i.lastIndexOf('@') + 1) : i);
}

function spfDomain(r: AuthMethodResult): string | null {
  const m = r.properties['smtp.mailfrom'] ?? '';
  return normalizeDomain(m.includes('@') ? m.slice(m.lastIndexOf('@') + 1) : m);
}

/** Lower-cased, without a trailing dot or angle brackets; null unless it looks like a domain. */
function normalizeDomain(v: string): string | null {
  const d = v.trim().replace(/^<|>$/g, '').replace(/\.$/, '').toLowerCase();
  return /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/.test(d) ? d : null;
}

/** RFC 5322 comments (nested, with quoted-pairs) removed; quoted strings kept as they are. */
function stripComments(s: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && (quoted || depth > 0)) {
      if (depth === 0) out += c + (s[i + 1] ?? '');
      i++;
      continue;
    }
    if (depth === 0 && c === '"') { quoted = !quoted; out += c; continue; }
    if (!quoted && c === '(') { depth++; if (depth === 1) out += ' '; continue; }
    if (!quoted && c === ')' && depth > 0) { depth--; continue; }
    if (depth === 0) out += c;
  }
  return out;
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && quoted) { cur += c + (s[i + 1] ?? ''); i++; continue; }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) { out.push(cur); cur = ''; continue; }
    cur += c;
  }
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return t;
}
