/**
 * The simulated world's applications as the server would have seen them: every application's model
 * inputs built point in time at its `applied_at` (the feature store's training-set engine, which is the
 * same code as batch scoring), held in memory by month, and scored by whichever version is the champion
 * that month into decision records (time and id at the application's time).
 */
import { KilnError } from '../../core/errors.js';
import type { ModelSpec } from '../../config/index.js';
import { buildTrainingSet, loadProjectFeatures } from '../../features/training/index.js';
import { checkModelSpec, type ModelBundle, type ScoreRow } from '../../pipelines/index.js';
import { decisionIdAt, type DecisionRecord } from '../../serve/index.js';
import { quoteIdent, timestampSql, type Project } from '../../store/index.js';

export interface Application {
  readonly id: number;
  readonly entityId: string;
  readonly time: number;
  readonly row: Record<string, number | string | null>;
}

const SPINE = '__loop_sim_spine';
const TABLE = 'loop_sim_applications';

/**
 * Every application of [from, to) with the model's inputs as of its time, grouped by month start (epoch
 * ms). `funded` only (the default): the applications the simulated lender booked, each at its loan's
 * funding time: the population and the time the model is trained on, and the only applications whose
 * outcomes are ever observed, so that drift, the label-free estimates and the realised performance all
 * speak of the same people, with the same features as at training.
 */
export async function applicationsByMonth(project: Project, model: string, spec: ModelSpec, from: number, to: number, opts: { funded?: boolean } = {}): Promise<Map<number, Application[]>> {
  // The same selection as the training set's (dataset.ts): the model's features and those they need.
  const checked = await checkModelSpec(project, model, spec, await loadProjectFeatures(project));
  if (!checked.features.length) throw new KilnError('CONFIG_INVALID', `model '${model}': kiln loop simulate scores applications with the model's features: the model needs \`features\``, { path: ['models', model, 'features'] });
  const store = project.offline;
  // A funded application is decided at its loan's funding time: the time the model's spine (loans at
  // funded_at) puts its training rows at, so that the features are the same as at training (the
  // application and its approval are then in the borrower's history, as they were for every training row).
  await store.run(opts.funded === false
    ? `CREATE OR REPLACE TABLE ${SPINE} AS SELECT application_id, borrower_id, applied_at FROM applications WHERE applied_at >= ${timestampSql(from)} AND applied_at < ${timestampSql(to)} ORDER BY applied_at, application_id`
    : `CREATE OR REPLACE TABLE ${SPINE} AS SELECT a.application_id, a.borrower_id, l.funded_at AS applied_at FROM applications a JOIN loans l USING (application_id)
       WHERE l.funded_at >= ${timestampSql(from)} AND l.funded_at < ${timestampSql(to)} ORDER BY l.funded_at, a.application_id`);
  return readMonths(project, [...checked.features, ...checked.extra]);
}

/** Builds the inputs of the rows in the spine table point in time and groups them by month; drops the spine. */
async function readMonths(project: Project, features: string[]): Promise<Map<number, Application[]>> {
  const store = project.offline;
  try {
    await buildTrainingSet(project, { spine: { table: SPINE, timestamp: 'applied_at', key: 'borrower_id' }, features, table: TABLE });
  } finally {
    await store.run(`DROP TABLE IF EXISTS ${SPINE}`);
  }
  const cols = (await store.all<{ column_name: string; column_type: string }>(`DESCRIBE ${TABLE}`)).filter((c) => !['application_id', 'borrower_id', 'applied_at'].includes(c.column_name));
  const rows = await store.all<Record<string, unknown>>(
    `SELECT application_id::BIGINT AS __id, borrower_id::VARCHAR AS __e, epoch_ms(applied_at)::DOUBLE AS __t, ${cols.map((c) => `${quoteIdent(c.column_name)}${/^(VARCHAR|ENUM)/.test(c.column_type) ? '::VARCHAR' : /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|FLOAT|DOUBLE|DECIMAL)/.test(c.column_type) ? '::DOUBLE' : ''} AS ${quoteIdent(c.column_name)}`).join(', ')} FROM ${TABLE} ORDER BY __t, __id`);
  await store.run(`DROP TABLE IF EXISTS ${TABLE}`);
  project.releaseOffline();
  const out = new Map<number, Application[]>();
  for (const r of rows) {
    const t = Number(r.__t);
    const d = new Date(t);
    const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    const row: Record<string, number | string | null> = {};
    for (const c of cols) {
      const v = r[c.column_name];
      row[c.column_name] = v === null || v === undefined ? null : typeof v === 'number' || typeof v === 'string' ? v : typeof v === 'bigint' ? Number(v) : String(v);
    }
    const list = out.get(month);
    const app = { id: Number(r.__id), entityId: String(r.__e), time: t, row };
    if (list) list.push(app); else out.set(month, [app]);
  }
  return out;
}

/** Decision records of `apps` scored by `bundle` (version `version` of `model`), with the inputs it took. */
export function decide(model: string, version: number, bundle: ModelBundle, apps: readonly Application[]): DecisionRecord[] {
  if (!apps.length) return [];
  const names = bundle.json.signature.features.map((f) => f.name);
  const rows: ScoreRow[] = apps.map((a) => {
    const row: Record<string, number | string | null> = {};
    for (const n of names) {
      if (!(n in a.row)) throw new KilnError('SIGNATURE_MISMATCH', `version ${version} of '${model}' takes '${n}', which the model's features do not give`, { path: ['features', n] });
      row[n] = a.row[n]!;
    }
    return row;
  });
  const s = bundle.score(rows);
  return apps.map((a, i) => ({
    id: decisionIdAt(a.time), time: new Date(a.time).toISOString(), model, version, decidedBy: 'primary', entityId: a.entityId, asOf: new Date(a.time).toISOString(),
    request: { entityId: a.entityId, applicationId: a.id, simulated: true }, features: rows[i] as DecisionRecord['features'],
    score: { model, version, raw: s.probability[i]!, calibrated: s.calibrated ? s.calibrated[i]! : null, points: s.points[i]!, declined: s.declined[i] === 1 },
    reasons: null, shadow: [], latencyMs: 0,
  }));
}

/**
 * The model's own spine rows of [from, to) (each entity at its spine time, as in the training set) with
 * the model's inputs as of that time, grouped by month: the rows `kiln loop backtest` replays.
 */
export async function spineRowsByMonth(project: Project, model: string, spec: ModelSpec, from: number, to: number): Promise<Map<number, Application[]>> {
  const checked = await checkModelSpec(project, model, spec, await loadProjectFeatures(project));
  if (!checked.features.length || !spec.spine.key || !spec.spine.timestamp) {
    throw new KilnError('CONFIG_INVALID', `model '${model}': a backtest replays the spine's rows by entity and time: the model needs features, spine.key and spine.timestamp`, { path: ['models', model] });
  }
  const store = project.offline;
  const k = quoteIdent(spec.spine.key);
  const t = quoteIdent(spec.spine.timestamp);
  await store.run(`CREATE OR REPLACE TABLE ${SPINE} AS SELECT row_number() OVER (ORDER BY ${t}, ${k}) AS application_id, ${k} AS borrower_id, ${t} AS applied_at
    FROM ${quoteIdent(spec.spine.table)} WHERE ${t} >= ${timestampSql(from)} AND ${t} < ${timestampSql(to)}`);
  return readMonths(project, [...checked.features, ...checked.extra]);
}
