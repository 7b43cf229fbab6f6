import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { KilnError } from '../../core/errors.js';
import type { Project } from '../../store/index.js';
import { definitionsError, loadFeatureRegistry, resolveSelection, type FeatureRegistry } from '../registry.js';
import type { SourceSpec } from '../spec.js';
import { loadBands, writeWide, type TrainingEngine } from './bands/index.js';
import { compileTrainingQuery, type EventTimeBound } from './compile.js';
import { prepareSpine, type SpineInput } from './spine.js';
import { quoteIdent, quoteLiteral } from './sql-text.js';
import { checkSourcesAgainstStore } from './store-check.js';

/** Written into a training set's Parquet key-value metadata under `kiln`. */
export const TRAINING_SET_FORMAT = 'kiln.training-set@1';

export interface TrainingSetOptions {
  /** A table of the offline store, a .parquet/.csv/.ndjson file, or every entity as of one UTC time. */
  spine: SpineInput;
  /** A feature set's name, or feature (and set) names. */
  features: string | readonly string[];
  /** Write the training set to this Parquet file. */
  out?: string;
  /** Keep the training set as this offline-store table (default 'training_set' when no `out` is given). */
  table?: string;
  /** 'strict' (default): events strictly before the spine time; 'inclusive': at or before it. */
  eventTimeBound?: EventTimeBound;
  /** Definitions to use instead of the project config's `features`. */
  definitions?: readonly unknown[];
  /**
   * 'auto' (default) and 'bands': windowed counts, sums, means, extremes, deviations, distinct counts and
   * times-since of event sources in one pass per source (the band kernel); 'sql': every feature in DuckDB SQL.
   */
  engine?: TrainingEngine;
  /** Progress on stderr (a bar on a TTY). */
  progress?: boolean;
}

export interface TrainingSetSummary {
  rows: number;
  /** Output columns: the spine's, then one per feature (per bucket for bucketed features). */
  columns: string[];
  features: { name: string; version: string }[];
  /** The feature set's name and version when `features` named one set. */
  set: { name: string; version: string } | null;
  table: string | null;
  file: string | null;
  seconds: number;
  eventTimeBound: EventTimeBound;
}

/** The validated registry of a project's definitions, checked against its offline store. */
export async function loadProjectFeatures(project: Project, definitions?: readonly unknown[], sources?: ReadonlySet<string>): Promise<FeatureRegistry> {
  const registry = loadFeatureRegistry(definitions ?? project.config.features);
  const issues = await checkSourcesAgainstStore(project, registry, sources);
  if (issues.length) throw definitionsError(issues, 'feature sources do not match the offline store');
  return registry;
}

/**
 * Builds a point-in-time training set: for each spine row, each feature sees only events before the
 * spine time (and available by then), inside its window.
 * @example await buildTrainingSet(project, { spine: { table: 'loans' }, features: 'credit_v1', out: 'train.parquet' })
 */
export async function buildTrainingSet(project: Project, opts: TrainingSetOptions): Promise<TrainingSetSummary> {
  const started = performance.now();
  const bound = opts.eventTimeBound ?? 'strict';
  if (bound !== 'strict' && bound !== 'inclusive') throw new KilnError('INVALID_ARGUMENT', `eventTimeBound must be 'strict' or 'inclusive'; got '${String(bound)}'`);
  if (opts.out !== undefined && extname(opts.out).toLowerCase() !== '.parquet') {
    throw new KilnError('USAGE', `--out ${opts.out}: training sets are written as Parquet; name the file *.parquet`);
  }
  const target = opts.table ?? (opts.out === undefined ? 'training_set' : null);
  if (target !== null && (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(target) || target.startsWith('__kiln'))) {
    throw new KilnError('NAME_INVALID', `table name '${target}' must be an identifier (letters, digits, _) not starting with __kiln`);
  }

  const registry = loadFeatureRegistry(opts.definitions ?? project.config.features);
  const { features, selected } = resolveSelection(registry, opts.features);
  const entities = [...new Set(features.map((f) => f.entity.name))];
  if (entities.length !== 1) {
    throw new KilnError('USAGE', `the selected features describe several entities (${entities.join(', ')}); a training set reads one entity per row: select features of one entity`);
  }
  const sources = new Map<string, SourceSpec>();
  for (const f of features) if (f.source) sources.set(f.source.name, f.source);
  const issues = await checkSourcesAgainstStore(project, registry, new Set(sources.keys()));
  if (issues.length) throw definitionsError(issues, 'feature sources do not match the offline store');

  const store = project.offline;
  const reserved = new Set(features.filter((f) => selected.has(f.name)).flatMap((f) => f.outputs.map((o) => o.column)));
  const spine = await prepareSpine(project, opts.spine, { entity: features[0]!.entity, sources: [...sources.values()], reserved, strict: bound === 'strict' });
  const staging = store.stagingName('training');
  const temp: string[] = [];
  try {
    const loaded = await loadBands(project, features, spine, { engine: opts.engine ?? 'auto', strict: bound === 'strict' });
    if (loaded.keysTable) temp.push(loaded.keysTable);
    const banded = new Set(loaded.bands.flatMap((b) => [...b.plan.features]));
    const rest = store.stagingName('training_rest');
    const query = compileTrainingQuery({
      features, selected, spine: spine.table, spineColumns: spine.columns, bound, timeRange: spine.timeRange, target: staging, banded, restTable: rest,
    });
    /** Writes the rows into `table` (created here): by the band kernel's writer, or by one SQL statement. */
    const write = async (table: string, tempTable: boolean): Promise<void> => {
      if (!banded.size) {
        await store.run(`CREATE OR REPLACE ${tempTable ? 'TEMP ' : ''}TABLE ${quoteIdent(table)} AS ${query}`);
        return;
      }
      temp.push(rest);
      await store.run(query);
      const byName = new Map(features.map((f) => [f.name, f]));
      await writeWide({
        project, restTable: rest, keysTable: loaded.keysTable!, bands: loaded.bands, features: byName,
        derived: features.filter((f) => f.spec.type === 'derived'),
        outputs: [...spine.columns, ...[...selected].flatMap((name) => byName.get(name)!.outputs.map((o) => o.column))],
        target: table, temp: tempTable, inclusive: bound === 'inclusive', progress: opts.progress,
      });
      await store.dropIfExists(rest);
    };
    const set = typeof opts.features === 'string' ? registry.sets.get(opts.features) : undefined;
    const versions = [...selected].map((name) => ({ name, version: registry.features.get(name)!.version }));
    // The file describes itself: which features, at which versions, under which time semantics.
    const meta = JSON.stringify({
      format: TRAINING_SET_FORMAT, set: set ? { name: set.name, version: set.version } : null, features: versions, eventTimeBound: bound,
    });
    // Written beside the file and renamed over it: a failed write leaves the previous file as it was.
    const copyTo = async (relation: string, to: string): Promise<void> => {
      mkdirSync(dirname(to), { recursive: true });
      const part = `${to}.${process.pid}.part`;
      try {
        await store.run(`COPY ${relation} TO ${quoteLiteral(part)} (FORMAT parquet, KV_METADATA {kiln: ${quoteLiteral(meta)}})`);
        renameSync(part, to);
      } finally {
        rmSync(part, { force: true });
      }
    };
    const file = opts.out === undefined ? null : resolve(opts.out);
    if (target === null) {
      // A file only: the rows go to a temp table (not into the database file), then to Parquet.
      const scratch = store.stagingName('training_file');
      temp.push(scratch);
      await write(scratch, true);
      await copyTo(quoteIdent(scratch), file!);
      const columns = (await store.all<{ column_name: string }>(`DESCRIBE ${quoteIdent(scratch)}`)).map((c) => c.column_name);
      const [n] = await store.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${quoteIdent(scratch)}`);
      return {
        rows: n!.n, columns, features: versions, set: set ? { name: set.name, version: set.version } : null,
        table: null, file, seconds: (performance.now() - started) / 1000, eventTimeBound: bound,
      };
    }
    await write(staging, false);
    if (file !== null) await copyTo(quoteIdent(staging), file);
    const columns = (await store.all<{ column_name: string }>(`DESCRIBE ${quoteIdent(staging)}`)).map((c) => c.column_name);
    const [n] = await store.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${quoteIdent(staging)}`);
    if (target !== null) await store.swapIn(staging, target);
    return {
      rows: n!.n, columns, features: versions,
      set: set ? { name: set.name, version: set.version } : null,
      table: target, file, seconds: (performance.now() - started) / 1000, eventTimeBound: bound,
    };
  } finally {
    for (const t of temp) await store.dropIfExists(t);
    await store.dropIfExists(staging);
    await store.dropIfExists(spine.table);
  }
}
