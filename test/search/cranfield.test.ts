import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { Bm25Index, evaluateRuns, hasCranfield, loadCranfield, parseCranfieldRecords } from '../../src/search/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DIR = process.env.CRANFIELD_DATA ?? resolve(ROOT, '../shared/data/cranfield');
const PYTHON = '/usr/bin/python3';
const present = hasCranfield(DIR);
if (!present) console.warn(`test/search/cranfield.test.ts: the Cranfield collection is not in ${DIR} (set CRANFIELD_DATA); its checks are skipped`);

describe('Cranfield records', () => {
  it('parses .I records and their fields', () => {
    const recs = parseCranfieldRecords('.I 1\n.T\nshock waves .\n.A\nsmith\n.W\nshock waves .\nin air .\n.I 002\n.W\nwhat flow ?\n');
    expect(recs).toEqual([{ I: '1', T: 'shock waves .\n', A: 'smith\n', W: 'shock waves .\nin air .\n' }, { I: '002', W: 'what flow ?\n' }]);
  });

  it('names the missing file', () => {
    try {
      loadCranfield(join(ROOT, 'no-such-folder'));
      expect.unreachable();
    } catch (e) {
      expect(isKilnError(e, 'FILE_NOT_FOUND') && e.message).toMatch(/cran\.all\.1400 is missing/);
    }
  });
});

describe.skipIf(!present)('the Cranfield collection', () => {
  const c = present ? loadCranfield(DIR) : null;

  it('has 1400 documents, 225 queries numbered by position, and graded judgements', () => {
    expect(c!.docs.length).toBe(1400);
    expect(c!.queries.length).toBe(225);
    expect(c!.queries.slice(0, 3).map((q) => [q.id, q.sourceId])).toEqual([[1, '001'], [2, '002'], [3, '004']]);
    expect(c!.docs[0]!.fields.title).toBe('experimental investigation of the aerodynamics of a\nwing in a slipstream .');
    expect(c!.judgements.reduce((s, j) => s + j.size, 0)).toBe(1837);
    // one -1 (the query's source paper, gain 4) per query; the rest 1..4 -> 4..1
    expect(c!.judgements[0]!.get(486)).toBe(4);
    expect(c!.judgements[0]!.get(184)).toBe(3);
    expect(c!.judgements[0]!.get(13)).toBe(1);
  });

  it('plain Okapi BM25 over title + abstract gives the reference figures (nDCG@10 0.527, MAP 0.430)', () => {
    const index = Bm25Index.build(c!.docs.map((d) => ({ id: d.id, fields: { text: `${d.fields.title}\n${d.fields.abstract}` } })), { fields: ['text'] });
    const m = evaluateRuns(c!.queries.map((q) => index.search(q.text, 1400).ids), c!.judgements);
    expect([m.queries, m.ndcg, m.map, m.recall].map((x) => Math.round(x * 1e4) / 1e4)).toEqual([225, 0.5267, 0.4303, 0.7684]);
    if (!existsSync(PYTHON)) {
      console.warn(`test/search/cranfield.test.ts: ${PYTHON} is absent; bench/bm25_reference.py is not run`);
      return;
    }
    const r = spawnSync(PYTHON, [join(ROOT, 'bench', 'bm25_reference.py'), DIR], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const ref = JSON.parse(r.stdout.trim()) as { ndcg10: number; map: number; recall100: number; queries: number };
    expect([ref.queries, ref.ndcg10, ref.map, ref.recall100]).toEqual([225, 0.5267, 0.4303, 0.7684]);
  });
});
