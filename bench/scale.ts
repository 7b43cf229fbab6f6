/**
 * Scale-out figures (issue 20), each part on its own or all in turn:
 * - backfill: a training set as a backfill with 1 and 2 `kiln worker` processes against one process
 *   (bench/scale/backfill.ts);
 * - registry: registry operations and decision-log appends per second, SQLite against PostgreSQL
 *   (bench/scale/registry.ts);
 * - replicas: `kiln serve` throughput with 1 and 2 replicas sharing PostgreSQL and Redis
 *   (bench/scale/replicas.ts).
 * Needs Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (KILN_TEST_DATABASE_URL).
 *
 * Usage: npx tsx bench/scale.ts [--part backfill|registry|replicas] [part options]
 */
import { machine } from './util.js';

const i = process.argv.indexOf('--part');
const part = i >= 0 ? process.argv[i + 1] : 'all';
if (!['all', 'backfill', 'registry', 'replicas'].includes(part ?? '')) throw new Error(`--part ${part}: expected backfill, registry or replicas`);
console.log(`# bench/scale.ts (${machine()})`);
if (part === 'all' || part === 'registry') {
  console.log('\n## Registry operations and decision-log appends: SQLite vs PostgreSQL');
  await (await import('./scale/registry.js')).benchRegistry();
}
if (part === 'all' || part === 'replicas') {
  console.log('\n## Serving: 1 and 2 kiln serve replicas (PostgreSQL registry and decision log, Redis online store)');
  await (await import('./scale/replicas.js')).benchReplicas();
}
if (part === 'all' || part === 'backfill') {
  console.log('\n## Backfill: 1 and 2 kiln worker processes');
  await (await import('./scale/backfill.js')).benchBackfill();
}
process.exit(0);
