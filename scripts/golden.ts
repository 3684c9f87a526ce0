/**
 * Regenerates the expected decisions beside the mail fixtures:
 *   npx tsx scripts/golden.ts            # show which fixtures differ
 *   npx tsx scripts/golden.ts --update   # rewrite the .expected.json files; read `git diff`
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { explainAll, expectedPath, goldenFiles } from '../test/support/golden.ts';

const update = process.argv.includes('--update');
const results = await explainAll(goldenFiles());
let differ = 0;
for (const [file, actual] of results) {
  const path = expectedPath(file);
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  const same = existsSync(path) && readFileSync(path, 'utf8') === text;
  if (same) continue;
  differ++;
  console.log(`${update ? 'updated' : 'differs'}: ${relative(process.cwd(), path)}`);
  if (update) writeFileSync(path, text);
}
console.log(`${results.size} fixtures, ${differ} ${update ? 'rewritten' : 'differing'}`);
