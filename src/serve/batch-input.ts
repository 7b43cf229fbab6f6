/**
 * The input of batch scoring: which rows to score and where each model input comes from, as one DuckDB
 * relation with a row number in input order.
 *
 * A version's signature says where its inputs come from: `column:<type>` versions are columns of the
 * table it was trained on (the table or file scored must hold them), the others are features, computed
 * by the offline engine that builds training sets (src/features/training/), point in time: for a spine,
 * each row as of its own time; for a file of entity ids, every entity as of one time. Features are
 * checked by name and definition version against the project's definitions before anything is computed;
 * types are checked against what was built (or, for a plain table, what is there) before scoring starts.
 */
import { existsSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { KilnError, didYouMean } from '../core/errors.js';
import { loadFeatureRegistry, resolveSelection, type FeatureRegistry } from '../features/index.js';
import { buildTrainingSet, prepareSpine, type SpineInput } from '../features/training/index.js';
import { checkSignature, type ModelSignature } from '../registry/index.js';
import { quoteIdent, quoteLiteral, type Project } from '../store/index.js';
import type { LiveVersion } from './types.js';

export interface BatchInputOptions {
  /** A table of the offline store, or a .parquet/.csv/.ndjson file. */
  readonly spine?: string;
  /** A file of entity ids (.csv/.parquet/.ndjson with the entity key column, or .txt, one id a line). */
  readonly entities?: string;
  /** ISO time in UTC, already checked: the time `entities` are scored at. */
  readonly asOf?: string;
  /** The spine's entity key column (default: the entity's key; for a plain table, the model's `spine.key`). */
  readonly key?: string;
  /** The spine's time column (default: the registered time column, or the only timestamp column). */
  readonly time?: string;
}

export interface BatchSource {
  /** What the scoring stream and the output read (aliased `src`): a table, or read_parquet(...) with file_row_number. */
  readonly relation: string;
  /** SQL over `src` that numbers its rows in input order from 0. */
  readonly rowId: string;
  /** The entity key in the output: its name and its SQL over `src`. */
  readonly key: { readonly name: string; readonly sql: string };
  /** The as-of time (TIMESTAMP) as SQL over `src`; null when the rows have none. */
  readonly time: string | null;
  readonly rows: number;
  /** The model inputs as `relation` holds them, for `checkSignature`. */
  readonly offered: ModelSignature['features'];
  /** What was computed, in words (for the log). */
  readonly note: string;
}

const FILE_EXT = /\.(parquet|csv|tsv|ndjson|jsonl|json|txt)$/i;

/** A `--spine` argument names a file when it looks like a path or has a data file's extension. */
export function isFileArgument(spine: string): boolean {
  return spine.includes('/') || spine.includes('\\') || FILE_EXT.test(spine);
}

function fileRelation(file: string, what: string): string {
  const f = quoteLiteral(file);
  const ext = extname(file).toLowerCase();
  if (ext === '.parquet') return `read_parquet(${f})`;
  if (ext === '.csv' || ext === '.tsv') return `read_csv(${f})`;
  if (ext === '.ndjson' || ext === '.jsonl' || ext === '.json') return `read_json_auto(${f})`;
  throw new KilnError('USAGE', `${what} ${file}: unsupported format '${ext || '(none)'}'; use .parquet, .csv or .ndjson`);
}

function requireFile(file: string, what: string): string {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new KilnError('FILE_NOT_FOUND', `${what} ${file} does not exist; check the path`, { path: [file] });
  return abs;
}

async function columnsOf(project: Project, relation: string): Promise<{ name: string; type: string }[]> {
  const rows = await project.offline.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${relation}`);
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

async function countRows(project: Project, relation: string): Promise<number> {
  const [r] = await project.offline.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${relation}`);
  return Number(r!.n);
}

function mismatch(live: LiveVersion, problems: string[]): KilnError {
  return new KilnError('SIGNATURE_MISMATCH', `${live.name} version ${live.version} cannot score this input (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${problems.map((p) => `  - ${p}`).join('\n')}`, { details: problems });
}

/** The columns each feature makes, by column: which feature, at which definition version. */
function outputsOf(registry: FeatureRegistry): Map<string, { feature: string; version: string }> {
  const m = new Map<string, { feature: string; version: string }>();
  for (const f of registry.features.values()) for (const o of f.outputs) m.set(o.column, { feature: f.name, version: f.version });
  return m;
}

/**
 * Resolves what to score: checks the options against the model, builds the features (if any) into
 * `work` (a folder the caller removes), and checks the signature before any row is scored.
 */
/**
 * The version's inputs split into features (made by the project's definitions) and spine columns, with
 * the features that make them (`owners`): what a scoring run computes point in time.
 */
export function modelInputs(project: Project, live: LiveVersion): { featureInputs: ModelSignature['features']; columnInputs: string[]; owners: string[]; registry: ReturnType<typeof loadFeatureRegistry> | null; outputs: Map<string, { feature: string; version: string }> } {
  const sig = live.info.signature.features;
  const hasFeatureVersion = sig.some((f) => f.version && !f.version.startsWith('column:'));
  const registry = hasFeatureVersion || sig.some((f) => !f.version) ? loadFeatureRegistry(project.config.features) : null;
  const outputs = registry ? outputsOf(registry) : new Map<string, { feature: string; version: string }>();
  // An input is a feature when its version says so (or, unversioned, when a definition makes it).
  const isFeature = (f: ModelSignature['features'][number]): boolean => (f.version ? !f.version.startsWith('column:') : outputs.has(f.name));
  const featureInputs = sig.filter(isFeature);
  const columnInputs = sig.filter((f) => !isFeature(f)).map((f) => f.name);
  const owners = [...new Set(featureInputs.flatMap((f) => { const o = outputs.get(f.name); return o ? [o.feature] : []; }))];
  return { featureInputs, columnInputs, owners, registry, outputs };
}

export async function batchSource(project: Project, live: LiveVersion, opts: BatchInputOptions, work: string, log: (line: string) => void): Promise<BatchSource> {
  const { featureInputs, columnInputs, registry, outputs } = modelInputs(project, live);
  if (featureInputs.length === 0) return plainSource(project, live, opts, work, columnInputs);

  // Names and definition versions first: nothing is computed for a model the definitions cannot feed.
  const problems: string[] = [];
  for (const f of featureInputs) {
    const o = outputs.get(f.name);
    if (!o) {
      const hint = didYouMean(f.name, [...outputs.keys()]);
      problems.push(`feature '${f.name}' is missing: no feature of ${project.paths.configFile} makes it${hint ? `; did you mean '${hint}'?` : ''}`);
    } else if (f.version && o.version !== f.version) {
      problems.push(`feature '${f.name}' is at definition version ${o.version}, the model was trained on ${f.version} (the feature's meaning changed)`);
    }
  }
  if (problems.length) throw mismatch(live, problems);
  const owners = [...new Set(featureInputs.map((f) => outputs.get(f.name)!.feature))];
  const { features, selected } = resolveSelection(registry!, owners);
  const entity = features[0]!.entity;
  const sources = [...new Map(features.filter((f) => f.source).map((f) => [f.source!.name, f.source!])).values()];
  const reserved = new Set(features.filter((f) => selected.has(f.name)).flatMap((f) => f.outputs.map((o) => o.column)));

  // The spine, normalised to (key, as_of, spine inputs) in input order, as a Parquet file.
  const spineFile = join(work, 'spine.parquet');
  let keyName = entity.key;
  if (opts.entities !== undefined) {
    const file = requireFile(opts.entities, 'entities file');
    const ext = extname(file).toLowerCase();
    const relation = ext === '.txt' || ext === '' ? `read_csv(${quoteLiteral(file)}, header = false, names = [${quoteLiteral(entity.key)}])` : fileRelation(file, 'entities file');
    const cols = await columnsOf(project, relation);
    const col = cols.find((c) => c.name === (opts.key ?? entity.key)) ?? (cols.length === 1 ? cols[0] : undefined);
    if (!col) {
      throw new KilnError('SPINE_INVALID', `entities file ${opts.entities} has no column '${opts.key ?? entity.key}' (columns: ${cols.map((c) => c.name).join(', ')}); name the entity key column ${entity.key}, pass --key COLUMN, or give a file of one column`);
    }
    if (columnInputs.length) throw new KilnError('USAGE', `${live.ref} also takes spine columns (${columnInputs.join(', ')}): score a spine that holds them (--spine), not a file of entity ids`);
    await project.offline.run(`COPY (SELECT ${quoteIdent(col.name)} AS ${quoteIdent(entity.key)}, CAST(${quoteLiteral(opts.asOf!)} AS TIMESTAMPTZ)::TIMESTAMP AS as_of FROM ${relation}) TO ${quoteLiteral(spineFile)} (FORMAT parquet)`);
  } else {
    const file = isFileArgument(opts.spine!) ? requireFile(opts.spine!, 'spine file') : null;
    // Unless told, a spine with the columns the model's own spine was keyed and timed by uses them.
    const spec = project.config.models[live.name]?.spine;
    const there = file ? await columnsOf(project, fileRelation(file, 'spine file')).catch(() => [])
      : (await project.offline.tableExists(opts.spine!)) ? await columnsOf(project, quoteIdent(opts.spine!)) : [];
    const has = (c: string | undefined): c is string => c !== undefined && there.some((x) => x.name === c);
    const key = opts.key ?? (has(spec?.key) ? spec.key : undefined);
    const time = opts.time ?? (has(spec?.timestamp) ? spec.timestamp : undefined);
    const named = { ...(key ? { key } : {}), ...(time ? { timestamp: time } : {}) };
    const input: SpineInput = file ? { file, ...named } : { table: opts.spine!, ...named };
    const prepared = await prepareSpine(project, input, { entity, sources, reserved, strict: true });
    try {
      keyName = prepared.keyColumn;
      const missing = columnInputs.filter((c) => !prepared.columns.includes(c));
      if (missing.length) throw mismatch(live, missing.map((c) => `column '${c}' is missing from the spine (columns: ${prepared.columns.join(', ')})`));
      const extra = columnInputs.filter((c) => c !== keyName && c !== 'as_of').map((c) => `, ${quoteIdent(c)}`).join('');
      await project.offline.run(`COPY (SELECT __key AS ${quoteIdent(keyName)}, __t AS as_of${extra} FROM ${quoteIdent(prepared.table)} ORDER BY __row) TO ${quoteLiteral(spineFile)} (FORMAT parquet)`);
    } finally {
      await project.offline.dropIfExists(prepared.table);
    }
  }
  const spineRows = await countRows(project, `read_parquet(${quoteLiteral(spineFile)})`);
  log(`features: ${owners.length} feature${owners.length > 1 ? 's' : ''} (${featureInputs.length} inputs) for ${spineRows} rows, point in time`);
  const built = join(work, 'features.parquet');
  await buildTrainingSet(project, { spine: { file: spineFile, key: keyName, timestamp: 'as_of' }, features: owners, out: built });
  const relation = `read_parquet(${quoteLiteral(built)}, file_row_number = true)`;
  const described = new Map((await columnsOf(project, relation)).map((c) => [c.name, c.type]));
  const isFeature = new Set(featureInputs.map((f) => f.name));
  const offered = live.info.signature.features.flatMap((f) => {
    const type = described.get(f.name);
    if (type === undefined) return [];
    return [{ name: f.name, type, version: isFeature.has(f.name) ? outputs.get(f.name)!.version : null }];
  });
  checkSignature(live.info, offered);
  return {
    relation, rowId: 'src.file_row_number', key: { name: keyName, sql: `src.${quoteIdent(keyName)}` }, time: 'src.as_of', rows: await countRows(project, relation), offered,
    note: `${owners.length} features`,
  };
}

/** A model over a table's own columns: the table or file scored holds them. */
async function plainSource(project: Project, live: LiveVersion, opts: BatchInputOptions, work: string, inputs: string[]): Promise<BatchSource> {
  if (opts.entities !== undefined) {
    throw new KilnError('USAGE', `${live.ref} takes no features (its inputs are columns: ${inputs.join(', ')}); score a table or file that holds them with --spine, not --entities`);
  }
  let relation: string;
  let rowId: string;
  let label: string;
  if (isFileArgument(opts.spine!)) {
    const file = requireFile(opts.spine!, 'spine file');
    label = `spine file ${opts.spine}`;
    let parquet = file;
    if (extname(file).toLowerCase() !== '.parquet') {
      // Text files are read once into Parquet: a stable row order and a row number to join the scores on.
      parquet = join(work, 'input.parquet');
      await project.offline.run(`COPY (SELECT * FROM ${fileRelation(file, 'spine file')}) TO ${quoteLiteral(parquet)} (FORMAT parquet)`);
    }
    relation = `read_parquet(${quoteLiteral(parquet)}, file_row_number = true)`;
    rowId = 'src.file_row_number';
  } else {
    label = `table '${opts.spine}'`;
    if (!(await project.offline.tableExists(opts.spine!))) {
      const tables = (await project.offline.all<{ n: string }>(`SELECT table_name AS n FROM duckdb_tables() WHERE schema_name = 'main' AND NOT starts_with(table_name, '__kiln') ORDER BY 1`)).map((r) => r.n);
      const h = didYouMean(opts.spine!, tables);
      throw new KilnError('TABLE_NOT_FOUND', `table '${opts.spine}' does not exist${h ? `; did you mean '${h}'?` : ''} (tables: ${tables.join(', ') || 'none'}). Pass a table of the offline store or a .parquet/.csv file`);
    }
    relation = quoteIdent(opts.spine!);
    rowId = 'src.rowid';
  }
  const cols = await columnsOf(project, relation);
  const names = cols.map((c) => c.name);
  const spec = project.config.models[live.name];
  const pick = (given: string | undefined, fallback: string | undefined, what: string): string | null => {
    if (given !== undefined) {
      if (names.includes(given)) return given;
      const h = didYouMean(given, names);
      throw new KilnError('SPINE_INVALID', `${label} has no ${what} column '${given}'${h ? `; did you mean '${h}'?` : ''} (columns: ${names.join(', ')})`);
    }
    return fallback !== undefined && names.includes(fallback) ? fallback : null;
  };
  const key = pick(opts.key, spec?.spine.key, 'key');
  const time = pick(opts.time, spec?.spine.timestamp, 'time');
  const missing = inputs.filter((c) => !names.includes(c));
  if (missing.length) throw mismatch(live, missing.map((c) => `column '${c}' is missing from ${label} (columns: ${names.join(', ')})`));
  const offered = cols.map((c) => ({ name: c.name, type: c.type, version: null }));
  checkSignature(live.info, offered);
  return {
    relation, rowId,
    key: key ? { name: key, sql: `src.${quoteIdent(key)}` } : { name: 'row', sql: `(${rowId} + 1)` },
    time: time ? `CAST(src.${quoteIdent(time)} AS TIMESTAMP)` : null,
    rows: await countRows(project, relation),
    offered: offered.filter((o) => inputs.includes(o.name)),
    note: `columns of ${label}`,
  };
}
