import type { ClassificationRule, Level, MailboxPolicy, Severity, TicketType } from './policy.ts';
import { normalizeForMatching } from './text-normalize.ts';

/**
 * Step 6: severity, type, category and level from the configured rules.
 *
 * Every rule that matches (any of its words on word boundaries, or any pattern) adds its weight
 * once — repeating a word ten times does not make a ticket more urgent — to each value it sets.
 * Per dimension the highest total wins; a severity tie goes to the more severe value because
 * under-classifying an outage costs more than over-classifying a question. Dimensions no rule
 * decides come from the mailbox the mail arrived at. The rules that fired are kept as reasons.
 */

export interface ClassificationInput {
  subject: string;
  text: string;
  mailbox: Pick<MailboxPolicy, 'id' | 'defaultSeverity' | 'defaultType' | 'defaultCategory'>;
  /** Explicit hint from the channel (an IVR choice, the web form's urgency). */
  severityHint?: { severity: Severity; reason: string };
}

export interface ClassificationReason {
  rule: string;
  weight: number;
  matched: string[];
  sets: ClassificationRule['set'];
}

export interface Classification {
  severity: Severity;
  type: TicketType;
  category: string;
  level: Level;
  reasons: ClassificationReason[];
  /** Where each dimension came from, for `mesa explain`. */
  decidedBy: { severity: string; type: string; category: string; level: string };
}

export function classify(input: ClassificationInput, rules: ClassificationRule[], minimumScore: number): Classification {
  const normalized = normalizeForMatching(`${input.subject}\n${input.text}`);
  const raw = `${input.subject}\n${input.text}`;
  const reasons: ClassificationReason[] = [];
  for (const rule of rules) {
    if (rule.mailboxes && !rule.mailboxes.includes(input.mailbox.id)) continue;
    const matched = [
      ...matchedWords(rule, normalized),
      ...rule.patterns.filter((p) => p.test(raw)).map((p) => `/${p.source}/`),
    ];
    if (matched.length > 0) reasons.push({ rule: rule.id, weight: rule.weight, matched, sets: rule.set });
  }
  const pick = <T extends string | number>(dim: keyof ClassificationRule['set'], better: (a: T, b: T) => boolean): { value: T; score: number; rules: string[] } | null => {
    const totals = new Map<T, { score: number; rules: string[] }>();
    for (const r of reasons) {
      const v = r.sets[dim] as T | undefined;
      if (v === undefined) continue;
      const t = totals.get(v) ?? { score: 0, rules: [] };
      t.score += r.weight;
      t.rules.push(r.rule);
      totals.set(v, t);
    }
    let best: { value: T; score: number; rules: string[] } | null = null;
    for (const [value, t] of totals) {
      if (!best || t.score > best.score || (t.score === best.score && better(value, best.value))) best = { value, ...t };
    }
    return best && best.score >= minimumScore ? best : null;
  };
  const sev = pick<Severity>('severity', (a, b) => a < b);
  const type = pick<TicketType>('type', () => false);
  const category = pick<string>('category', () => false);
  const level = pick<Level>('level', (a, b) => a > b);
  const mb = `mailbox ${input.mailbox.id} default`;
  let severity: Severity = sev?.value ?? input.mailbox.defaultSeverity;
  let severityBy = sev ? `rules ${sev.rules.join(', ')} (score ${sev.score})` : mb;
  // A channel hint (the customer's own choice) can raise the severity, never lower it below
  // what the text shows: customers under-report less often than rules under-match.
  if (input.severityHint && input.severityHint.severity < severity) {
    severity = input.severityHint.severity;
    severityBy = input.severityHint.reason;
  }
  return {
    severity,
    type: type?.value ?? input.mailbox.defaultType,
    category: category?.value ?? input.mailbox.defaultCategory,
    level: level?.value ?? 1,
    reasons,
    decidedBy: {
      severity: severityBy,
      type: type ? `rules ${type.rules.join(', ')}` : mb,
      category: category ? `rules ${category.rules.join(', ')}` : mb,
      level: level ? `rules ${level.rules.join(', ')}` : 'level 1 makes first contact',
    },
  };
}

/**
 * One regex per rule: its words as alternatives, on word boundaries (a letter or digit on either
 * side means another word: "error" does not fire on "terror"). Built once per rule. The
 * boundary before a word is checked by hand rather than with a lookbehind, which made the regex
 * engine test every position of the text; a match refused that way is retried one character
 * later, exactly where the lookbehind would have let the search go on.
 */
const ruleRegexCache = new WeakMap<ClassificationRule, RegExp | null>();
const WORD_CHAR = /[\p{L}\p{N}]/u;

function matchedWords(rule: ClassificationRule, normalized: string): string[] {
  let re = ruleRegexCache.get(rule);
  if (re === undefined) {
    const alternatives = [...rule.words].sort((a, b) => b.length - a.length)
      .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s+'));
    re = alternatives.length === 0 ? null : new RegExp(`(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`, 'gu');
    ruleRegexCache.set(rule, re);
  }
  if (re === null) return [];
  const found = new Set<string>();
  re.lastIndex = 0;
  for (let m = re.exec(normalized); m !== null; m = re.exec(normalized)) {
    if (m.index > 0 && WORD_CHAR.test(charBefore(normalized, m.index))) {
      // Never inside a surrogate pair (that would find the same match again).
      re.lastIndex = m.index + ((m[0].codePointAt(0) ?? 0) > 0xffff ? 2 : 1);
      continue;
    }
    found.add(m[0].replace(/\s+/g, ' '));
  }
  // Report in the rule's own order, as written in the configuration.
  return rule.words.filter((w) => found.has(w));
}

/** The code point that ends just before `index` (a whole surrogate pair when there is one). */
function charBefore(text: string, index: number): string {
  const low = text.charCodeAt(index - 1);
  if (low >= 0xdc00 && low <= 0xdfff && index >= 2) {
    const high = text.charCodeAt(index - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.slice(index - 2, index);
  }
  return text.slice(index - 1, index);
}
