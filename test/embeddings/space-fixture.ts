/**
 * A small project for the embedding-space tests: borrowers who shop at merchants of their own cluster
 * (6 clusters of 10 merchants, 90% of visits), events through 2024, merchant attributes (category, city).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { initProject, Project } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';

export const CLUSTERS = 6;
export const MERCHANTS = 60;
export const clusterOf = (m: string): number => Number(m.slice(1)) % CLUSTERS;

export function spacesConfig(extra = ''): string {
  return `import { defineConfig } from 'kiln';
export default defineConfig({
  name: 'emb',
  embeddings: {
    merchants: { entity: 'merchant', source: { kind: 'sequences', table: 'txns', by: 'borrower', item: 'merchant', time: 'at' }, trainer: 'item2vec', dim: 16,
      params: { epochs: 15, window: 3 }, attributes: { table: 'merchants', key: 'merchant', columns: ['category', 'city'] } },
    merchants_mf: { entity: 'merchant', source: { kind: 'interactions', table: 'txns', user: 'borrower', item: 'merchant', time: 'at' }, trainer: 'als', dim: 8, params: { iterations: 8 } },
    borrowers_tt: { entity: 'borrower', source: { kind: 'interactions', table: 'txns', user: 'borrower', item: 'merchant', time: 'at', side: 'user' }, trainer: 'two-tower', dim: 8, params: { epochs: 8, hidden: 16, temperature: 0.1 } },
    ${extra}
  },
});
`;
}

export async function spaceProject(name: string, opts: { borrowers?: number; seed?: number; config?: string } = {}): Promise<{ dir: string; project: Project; cleanup: () => void }> {
  const { dir, cleanup } = tempDir(`kiln-emb-${name}-`);
  writeFileSync(join(dir, 'kiln.config.ts'), opts.config ?? spacesConfig());
  await initProject(dir);
  const project = await Project.open({ project: dir });
  const rng = new Rng(opts.seed ?? 3);
  const lines = ['borrower,merchant,at,amount'];
  const n = opts.borrowers ?? 400;
  const t0 = Date.UTC(2024, 0, 1);
  for (let b = 0; b < n; b++) {
    const c = b % CLUSTERS;
    for (let e = 0; e < 30; e++) {
      const own = rng.uniform() < 0.9;
      const cl = own ? c : Math.floor(rng.uniform() * CLUSTERS);
      const m = cl + CLUSTERS * Math.floor(rng.uniform() * (MERCHANTS / CLUSTERS));
      const at = new Date(t0 + Math.floor(rng.uniform() * 365 * 86400e3)).toISOString();
      lines.push(`b${b},m${m},${at},${(10 + rng.uniform() * 90).toFixed(2)}`);
    }
  }
  writeFileSync(join(dir, 'txns.csv'), `${lines.join('\n')}\n`);
  const ml = ['merchant,category,city'];
  for (let m = 0; m < MERCHANTS; m++) ml.push(`m${m},cat${m % CLUSTERS},${m % 2 ? 'paris' : 'lyon'}`);
  writeFileSync(join(dir, 'merchants.csv'), `${ml.join('\n')}\n`);
  await project.offline.run(`CREATE TABLE txns AS SELECT borrower, merchant, "at"::TIMESTAMP AS "at", amount FROM read_csv('${join(dir, 'txns.csv')}')`);
  await project.offline.run(`CREATE TABLE merchants AS SELECT * FROM read_csv('${join(dir, 'merchants.csv')}')`);
  return { dir, project, cleanup };
}
