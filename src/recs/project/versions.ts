/**
 * Trained recommenders on disk: dataDir/recs/<name>/v<N>/ holds a version (meta.json, keys.json and the
 * model files of persist.ts). `kiln recs train NAME` writes the next version into a staged folder and
 * renames it into place, so a failed or killed training leaves the versions before it as they were and a
 * server never sees half a version. Versions are immutable; the newest is the one served unless a
 * request or `--version` names another.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError, didYouMean } from '../../core/errors.js';
import type { RecommenderSpec } from '../../config/index.js';
import type { Project } from '../../store/index.js';
import type { GbdtParams, IterationInfo } from '../../gbdt/index.js';
import type { GeneratorSpec } from '../generators.js';
import { saveRetrieveThenRank } from '../persist.js';
import { fitRetrieveThenRank, type RankerReport, type RetrieveThenRankOptions } from '../ranker.js';
import { loadRecsData, type RecsKeys } from './data.js';
import type { LiveFeatures } from './live.js';

export const RECOMMENDER_FORMAT = 'kiln.recommender@1';

export interface RecommenderMeta {
  format: typeof RECOMMENDER_FORMAT;
  name: string;
  version: number;
  trainedAt: string;
  /** The spec it was trained with. */
  spec: RecommenderSpec;
  interactions: number;
  users: number;
  items: number;
  timeUnit?: string;
  /** Feature-store attributes: which features, which columns, as of when (requests read them fresh). */
  live?: { users?: LiveFeatures; items?: LiveFeatures };
  report: RankerReport;
  featureNames: string[];
  seconds: number;
  arrays: { bytes: number; sha256: string };
}

export function recommenderSpec(project: Project, name: string): RecommenderSpec {
  const spec = project.config.recommenders[name];
  if (spec) return spec;
  const names = Object.keys(project.config.recommenders);
  const hint = didYouMean(name, names);
  throw new KilnError('RECOMMENDER_NOT_FOUND', `no recommender '${name}' in ${project.paths.configFile}${hint ? `; did you mean '${hint}'?` : ''} (recommenders: ${names.length ? names.join(', ') : 'none; declare one under recommenders: { ... }'})`, { path: ['recommenders', name] });
}

export function recommenderDir(project: Project, name: string): string {
  return join(project.paths.dataDir, 'recs', name);
}

/** The trained versions of a recommender, ascending. */
export function recommenderVersions(project: Project, name: string): number[] {
  const dir = recommenderDir(project, name);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((f) => /^v(\d+)$/.exec(f)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b);
}

/** The fit options a spec declares (shared by train and eval, so eval measures what train builds). */
export function fitOptions(spec: RecommenderSpec): RetrieveThenRankOptions {
  return {
    generators: spec.generators as GeneratorSpec[],
    candidates: spec.candidates,
    ...(spec.perGenerator !== undefined ? { perGenerator: spec.perGenerator } : {}),
    ...(spec.validation ? { validation: spec.validation } : {}),
    ...(spec.ranker ? { ranker: spec.ranker as GbdtParams } : {}),
    ...(spec.earlyStoppingShare !== undefined ? { earlyStoppingShare: spec.earlyStoppingShare } : {}),
    ...(spec.base !== undefined ? { base: spec.base } : {}),
    ...(spec.diversity ? { diversity: spec.diversity } : {}),
    ...(spec.rankerRows ? { rankerRows: spec.rankerRows } : {}),
    ...(spec.timeWindow !== undefined ? { features: { timeWindow: spec.timeWindow } } : {}),
    seed: spec.seed,
  };
}

/** An onRound callback that logs the ranker's round and early-stopping metric at most every 2 s. */
export function roundLogger(log: (line: string) => void): (info: IterationInfo) => void {
  let last = performance.now();
  return (info) => {
    if (performance.now() - last < 2000) return;
    last = performance.now();
    const v = info.valid ? Object.entries(info.valid).map(([k, x]) => ` ${k} ${x.toFixed(4)}`).join('') : '';
    log(`ranker round ${info.iteration + 1}${v}`);
  };
}

export function readMeta(dir: string): RecommenderMeta {
  const path = join(dir, 'meta.json');
  let meta: RecommenderMeta;
  try {
    meta = JSON.parse(readFileSync(path, 'utf8')) as RecommenderMeta;
  } catch (e) {
    throw new KilnError('FILE_INVALID', `cannot read ${path}: ${(e as Error).message}`, { path: [path] });
  }
  if (meta?.format !== RECOMMENDER_FORMAT) throw new KilnError('FILE_INVALID', `${path}: format is '${String(meta?.format)}'; expected '${RECOMMENDER_FORMAT}'`, { path: [path] });
  return meta;
}

/**
 * `kiln recs train NAME`: reads the declared tables, fits generators and ranker (never on anything but
 * these interactions), and writes version N+1 atomically.
 */
export async function trainRecommender(project: Project, name: string, opts: { log?: (line: string) => void } = {}): Promise<RecommenderMeta> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const spec = recommenderSpec(project, name);
  const loaded = await loadRecsData(project, name, spec);
  const { train } = loaded.data;
  log(`recs ${name}: ${loaded.rows} interactions, ${train.nUsers} users, ${train.nItems} items from '${spec.interactions.table}'`);
  for (const [field, l] of Object.entries(loaded.live ?? {})) {
    log(`recs ${name}: ${field} features ${[...l.numeric, ...l.categorical].join(', ')} of entity '${l.entity}' as of ${l.asOf} (requests read them from the online store)`);
  }
  const fit = fitOptions(spec);
  const model = await fitRetrieveThenRank(loaded.data, { ...fit, log: (l) => log(`recs ${name}: ${l}`), onRound: roundLogger((l) => log(`recs ${name}: ${l}`)) });
  const dir = recommenderDir(project, name);
  mkdirSync(dir, { recursive: true });
  const version = (recommenderVersions(project, name).at(-1) ?? 0) + 1;
  const staged = join(dir, `v${version}.staged-${process.pid}`);
  rmSync(staged, { recursive: true, force: true });
  mkdirSync(staged);
  try {
    const arrays = saveRetrieveThenRank(model, staged);
    const keys: RecsKeys = loaded.keys;
    writeFileSync(join(staged, 'keys.json'), JSON.stringify(keys));
    const meta: RecommenderMeta = {
      format: RECOMMENDER_FORMAT, name, version, trainedAt: new Date().toISOString(), spec, interactions: loaded.rows, users: train.nUsers, items: train.nItems,
      ...(loaded.timeUnit ? { timeUnit: loaded.timeUnit } : {}), ...(loaded.live ? { live: loaded.live } : {}), report: model.report, featureNames: model.featureNames, seconds: (performance.now() - t0) / 1000, arrays,
    };
    writeFileSync(join(staged, 'meta.json'), JSON.stringify(meta, null, 2));
    const target = join(dir, `v${version}`);
    if (existsSync(target)) throw new KilnError('STORE_BUSY', `${target} appeared while training (another 'kiln recs train ${name}'?); this run wrote nothing`, { path: [target] });
    renameSync(staged, target);
    const r = model.report;
    log(`recs ${name}: v${version} in ${meta.seconds.toFixed(1)} s (ranker ${r.groups} groups, ${r.rows} rows, candidate recall ${r.candidateRecall.toFixed(3)}, ${r.rounds} rounds)`);
    return meta;
  } finally {
    rmSync(staged, { recursive: true, force: true });
  }
}
