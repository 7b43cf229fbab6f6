/**
 * The band engine's entry for a training set: plans each event source's eligible features, codes the
 * spine's entities and loads each source's events; `writeWide` then computes and writes the rows. See docs/features.md (Many windows and buckets in one pass).
 */
import type { Project } from '../../../store/index.js';
import type { ResolvedFeature } from '../../registry.js';
import type { AggregateFeatureSpec, SourceSpec } from '../../spec.js';
import { eventPrune } from '../compile.js';
import { conditionSql, duckType, quoteIdent, sqlLiteral } from '../sql-text.js';
import { planBands, type BandPlan } from './plan.js';
import { loadEvents, type LoadedEvents } from './run.js';

export { bandEligible, planBands, BAND_OPS, type BandPlan } from './plan.js';
export { writeWide, type WideWriteInput } from './write.js';

/** Which engine computes the eligible aggregates: the band kernel, DuckDB SQL, or chosen by width. */
export type TrainingEngine = 'auto' | 'bands' | 'sql';

/** Band plans with their loaded events, and the temp table of entity codes they read by. */
export interface LoadedBands {
  readonly bands: { plan: BandPlan; events: LoadedEvents }[];
  readonly keysTable: string | null;
  readonly events: number;
}

async function safeBigints(project: Project, src: SourceSpec, feats: readonly ResolvedFeature[]): Promise<Set<string>> {
  const cols = new Set<string>();
  for (const f of feats) {
    const spec = f.spec as AggregateFeatureSpec;
    if (spec.column && src.columns[spec.column] === 'bigint' && ['min', 'max', 'countDistinct'].includes(spec.op)) cols.add(spec.column);
  }
  const safe = new Set<string>();
  for (const c of cols) {
    const q = quoteIdent(c);
    const [r] = await project.offline.all<{ ok: boolean | null }>(`SELECT (min(${q}) > -9007199254740992 AND max(${q}) < 9007199254740992) AS ok FROM ${quoteIdent(src.table)}`);
    if (r?.ok !== false) safe.add(c);
  }
  return safe;
}

/**
 * Plans the band-eligible features of each event source (none under engine 'sql') and loads their
 * events for the spine's entities. The caller drops `keysTable`.
 */
export async function loadBands(
  project: Project, features: readonly ResolvedFeature[], spine: { table: string; timeRange: { min: string; max: string } | null },
  opts: { engine: TrainingEngine; strict: boolean },
): Promise<LoadedBands> {
  const empty: LoadedBands = { bands: [], keysTable: null, events: 0 };
  if (opts.engine === 'sql') return empty;
  const bySource = new Map<string, ResolvedFeature[]>();
  for (const f of features) {
    if (f.spec.type !== 'aggregate' || !f.source || f.source.type !== 'event') continue;
    const list = bySource.get(f.source.name) ?? [];
    list.push(f);
    bySource.set(f.source.name, list);
  }
  const plans: BandPlan[] = [];
  for (const feats of bySource.values()) {
    const src = feats[0]!.source!;
    const safe = await safeBigints(project, src, feats);
    const plan = planBands({
      source: src, features: feats, safeBigint: (c) => safe.has(c),
      colSql: (c) => `CAST(${quoteIdent(c)} AS ${duckType(src.columns[c]!)})`, conditionSql, literal: sqlLiteral,
    });
    if (plan && (opts.engine === 'bands' || autoPicksBands(plan))) plans.push(plan);
  }
  if (!plans.length) return empty;
  const store = project.offline;
  const keysTable = store.stagingName('band_keys');
  try {
    await store.run(`CREATE TEMP TABLE ${quoteIdent(keysTable)} AS SELECT k AS __k, row_number() OVER (ORDER BY k)::DOUBLE AS __kid FROM (SELECT DISTINCT __key AS k FROM ${quoteIdent(spine.table)} WHERE __key IS NOT NULL)`);
    const [{ n: keys } = { n: 0 }] = await store.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${quoteIdent(keysTable)}`);
    const bands: { plan: BandPlan; events: LoadedEvents }[] = [];
    let events = 0;
    for (const plan of plans) {
      const maxWindow = plan.lifetime ? null : Math.max(...plan.windowsUs) / 1e6;
      const loaded = await loadEvents({
        project, plan, keys: Number(keys), keysTable, prune: eventPrune(plan.source, spine.timeRange, opts.strict, maxWindow, 'e.'),
      });
      events += loaded.batch.n;
      bands.push({ plan, events: loaded });
    }
    return { bands, keysTable, events };
  } catch (e) {
    await store.dropIfExists(keysTable);
    throw e;
  }
}

/**
 * Under engine 'auto', a source's eligible features go to the kernel from this many output columns when
 * some window is at least AUTO_MIN_WINDOW_DAYS long (or lifetime). The kernel reads every event of the
 * spine's entities once, whatever the windows; DuckDB's FILTERed aggregates cost per column and per
 * (row, event in the longest window) pair. bench/features.ts (10 M events, 100 k rows): 20 columns over
 * 7-365 days, SQL is ~2.6x faster; 101 columns of 1-day windows, SQL ~3.5x faster; 1,818 columns over
 * 1-730 days, the kernel (the SQL engine's time grows with the columns: 396 s for 1,530 on the demo world).
 */
export const AUTO_MIN_COLUMNS = 100;
export const AUTO_MIN_WINDOW_DAYS = 30;

function autoPicksBands(plan: BandPlan): boolean {
  const longest = plan.lifetime ? Infinity : Math.max(...plan.windowsUs) / 86_400e6;
  return plan.outputs.length >= AUTO_MIN_COLUMNS && longest >= AUTO_MIN_WINDOW_DAYS;
}
