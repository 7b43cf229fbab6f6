/**
 * Quality against XGBoost (tree_method=hist, same parameters, same seeded data through a temp CSV)
 * when /usr/bin/python3 can import xgboost; skipped otherwise.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { train } from '../../src/gbdt/index.js';
import { auc } from '../../src/gbdt/metrics.js';
import { binaryData, slice } from './data.js';

const PY = '/usr/bin/python3';
const probe = spawnSync(PY, ['-c', 'import xgboost, numpy'], { encoding: 'utf8' });
const hasXgboost = probe.status === 0;
const why = hasXgboost ? '' : `${PY} cannot import xgboost (${(probe.stderr || probe.error?.message || 'not found').trim().split('\n').pop()})`;

const SCRIPT = String.raw`
import json, sys
import numpy as np
import xgboost as xgb
d = np.loadtxt(sys.argv[1], delimiter=',', dtype=np.float32)
ntr = int(sys.argv[2])
X, y = d[:, 1:], d[:, 0]
params = {'tree_method': 'hist', 'objective': 'binary:logistic', 'max_depth': 6, 'eta': 0.1, 'max_bin': 256, 'nthread': 1, 'seed': 0}
b = xgb.train(params, xgb.DMatrix(X[:ntr], label=y[:ntr], missing=np.nan), 100)
print(json.dumps(b.predict(xgb.DMatrix(X[ntr:], missing=np.nan)).tolist()))
`;

describe('quality against XGBoost', () => {
  it.skipIf(!hasXgboost)(`test AUC within 0.005 of XGBoost hist on 30k rows${why ? ` (skipped: ${why})` : ''}`, async () => {
    const d = binaryData(30_000, 10, 81, 0.05);
    const ntr = 20_000;
    const tr = slice(d, 0, ntr);
    const te = slice(d, ntr, 30_000);
    const dir = mkdtempSync(join(tmpdir(), 'kiln-gbdt-xgb-'));
    try {
      const lines: string[] = [];
      for (let i = 0; i < 30_000; i++) lines.push([d.label[i]!, ...d.features.map((c) => (c[i]! === c[i]! ? c[i]! : 'nan'))].join(','));
      writeFileSync(join(dir, 'data.csv'), lines.join('\n'));
      writeFileSync(join(dir, 'run.py'), SCRIPT);
      const r = spawnSync(PY, [join(dir, 'run.py'), join(dir, 'data.csv'), String(ntr)], { encoding: 'utf8', maxBuffer: 1 << 26 });
      expect(r.status, r.stderr).toBe(0);
      const xgbPred = Float64Array.from(JSON.parse(r.stdout) as number[]);
      const booster = await train({ features: tr.features, label: tr.label, featureNames: d.names, params: { objective: 'binary:logistic', max_depth: 6, learning_rate: 0.1, n_estimators: 100, max_bin: 256, nthread: 1 } });
      const score = (pred: Float64Array): number => auc({ pred, label: te.label, weight: null, nOutputs: 1, groupPtr: null });
      const ours = score(booster.predict(te.features));
      const theirs = score(xgbPred);
      expect(theirs).toBeGreaterThan(0.7);
      expect(Math.abs(ours - theirs)).toBeLessThan(0.005);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
