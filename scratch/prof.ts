import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planBackfill, runPartition } from '../src/backfill/index.js';
import { buildTrainingSet } from '../src/features/training/index.js';
import { simulate } from '../src/sim/index.js';
import { initProject, Project } from '../src/store/index.js';
const dir = mkdtempSync(join(tmpdir(), 'kiln-prof-'));
writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nimport { DEMO_FEATURES } from ${JSON.stringify(join(process.cwd(), 'examples/demo/features.ts'))};\nexport default defineConfig({ name: 'p', features: [...DEMO_FEATURES] });\n`);
await initProject(dir);
const project = await Project.open({ project: dir });
await simulate(project.offline, { borrowers: 3000, seed: 5, months: 24, start: '2023-01-01' });
await project.offline.run(`CREATE TABLE bench_spine AS SELECT b.borrower_id, m AS as_of FROM borrowers b, range(TIMESTAMP '2024-01-01', TIMESTAMP '2025-01-01', INTERVAL 1 MONTH) t(m)`);
const SPINE = { table: 'bench_spine', key: 'borrower_id', timestamp: 'as_of' };
for (let i = 0; i < 3; i++) { const t = performance.now(); await buildTrainingSet(project, { spine: SPINE, features: 'credit_v1', out: join(dir, 's.parquet') }); console.log('single', (performance.now() - t).toFixed(0)); }
const spec = await planBackfill(project, { features: 'credit_v1', spine: SPINE, partitions: 8 });
console.log(spec.sources);
for (let p = 0; p < 8; p++) {
  const t = performance.now(); let last = t; const st: string[] = [];
  await runPartition(project, spec, p, { attempt: 1, cancelled: async () => false, threads: 1, progress: (s) => { const n = performance.now(); st.push(`${s}@${(n - last).toFixed(0)}`); last = n; } });
  console.log(p, (performance.now() - t).toFixed(0), st.join(' '), 'last', (performance.now() - last).toFixed(0));
}
project.close();
