import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { kiln, tempDir, write } from '../helpers.js';

describe('kiln train --force', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('kiln-cli-train-'));
    // A label of coin flips, unrelated to the inputs: nothing to learn.
    const rng = new Rng(21);
    const rows = ['id,x1,x2,bad'];
    for (let i = 1; i <= 3000; i++) rows.push(`${i},${rng.uniform().toFixed(4)},${rng.uniform().toFixed(4)},${rng.uniform() < 0.3 ? 1 : 0}`);
    write(dir, 'noise.csv', `${rows.join('\n')}\n`);
    write(dir, 'kiln.config.ts', `import { defineConfig } from 'kiln';
export default defineConfig({ name: 'force-test', models: { noise: {
  spine: { table: 'noise', key: 'id' }, label: { column: 'bad' }, columns: { exclude: ['id'] },
  split: { random: { valid: 0.2, test: 0.2, seed: 7 } }, defaultReason: 'Other factors', params: { n_estimators: 60, early_stopping_rounds: 10 },
} } });
`);
    expect((await kiln(['init'], dir)).code).toBe(0);
    expect((await kiln(['ingest', 'noise', 'noise.csv', '--quiet'], dir)).code).toBe(0);
  }, 120_000);
  afterAll(() => cleanup());

  it('fails a model that learned nothing, and registers it with --force and a warning', async () => {
    const refused = await kiln(['train', 'noise', '--quiet'], dir);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toContain('error [MODEL_LEARNED_NOTHING]');
    expect(refused.stderr).toContain('--force');
    const forced = await kiln(['train', 'noise', '--quiet', '--force'], dir);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('noise version 1');
    expect(forced.stderr).toContain('warning: train noise: registered although it learned nothing (--force)');
  }, 120_000);
});
