/**
 * Measures `visibleText` against the reply corpus (reply_trimmer, github_erp, willdurand_erp,
 * talon): every sample whose source states an expected visible text.
 *
 *   npx tsx scripts/corpus-replies.ts /work/shared/corpus [--show N] [--verbose] [--plain-only]
 *
 * "exact" compares after CRLF→LF and trimming both ends (the sources strip too); "normalised"
 * collapses all whitespace; talon's HTML fixtures are only ever compared without whitespace,
 * which counts as normalised here.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { visibleText } from '../src/domain/visible-text.ts';

interface ManifestRow {
  source: string;
  file: string;
  format: 'rfc822' | 'body_text' | 'html_body';
  expected?: Record<string, unknown>;
}

const SOURCES = new Set(['reply_trimmer', 'github_erp', 'willdurand_erp', 'talon']);

function usage(): never {
  console.error('usage: tsx scripts/corpus-replies.ts <corpus-dir> [--show N] [--verbose] [--plain-only]');
  process.exit(2);
}

const args = process.argv.slice(2);
const dir = args[0];
if (dir === undefined || dir.startsWith('--')) usage();
const showIdx = args.indexOf('--show');
const show = showIdx === -1 ? 15 : Number(args[showIdx + 1] ?? 15);
const verbose = args.includes('--verbose');
// Ignore the HTML part of .eml samples, to measure the plain-text rules on their own.
const plainOnly = args.includes('--plain-only');

/** Expected visible text, taken from the manifest or, failing that, from oracles_erp.json. */
function expectedFor(row: ManifestRow, oracles: Record<string, { prefix: string; files: Record<string, Record<string, unknown>> }>): { text: string; html: boolean } | null {
  const e = row.expected ?? {};
  if (typeof e.expected_visible_text === 'string') return { text: e.expected_visible_text, html: row.format === 'html_body' };
  if (typeof e.expected_visible_html === 'string') return { text: e.expected_visible_html, html: true };
  const o = oracles[row.source];
  if (o !== undefined) {
    const i = row.file.indexOf(o.prefix);
    const key = i === -1 ? row.file : row.file.slice(i + o.prefix.length);
    const v = o.files[key]?.expected_visible_text;
    if (typeof v === 'string') return { text: v, html: false };
  }
  return null;
}

function stripTags(html: string): string {
  return html.replace(/<[^>]{0,2000}>/g, ' ');
}

const norm = (s: string): string => s.replace(/\r\n?/g, '\n').trim();
const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();
const noSpace = (s: string): string => s.replace(/\s+/g, '');

// Piping into `head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

async function main(): Promise<void> {
  const manifest = readFileSync(join(dir!, 'manifest.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ManifestRow);
  const oraclesPath = join(dir!, 'oracles_erp.json');
  const oracles = existsSync(oraclesPath) ? JSON.parse(readFileSync(oraclesPath, 'utf8')) : {};

  let exact = 0;
  let normalised = 0;
  const failures: { file: string; expected: string; got: string; cutBy: string | null }[] = [];
  const bySource = new Map<string, { total: number; exact: number; normalised: number }>();

  for (const row of manifest) {
    if (!SOURCES.has(row.source)) continue;
    const expected = expectedFor(row, oracles);
    if (expected === null) continue;
    const raw = readFileSync(join(dir!, row.file));
    let inputs: { name: string; text: string; html: string | null }[];
    if (row.format === 'rfc822') {
      const parsed = await simpleParser(raw);
      const html = !plainOnly && typeof parsed.html === 'string' ? parsed.html : null;
      inputs = [{ name: row.file, text: parsed.text ?? '', html }];
    } else if (row.format === 'html_body') {
      inputs = [{ name: row.file, text: '', html: raw.toString('utf8') }];
    } else {
      inputs = [{ name: row.file, text: raw.toString('utf8'), html: null }];
    }
    // willdurand's fixture with a placeholder is run once per attribution line it lists.
    const placeholder = row.expected?.template_placeholder;
    const values = row.expected?.template_values;
    if (typeof placeholder === 'string' && Array.isArray(values)) {
      const base = inputs[0]!;
      inputs = values.map((v, i) => ({ name: `${row.file}#${i}`, text: base.text.split(placeholder).join(String(v)), html: null }));
    }
    for (const input of inputs) check(row, input, expected, bySource);
  }

  function check(row: ManifestRow, input: { name: string; text: string; html: string | null }, expected: { text: string; html: boolean }, bySource: Map<string, { total: number; exact: number; normalised: number }>): void {
    const got = visibleText(input);
    const stats = bySource.get(row.source) ?? { total: 0, exact: 0, normalised: 0 };
    stats.total++;
    bySource.set(row.source, stats);

    const want = expected.html && /<\w/.test(expected.text) ? stripTags(expected.text) : expected.text;
    if (!expected.html && norm(got.text) === norm(want)) {
      exact++;
      stats.exact++;
    } else if (expected.html ? noSpace(got.text) === noSpace(want) : squash(got.text) === squash(want)) {
      normalised++;
      stats.normalised++;
    } else {
      failures.push({ file: input.name, expected: want, got: got.text, cutBy: got.cutBy });
    }
  }

  const total = exact + normalised + failures.length;
  console.log(`samples with an expected visible text: ${total}`);
  console.log(`  exact match:                    ${exact}`);
  console.log(`  match after whitespace folding: ${normalised}`);
  console.log(`  fail:                           ${failures.length}`);
  console.log(`  pass rate: ${((100 * (exact + normalised)) / Math.max(1, total)).toFixed(1)} %`);
  for (const [source, s] of bySource) {
    console.log(`  ${source.padEnd(15)} ${s.exact + s.normalised}/${s.total} (exact ${s.exact})`);
  }
  if (failures.length > 0) {
    console.log(`\nfailing (first ${Math.min(show, failures.length)}):`);
    for (const f of failures.slice(0, show)) {
      console.log(`  ${f.file}  cutBy=${f.cutBy}`);
      if (verbose) {
        console.log(`    expected: ${JSON.stringify(f.expected.slice(0, 400))}`);
        console.log(`    got:      ${JSON.stringify(f.got.slice(0, 400))}`);
      }
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
