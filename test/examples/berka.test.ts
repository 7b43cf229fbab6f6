import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultData, runExample } from '../../examples/berka/run.js';
import { tempDir } from '../helpers.js';

const DATA = defaultData();
const present = existsSync(join(DATA, 'loan.asc'));
if (!present) console.warn(`skipping the Berka example: ${DATA} is absent (set BERKA_DATA to the folder with the Berka .asc files)`);

describe.skipIf(!present)('examples/berka', () => {
  it('ingests the raw exports, trains the loan-default model with its coverage warning and writes its report, and the sequence model beside it', async () => {
    const { dir, cleanup } = tempDir('kiln-berka-');
    try {
      const r = await runExample(dir, DATA, { quiet: true, sequence: true });
      const ev = r.result.evaluation;
      // All 682 loans, 76 of them B or D (the data guide's counts), split at random.
      expect(ev.rows).toBeGreaterThan(100);
      const card = readFileSync(r.card, 'utf8');
      expect(card).toContain('label `status` (1 = B or D)');
      expect(card).toMatch(/random split, seed 7: train \d+ rows \(\d+ bads\)/);
      const [, tr, trB, va, vaB, te, teB] = card.match(/train (\d+) rows \((\d+) bads\), validation (\d+) \((\d+)\), test (\d+) \((\d+)\)/)!.map(Number);
      expect(tr! + va! + te!).toBe(682);
      expect(trB! + vaB! + teB!).toBe(76);
      // The partial transaction file ends on 1994-10-30: the 578 later loans are named in a warning.
      expect(r.result.warnings.join('\n')).toMatch(/source 'transactions' \(table trans\) ends at 1994-10-30.*578 of 682 rows/);
      expect(readFileSync(r.report, 'utf8')).toContain('578 of 682');
      // Loan terms alone rank defaults better than chance on this data; the guard would refuse a model that did not.
      expect(ev.metrics.auc).toBeGreaterThan(0.6);
      // The sequence model trains on the same loans and split, and its report compares it with the GBDTs.
      const seq = r.sequence!.result;
      expect(seq.evaluation.rows).toBe(ev.rows);
      expect(Number.isFinite(seq.evaluation.metrics.auc)).toBe(true);
      expect(readFileSync(r.sequence!.report, 'utf8')).toContain('Sequence model against the GBDT');
    } finally {
      cleanup();
    }
  }, 300_000);
});
