/**
 * Writes a training set whose windowed aggregates come from the band kernel in one pass over the wide
 * rows: the spine and the SQL-computed features (a narrow table in spine order) are streamed chunk by
 * chunk; for each chunk the kernel computes every band column of its rows, derived features are
 * evaluated over them (the same evaluator as the naive reference and the online store), and the whole
 * row block is appended to the target table. DuckDB never joins, sorts or copies the wide rows.
 */
import { Progress } from '../../../core/progress.js';
import { CHUNK_ROWS, columnState, duckdbApi, readDoubles, writeChunkColumn, type ColState, type ColumnKind, type Project } from '../../../store/index.js';
import { evaluateExpr } from '../../derived.js';
import type { ResolvedFeature } from '../../registry.js';
import type { DerivedFeatureSpec } from '../../spec.js';
import { quoteIdent } from '../sql-text.js';
import { computeProbe, ProbeScratch } from './kernel.js';
import type { BandPlan } from './plan.js';
import type { LoadedEvents } from './run.js';

const KIND: Readonly<Record<string, ColumnKind>> = { DOUBLE: 'float64', BIGINT: 'int64', INTEGER: 'int32' };

export interface WideWriteInput {
  readonly project: Project;
  /** Narrow temp table: __row, __key, __t, the spine's columns and the SQL-computed features. */
  readonly restTable: string;
  readonly keysTable: string;
  readonly bands: readonly { readonly plan: BandPlan; readonly events: LoadedEvents }[];
  /** Derived features in dependency order. */
  readonly derived: readonly ResolvedFeature[];
  /** Every feature of the training set by name (to resolve what derived features read). */
  readonly features: ReadonlyMap<string, ResolvedFeature>;
  /** Output columns in order. */
  readonly outputs: readonly string[];
  /** Table to create (it must not exist). */
  readonly target: string;
  readonly temp: boolean;
  readonly inclusive: boolean;
  readonly progress?: boolean;
}

/** Where a column's values come from while a block is written. */
type Source = { kind: 'rest'; index: number } | { kind: 'computed'; state: ColState };

/** Writes the training set into `target`; returns its row count. */
export async function writeWide(input: WideWriteInput): Promise<number> {
  const { project } = input;
  const store = project.offline;
  const con = await store.ready();
  const q = quoteIdent;
  const restCols = await store.all<{ column_name: string; column_type: string }>(`DESCRIBE ${q(input.restTable)}`);
  const restType = new Map(restCols.map((c) => [c.column_name, c.column_type]));

  // Computed columns: every band output (derived features may read unselected ones) and every derived feature.
  const computed = new Map<string, ColState>();
  const bandOut = input.bands.map(({ plan }) => plan.outputs.map((o) => {
    const s = columnState(o.column, KIND[o.type]!);
    computed.set(o.column, s);
    return s.buf as Float64Array;
  }));
  const derivedOut = input.derived.map((f) => {
    const s = columnState(f.name, 'float64');
    computed.set(f.name, s);
    return s.buf as Float64Array;
  });
  // Rest columns read as numbers by derived features.
  const numericRest = new Set<string>();
  const bucketCols = new Map<string, Map<string | number, string>>();
  for (const f of input.derived) {
    for (const ref of f.inputs) {
      const feature = input.features.get(ref)!;
      bucketCols.set(ref, new Map(feature.outputs.filter((o) => o.bucket !== null).map((o) => [o.bucket!, o.column])));
      for (const o of feature.outputs) if (!computed.has(o.column) && restType.has(o.column)) numericRest.add(o.column);
    }
  }
  const restRead = [...new Set([...input.outputs.filter((c) => !computed.has(c)), ...numericRest])];
  const sources = new Map<string, Source>();
  restRead.forEach((c, i) => sources.set(c, { kind: 'rest', index: 2 + i }));
  for (const [c, state] of computed) sources.set(c, { kind: 'computed', state });
  const types = input.outputs.map((c) => {
    const src = sources.get(c);
    if (!src) throw new Error(`internal: no source for output column ${c}`);
    if (src.kind === 'rest') return restType.get(c)!;
    const k = src.state.kind;
    return k === 'int64' ? 'BIGINT' : k === 'int32' ? 'INTEGER' : 'DOUBLE';
  });
  await con.run(`CREATE ${input.temp ? 'TEMP ' : ''}TABLE ${q(input.target)} (${input.outputs.map((c, j) => `${q(c)} ${types[j]}`).join(', ')})`);
  const duckTypes = (await con.run(`SELECT * FROM ${q(input.target)} LIMIT 0`)).columnTypes();
  const appender = await (input.temp ? con.createAppender(input.target, 'main', 'temp') : con.createAppender(input.target));
  const { DuckDBDataChunk } = duckdbApi();

  const [{ n: total } = { n: 0 }] = await store.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${q(input.restTable)}`);
  const progress = new Progress({ label: 'training set', total: Number(total), unit: 'rows', quiet: !input.progress || Number(total) < 20_000 });
  const scratches = input.bands.map(({ plan, events }) => { const s = new ProbeScratch(plan); s.ensureCodes(events.codes); return s; });
  const restIndex = new Map(restRead.map((c, i) => [c, i]));
  const restNums = [...numericRest].map(() => new Float64Array(CHUNK_ROWS));
  const numericIndex = new Map([...numericRest].map((c, i) => [c, i]));
  const kid = new Float64Array(CHUNK_ROWS);
  const t = new Float64Array(CHUNK_ROWS);
  let done = 0;
  const result = await con.stream(`SELECT coalesce(kk.__kid, 0)::DOUBLE, epoch_us(r.__t)::DOUBLE${restRead.map((c) => `, r.${q(c)}`).join('')}
    FROM ${q(input.restTable)} r LEFT JOIN ${q(input.keysTable)} kk ON r.__key = kk.__k ORDER BY r.__row`);
  try {
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const n = chunk.rowCount;
      readDoubles(chunk, 0, kid, 0);
      readDoubles(chunk, 1, t, 0);
      input.bands.forEach(({ plan, events }, b) => {
        const out = bandOut[b]!;
        const scratch = scratches[b]!;
        for (let i = 0; i < n; i++) {
          const k = kid[i]!;
          computeProbe(plan, events.batch, events.member, scratch, events.offsets[k]!, events.offsets[k + 1]!, t[i]!, input.inclusive, out, i);
        }
      });
      if (input.derived.length) {
        for (const [c, j] of numericIndex) {
          const values = chunk.getColumnValues(2 + restIndex.get(c)!);
          const dst = restNums[j]!;
          for (let i = 0; i < n; i++) { const v = values[i]; dst[i] = v === null || v === undefined ? NaN : Number(v); }
        }
        let row = 0;
        const lookup = (ref: string, bucket?: string | number): number | null => {
          const f = bucket === undefined ? ref : bucketCols.get(ref)!.get(bucket)!;
          const s = computed.get(f);
          const v = s ? (s.buf as Float64Array)[row]! : restNums[numericIndex.get(f)!]![row]!;
          return v === v ? v : null;
        };
        for (row = 0; row < n; row++) {
          input.derived.forEach((f, d) => {
            const v = evaluateExpr((f.spec as DerivedFeatureSpec).expr, lookup);
            derivedOut[d]![row] = v === null ? NaN : v;
          });
        }
      }
      const block = DuckDBDataChunk.create(duckTypes, n);
      input.outputs.forEach((c, j) => {
        const src = sources.get(c)!;
        if (src.kind === 'rest') block.setColumnValues(j, chunk.getColumnValues(src.index));
        else writeChunkColumn(block, j, src.state, n);
      });
      appender.appendDataChunk(block);
      done += n;
      progress.update(done);
    }
    appender.flushSync();
    appender.closeSync();
    progress.finish();
  } catch (e) {
    progress.abort();
    try { appender.closeSync(); } catch { /* already failed */ }
    throw e;
  }
  return done;
}
