/**
 * Measures step 2 (automatic mail and bounces) against the shared real-world corpus.
 *
 *   npx tsx scripts/corpus-automatic.ts /work/shared/corpus [--misses N] [--verbose]
 *
 * For samples whose `auto_generated` is known: confusion matrix of `detectAutomatic().is`.
 * Samples with unknown `auto_generated` but read as customer/reply mail are reported apart as
 * "probably human" (a false-positive rate with a weaker oracle).
 * For sisimai bounces: how often the recipient, the status and the hard flag match the first
 * expected recipient; then the worst misses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMail } from '../src/intake/email/parse-mail.ts';
import { detectAutomatic, type OwnIdentity } from '../src/domain/auto-reply.ts';
import { parseBounce, type BounceInfo } from '../src/domain/bounce.ts';
import type { InboundMail } from '../src/domain/mail.ts';

interface ExpectedRecipient { index: number; status: string; reply_code: string; reason: string; hard_bounce: boolean }
interface Entry {
  source: string;
  file: string;
  format: string;
  kind: string;
  subkind?: string;
  auto_generated: boolean | null;
  duplicate_of?: string;
  expected: { recipients?: ExpectedRecipient[]; sisimai_is_bounce?: boolean } & Record<string, unknown>;
}

const OWN: OwnIdentity = { loopHeader: 'X-Mesa-Loop', loopValue: 'mesa', messageIdDomain: 'mesa.invalid', ownAddresses: ['soporte@mesa.invalid'] };

const args = process.argv.slice(2);
const root = args.find((a) => !a.startsWith('--'));
if (!root) {
  console.error('usage: corpus-automatic.ts <corpus-dir> [--misses N] [--verbose]');
  process.exit(2);
}
const missLimit = Number(args[args.indexOf('--misses') + 1]) || 25;
const verbose = args.includes('--verbose');

const entries = readFileSync(join(root, 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry);

const matrix = { tp: 0, fn: 0, fp: 0, tn: 0 };
const human = { flagged: 0, total: 0 };
const kinds = new Map<string, number>();
let parseFailures = 0;
let parsed = 0;
const bounceStats = { total: 0, parsedAsBounce: 0, recipient: 0, recipientAny: 0, statusTotal: 0, status: 0, hard: 0, hardTP: 0, hardFP: 0, hardFN: 0, messageId: 0 };
interface Miss { file: string; score: number; what: string[] }
const misses: Miss[] = [];
const falsePositives: string[] = [];

for (const e of entries) {
  if (e.format !== 'rfc822' || e.duplicate_of) continue;
  let mail: InboundMail;
  try {
    mail = await parseMail(readFileSync(join(root, e.file)), 'corpus.invalid');
    parsed++;
  } catch {
    parseFailures++;
    continue;
  }
  const verdict = detectAutomatic(mail, OWN);
  kinds.set(`${e.kind} → ${verdict.kind}`, (kinds.get(`${e.kind} → ${verdict.kind}`) ?? 0) + 1);
  if (e.auto_generated === true || e.auto_generated === false) {
    if (e.auto_generated && verdict.is) matrix.tp++;
    else if (e.auto_generated) { matrix.fn++; misses.push({ file: e.file, score: 10, what: ['not detected as automatic'] }); }
    else if (verdict.is) { matrix.fp++; falsePositives.push(`${e.file} (${verdict.reason})`); }
    else matrix.tn++;
  } else if (e.kind === 'customer_message' || e.kind === 'reply_followup') {
    human.total++;
    if (verdict.is) { human.flagged++; falsePositives.push(`${e.file} [probably human] (${verdict.kind}: ${verdict.reason})`); }
  }

  const expected = e.expected.recipients;
  if (e.source !== 'sisimai' || !expected || expected.length === 0 || e.kind !== 'bounce') continue;
  const first = expected[0] as ExpectedRecipient;
  bounceStats.total++;
  const info: BounceInfo | null = parseBounce(mail);
  if (!info) { misses.push({ file: e.file, score: 8, what: [`parseBounce null (verdict ${verdict.kind}: ${verdict.reason})`] }); continue; }
  bounceStats.parsedAsBounce++;
  const what: string[] = [];
  let score = 0;
  // The manifest carries no addresses; a recipient "matches" when one was found that is a
  // plausible address (the corpus never bounces the daemon itself).
  if (info.recipient && info.recipient.includes('@')) { bounceStats.recipient++; bounceStats.recipientAny++; } else { what.push('no recipient'); score += 3; }
  // sisimai writes x.0.9xx for reasons it inferred itself; no server ever sends those.
  if (first.status && !/^\d\.0\.9\d\d$/.test(first.status)) {
    bounceStats.statusTotal++;
    if (info.status === first.status) bounceStats.status++;
    else { what.push(`status ${info.status} ≠ ${first.status}`); score += info.status?.[0] === first.status[0] ? 1 : 2; }
  }
  if (info.hard === first.hard_bounce) bounceStats.hard++;
  else { what.push(`hard ${info.hard} ≠ ${first.hard_bounce} (${first.reason})`); score += 3; }
  if (info.hard && first.hard_bounce) bounceStats.hardTP++;
  if (info.hard && !first.hard_bounce) bounceStats.hardFP++;
  if (!info.hard && first.hard_bounce) bounceStats.hardFN++;
  if (info.originalMessageId) bounceStats.messageId++;
  if (what.length > 0) misses.push({ file: e.file, score, what: [...what, `diag: ${(info.diagnostic ?? '').slice(0, 120)}`] });
  else if (verbose) console.log(`ok ${e.file} ${info.recipient} ${info.status} ${info.hard}`);
}

const pct = (n: number, d: number): string => (d === 0 ? 'n/a' : `${((100 * n) / d).toFixed(1)}%`);
console.log(`parsed ${parsed}, parse failures ${parseFailures}`);
console.log('\n== auto_generated known (manifest true/false)');
console.log(`              detected  not`);
console.log(`  automatic   ${String(matrix.tp).padStart(8)}  ${matrix.fn}`);
console.log(`  human       ${String(matrix.fp).padStart(8)}  ${matrix.tn}`);
console.log(`  recall ${pct(matrix.tp, matrix.tp + matrix.fn)}; false positives ${matrix.fp}/${matrix.fp + matrix.tn}`);
console.log(`\n== probably human (auto_generated unknown, kind customer_message/reply_followup): flagged ${human.flagged}/${human.total} (${pct(human.flagged, human.total)})`);
console.log('\n== kind (manifest) → verdict kind');
for (const [k, n] of [...kinds.entries()].sort()) console.log(`  ${k}: ${n}`);
const b = bounceStats;
console.log(`\n== sisimai bounces: ${b.total}`);
console.log(`  parsed as bounce     ${b.parsedAsBounce} (${pct(b.parsedAsBounce, b.total)})`);
console.log(`  recipient found      ${b.recipient} (${pct(b.recipient, b.total)})`);
console.log(`  status matches       ${b.status}/${b.statusTotal} (${pct(b.status, b.statusTotal)})`);
console.log(`  hard flag matches    ${b.hard} (${pct(b.hard, b.total)})  [hard: TP ${b.hardTP}, FP ${b.hardFP}, FN ${b.hardFN}]`);
console.log(`  original Message-ID  ${b.messageId} (${pct(b.messageId, b.total)})`);
console.log(`\n== false positives / probably-human flagged (${falsePositives.length})`);
for (const f of falsePositives) console.log(`  ${f}`);
console.log(`\n== worst misses (${misses.length} in all, showing ${Math.min(missLimit, misses.length)})`);
for (const m of misses.sort((x, y) => y.score - x.score || x.file.localeCompare(y.file)).slice(0, missLimit)) {
  console.log(`  [${m.score}] ${m.file}: ${m.what.join('; ')}`);
}
