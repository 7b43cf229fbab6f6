import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultCsv, runExample } from '../../examples/give-me-some-credit/run.js';
import { tempDir } from '../helpers.js';

const CSV = defaultCsv();
const present = existsSync(CSV);
if (!present) console.warn(`skipping the Give Me Some Credit example: ${CSV} is absent (set KILN_GMSC_CSV to cs-training.csv)`);

describe.skipIf(!present)('examples/give-me-some-credit', () => {
  it('ingests cs-training.csv as it is, trains the plain-table model and writes its report', async () => {
    const { dir, cleanup } = tempDir('kiln-gmsc-');
    try {
      const r = await runExample(dir, CSV, { quiet: true });
      // Published results on this data set are around 0.86 AUC.
      expect(r.auc).toBeGreaterThan(0.84);
      const html = readFileSync(r.report, 'utf8');
      const card = readFileSync(r.card, 'utf8');
      expect(html).toContain('random split, seed 7');
      expect(card).toContain('random split, seed 7: train 97500 rows');
      expect(card).not.toMatch(/1970|NaN|undefined/);
    } finally {
      cleanup();
    }
  }, 600_000);
});
