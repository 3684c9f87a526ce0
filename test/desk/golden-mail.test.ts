import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { explainAll, expectedPath, goldenFiles } from '../support/golden.ts';

/**
 * Golden files: every fixture `.eml` against the decision a human reviewed
 * (`npx tsx scripts/golden.ts --update` regenerates them; read the diff before committing).
 */
describe('golden mail decisions', () => {
  const files = goldenFiles();
  let results: Map<string, unknown>;
  beforeAll(async () => { results = await explainAll(files); });

  for (const file of files) {
    it(basename(file), () => {
      const path = expectedPath(file);
      expect(existsSync(path), `missing ${path}: run scripts/golden.ts --update`).toBe(true);
      expect(results.get(file)).toEqual(JSON.parse(readFileSync(path, 'utf8')));
    });
  }
});
