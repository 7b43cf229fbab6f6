/**
 * The request path of a prediction, apart from HTTP. A request's rows are checked (shape, batch size,
 * as-of times, each full feature row against the deciding version's schema), the rows by entity id are
 * read from the online store in one lookup per distinct as-of time, and each version on the route scores
 * all its rows in one call: a GBDT's `bundle.score`; a sequence version one `SequenceModel.score` per row,
 * on its own arena (sequence.ts); a fused version embeds each row's lastK value, then one trees call
 * (fused.ts); an ONNX version one awaited onnxruntime run (onnx.ts). The versions reading a lastK value
 * score as of the row's as-of time. Per row, `decidedBy` picks the deciding version (the canary for its
 * share of entities, else the primary); the other version, or a shadow challenger, is recorded in
 * `shadow` only. All records of a request are appended to the decision log in one call, awaited.
 * Per-version work (what a row reads, `requestInputs`; the feature row schema; the online features) is
 * built once and cached. A lastK input read from the online store keeps its event list; sent in a full
 * row it is checked against the encoding of each version that reads it first (`checkRows`).
 */
import type { z } from 'zod';
import { KilnError } from '../core/errors.js';
import { NamesCache } from '../core/index.js';
import { parseUtc } from '../core/time.js';
import type { ReasonCode } from '../eval/index.js';
import type { OnlineFeatureStore } from '../online/index.js';
import type { ScoreRow } from '../pipelines/index.js';
import { newDecisionId } from './decisions/index.js';
import { fusedScores } from './fused.js';
import { gbdtBundle, requestInputs } from './models/live.js';
import { CUTOFF_UNAVAILABLE, onnxScores } from './onnx.js';
import { checkSequenceValue, REASONS_UNAVAILABLE, sequenceScores, type SequenceExtras } from './sequence.js';
import { decidedBy } from './traffic.js';
import type { DecisionRecord, FeatureValue, InputValue, LiveVersion, ModelRoute, SequenceValue, VersionScore } from './types.js';
import { featureRowSchema, requestInvalid, type PredictBody, type PredictRow } from './http/schemas.js';

/** What a version needs on the request path, built once. */
export interface PreparedVersion {
  readonly live: LiveVersion;
  /** What a row reads (from a full row or the online store). */
  readonly inputs: readonly string[];
  /** What a decision records: the inputs and any entity-id input (an embedding space's entity). */
  readonly recorded: readonly string[];
  readonly rowSchema: z.ZodObject;
}

const prepared = new WeakMap<LiveVersion, PreparedVersion>();

export function prepareVersion(live: LiveVersion): PreparedVersion {
  let p = prepared.get(live);
  if (!p) {
    // An ENTITY input (an embedding space's entity id) is the request's entity id, not an online feature.
    const all = requestInputs(live);
    p = { live, inputs: all.filter((f) => f.type !== 'ENTITY').map((f) => f.name), recorded: all.map((f) => f.name), rowSchema: featureRowSchema(live) };
    prepared.set(live, p);
  }
  return p;
}

/** The online features a set of input columns reads (a bucketed feature's columns read the feature). */
const onlineNames = new WeakMap<OnlineFeatureStore, NamesCache<string[]>>();
export function onlineFeaturesOf(online: OnlineFeatureStore, inputs: readonly string[]): string[] {
  let cache = onlineNames.get(online);
  if (!cache) { cache = new NamesCache((names) => servedFeatures(online, names)); onlineNames.set(online, cache); }
  return cache.get(inputs);
}

function servedFeatures(online: OnlineFeatureStore, inputs: readonly string[]): string[] {
  const byColumn = new Map<string, string>();
  for (const f of online.plan.registry.features.values()) for (const o of f.outputs) byColumn.set(o.column, f.name);
  const out = new Set<string>();
  for (const c of inputs) {
    const f = byColumn.get(c) ?? (online.plan.registry.features.has(c) ? c : undefined);
    if (f === undefined) throw new KilnError('FEATURE_NOT_SERVED', `input '${c}' is not a feature the online store knows; score this model with full feature rows, or define and materialize the feature`, { path: [c] });
    if (!online.plan.features.has(f)) throw new KilnError('FEATURE_NOT_SERVED', `feature '${f}' (input '${c}') is not served by the online store (it serves ${online.plan.selection.join(', ')}); materialize it ('kiln online materialize --features ...')`, { path: [c] });
    out.add(f);
  }
  return [...out];
}

/** The rows of a body (a single-row body is one row). */
export function rowsOf(body: PredictBody | { rows?: PredictRow[]; entityId?: string | number; asOf?: string; features?: Extract<PredictRow, { features: unknown }>['features'] }): PredictRow[] {
  if ('rows' in body && body.rows) return body.rows;
  if ('features' in body && body.features) return [body.asOf === undefined ? { features: body.features } : { features: body.features, asOf: body.asOf }];
  const b = body as { entityId: string | number; asOf?: string };
  return [b.asOf === undefined ? { entityId: b.entityId } : { entityId: b.entityId, asOf: b.asOf }];
}

export interface FeatureReadOptions {
  readonly online: OnlineFeatureStore | null;
  readonly maxBatch: number;
  readonly allowUnknown: boolean;
  /** Called with the duration of each online read (ms) and the newest event time seen, if any. */
  readonly onRead?: (ms: number) => void;
  /** Clock skew allowed for an as-of time in the future (ms). */
  readonly futureMs?: number;
}

/** One row as resolved: its entity id, as-of (ISO; a full row's when it gives one, else null), and input values by name. */
export interface ResolvedRow {
  readonly entityId: string | null;
  readonly asOf: string | null;
  readonly values: Record<string, InputValue>;
}

function value(v: unknown): InputValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  // A lastK value (the online store's list of events) stays a list: a sequence version reads it.
  if (Array.isArray(v)) return v as SequenceValue;
  return JSON.stringify(v);
}

/** An as-of time of a request row as ISO (milliseconds), checked: REQUEST_INVALID or ASOF_OUT_OF_RANGE naming `rows.<i>.asOf`. */
function checkAsOf(asOf: string, i: number, now: number, futureMs: number): string {
  let us: number;
  try { us = parseUtc(asOf, `rows.${i}.asOf`); } catch (e) {
    throw new KilnError('REQUEST_INVALID', `rows.${i}.asOf: ${(e as Error).message.replace(/^rows\.\d+\.asOf: /, '')}; expected ISO 8601 in UTC, e.g. 2025-01-01T00:00:00Z`, { path: ['rows', i, 'asOf'] });
  }
  if (us / 1000 > now + futureMs) {
    throw new KilnError('ASOF_OUT_OF_RANGE', `rows.${i}.asOf: ${asOf} is in the future; features can be read as of now or earlier`, { path: ['rows', i, 'asOf'] });
  }
  return new Date(Math.floor(us / 1000)).toISOString();
}

/**
 * Feature rows for `inputs`: full rows checked against `schema`, entity rows read from the online store
 * (one lookup per distinct as-of). Errors name the row: rows.<i>.<field>.
 */
export async function resolveRows(rows: readonly PredictRow[], inputs: readonly string[], schema: z.ZodObject, opts: FeatureReadOptions): Promise<ResolvedRow[]> {
  if (rows.length > opts.maxBatch) {
    throw new KilnError('PAYLOAD_TOO_LARGE', `rows: ${rows.length} rows in one request; this server takes at most ${opts.maxBatch} (serve.maxBatch): split the request`, { path: ['rows'] });
  }
  const out: ResolvedRow[] = new Array(rows.length);
  const groups = new Map<string, number[]>();
  const now = Date.now();
  rows.forEach((row, i) => {
    if ('features' in row) {
      const r = schema.safeParse(row.features);
      if (!r.success) {
        const issue = r.error.issues[0]!;
        if (issue.code === 'invalid_type' && (row.features as Record<string, unknown>)[String(issue.path[0])] === undefined) {
          const name = String(issue.path[0]);
          throw new KilnError('REQUEST_INVALID', `rows.${i}.features.${name}: the model needs input '${name}' (${issue.expected}); send null for a missing value`, { path: ['rows', i, 'features', name] });
        }
        throw requestInvalid(r.error, 'predict', ['rows', i, 'features']);
      }
      out[i] = { entityId: null, asOf: row.asOf === undefined ? null : checkAsOf(row.asOf, i, now, opts.futureMs ?? 60_000), values: r.data as Record<string, InputValue> };
      return;
    }
    const key = row.asOf === undefined ? '' : checkAsOf(row.asOf, i, now, opts.futureMs ?? 60_000);
    const g = groups.get(key);
    if (g) g.push(i); else groups.set(key, [i]);
  });
  if (groups.size === 0) return out;
  const online = opts.online;
  if (!online) throw new KilnError('ONLINE_UNAVAILABLE', 'this server runs without an online store: send full feature rows ({ features: {...} }) instead of entity ids', { path: ['rows', groups.values().next().value![0]!, 'entityId'] });
  const features = onlineFeaturesOf(online, inputs);
  for (const [key, idx] of groups) {
    const asOf = key === '' ? new Date().toISOString() : key;
    const started = performance.now();
    let found;
    try {
      found = await online.lookup(idx.map((i) => (rows[i] as { entityId: string | number }).entityId), features, { asOf });
    } catch (e) {
      if (e instanceof KilnError && e.code === 'ASOF_OUT_OF_RANGE') throw new KilnError(e.code, `rows.${idx[0]}.asOf: ${e.message}`, { path: ['rows', idx[0]!, 'asOf'], cause: e });
      throw e;
    }
    opts.onRead?.(performance.now() - started);
    found.forEach((l, j) => {
      const i = idx[j]!;
      if (!l.known && !opts.allowUnknown) {
        throw new KilnError('ENTITY_UNKNOWN', `rows.${i}.entityId: entity ${JSON.stringify(l.entity)} is unknown to the online store (no event or materialised value); check the id, or send allowUnknown: true to score it as an entity without history`, { path: ['rows', i, 'entityId'], details: { row: i, entityId: l.entity } });
      }
      const values: Record<string, InputValue> = {};
      for (const c of inputs) values[c] = value(l.row[c]);
      out[i] = { entityId: String(l.entity), asOf, values };
    });
  }
  return out;
}

interface VersionScores {
  scores: VersionScore[];
  reasons: (ReasonCode[] | null)[] | null;
  /** A sequence or ONNX version's other heads and embedding per row; null otherwise. */
  extras: SequenceExtras[] | null;
  /** The score depends on the as-of time (the version reads a lastK value): a decision records it. */
  timed: boolean;
}

/** The time (epoch µs) a row is scored as of: its as-of, else the decision's time. */
function atUs(r: { readonly asOf: string | null }, time: string): number {
  return Date.parse(r.asOf ?? time) * 1000;
}

async function versionScores(live: LiveVersion, rows: readonly { readonly values: Record<string, InputValue>; readonly asOf: string | null; readonly entityId?: string | null }[], reasons: boolean | 'all', time: string): Promise<VersionScores> {
  if (live.kind !== 'gbdt') {
    const timed = rows.map((r) => ({ values: r.values, atUs: atUs(r, time) }));
    if (live.kind === 'fused') return { ...fusedScores(live, timed, reasons), extras: null, timed: true };
    const s = live.kind === 'sequence' ? sequenceScores(live, timed) : await onnxScores(live, timed);
    return { scores: s.scores, reasons: null, extras: s.extras, timed: true };
  }
  const filler = live.embeddings;
  const inputs = rows.map((r) => (filler ? filler.fill(r.values, r.entityId) : r.values as ScoreRow));
  const shap = live.shap;
  const s = shap ? await live.bundle.scoreAsync(inputs, { reasons }, (x, n) => shap.explain(x, n)) : live.bundle.score(inputs, { reasons });
  const scores = new Array<VersionScore>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    scores[i] = { model: live.name, version: live.version, raw: s.probability[i]!, calibrated: s.calibrated ? s.calibrated[i]! : null, points: s.points[i]!, declined: s.declined[i] === 1 };
  }
  return { scores, reasons: s.reasons, extras: null, timed: false };
}

/** The network whose encoding reads a version's lastK input; null for a GBDT. */
function encoderOf(v: LiveVersion): { readonly input: string; readonly model: Parameters<typeof checkSequenceValue>[0] } | null {
  if (v.kind === 'sequence') return { input: v.input, model: v.model };
  if (v.kind === 'fused') return { input: v.input, model: v.fused.encoder };
  if (v.kind === 'onnx') return { input: v.input, model: v.scorer };
  return null;
}

/**
 * Checks the lastK values sent in full feature rows against each version on the route that will score
 * them (REQUEST_INVALID naming rows.<i>.features.<input>...), as of the row's as-of or `time`.
 */
export function checkRows(route: ModelRoute, rows: readonly PredictRow[], resolved: readonly ResolvedRow[], time: string): void {
  const encoders = [route.primary, route.challenger?.live].flatMap((v) => (v ? [encoderOf(v)].filter((e) => e !== null) : []));
  if (!encoders.length) return;
  resolved.forEach((r, i) => {
    if (!('features' in rows[i]!)) return;
    for (const e of encoders) {
      if (!Object.hasOwn(r.values, e.input)) continue;
      checkSequenceValue(e.model, r.values[e.input], atUs(r, time), ['rows', i, 'features', e.input]);
    }
  });
}

export interface Decision {
  readonly record: DecisionRecord;
}

/**
 * Scores resolved rows on a route: the deciding version per row, the other version (canary's primary, or
 * a shadow challenger) beside it. Returns the records (not yet logged).
 */
export async function decide(route: ModelRoute, rows: readonly PredictRow[], resolved: readonly ResolvedRow[], opts: { reasons: boolean; started: number; time?: string; embeddings?: (Float32Array | null)[] }): Promise<DecisionRecord[]> {
  const ch = route.challenger;
  const by = resolved.map((r) => decidedBy(route, r.entityId));
  const primaryDecides = by.some((b) => b === 'primary');
  const canaryDecides = by.some((b) => b === 'canary');
  const mode = (decides: boolean): boolean | 'all' => (decides ? (opts.reasons ? 'all' : true) : false);
  const time = opts.time ?? new Date().toISOString();
  const p = prepareVersion(route.primary);
  const primary = await versionScores(route.primary, resolved, mode(primaryDecides), time);
  let challenger: VersionScores | null = null;
  let chRows: number[] = [];
  if (ch) {
    const cp = prepareVersion(ch.live);
    chRows = resolved.flatMap((r, i) => (cp.inputs.every((n) => Object.hasOwn(r.values, n)) ? [i] : []));
    if (chRows.length) challenger = await versionScores(ch.live, chRows.map((i) => resolved[i]!), mode(canaryDecides), time);
  }
  const chAt = new Map(chRows.map((i, j) => [i, j]));
  return resolved.map((r, i): DecisionRecord => {
    const j = chAt.get(i);
    const canary = by[i] === 'canary' && j !== undefined;
    const decider = canary ? challenger! : primary;
    const k = canary ? j : i;
    const score = decider.scores[k]!;
    const extra = decider.extras?.[k];
    const rs = extra ? [] : decider.reasons?.[k] ?? null;
    const shadow: VersionScore[] = canary ? [primary.scores[i]!] : j !== undefined ? [challenger!.scores[j]!] : [];
    const inputs = canary ? prepareVersion(ch!.live).recorded : p.recorded;
    const features: Record<string, InputValue> = {};
    for (const n of inputs) features[n] = r.values[n] ?? null;
    if (opts.embeddings) opts.embeddings[i] = extra ? extra.embedding : null;
    return {
      id: newDecisionId(), time, model: route.name, version: score.version, decidedBy: canary ? 'canary' : 'primary',
      // A version reading a lastK value scores as of a time: a full row's is recorded (the decision's time when it gave none).
      entityId: r.entityId, asOf: r.asOf ?? (decider.timed ? time : null), request: rows[i], features, score,
      reasons: score.declined || opts.reasons ? rs : null, shadow, latencyMs: performance.now() - opts.started,
      ...(extra ? { tasks: extra.tasks } : {}),
    };
  });
}

/**
 * The response row of a record: what the client sees (never the shadow scores). A sequence or ONNX
 * version's adds its other heads (`tasks`), the embedding when asked for, and why it gives no reasons;
 * an ONNX version's (`kind` of the deciding version) why it declines nothing.
 */
export function resultOf(r: DecisionRecord, embedding: Float32Array | null = null, kind: LiveVersion['kind'] | null = null): Record<string, unknown> {
  const s = r.score;
  return {
    decisionId: r.id, model: r.model, version: r.version, entityId: r.entityId, asOf: r.asOf,
    score: { probability: s.calibrated ?? s.raw, raw: s.raw, points: s.points, declined: s.declined },
    reasons: r.reasons ? r.reasons.map((x) => ({ reason: x.reason, text: x.text, contribution: x.contribution })) : null,
    ...(r.tasks ? { tasks: r.tasks, reasonsUnavailable: REASONS_UNAVAILABLE } : {}),
    ...(embedding ? { embedding: Array.from(embedding) } : {}),
    ...(kind === 'onnx' ? { cutoffUnavailable: CUTOFF_UNAVAILABLE } : {}),
  };
}

/** Re-scores a record's features with the version that decided it (as of the record's as-of time). */
export async function replay(record: DecisionRecord, live: LiveVersion): Promise<{ recorded: VersionScore; replayed: VersionScore; equal: boolean }> {
  const { scores } = await versionScores(live, [{ values: record.features as Record<string, InputValue>, asOf: record.asOf, entityId: record.entityId }], false, record.time);
  const replayed = scores[0]!;
  const recorded = record.score;
  const equal = replayed.raw === recorded.raw && replayed.points === recorded.points && replayed.calibrated === recorded.calibrated && replayed.declined === recorded.declined;
  return { recorded, replayed, equal };
}

/** TreeSHAP contributions of the primary version for resolved rows: by input, plus the bias (log-odds). */
export function explainRows(live: LiveVersion, resolved: readonly ResolvedRow[]): { contributions: Record<string, number>; bias: number }[] {
  const b = gbdtBundle(live, 'explain (TreeSHAP contributions)', 'REQUEST_INVALID');
  const cols = b.columns(resolved.map((r) => r.values as ScoreRow));
  const shap = b.booster.explain(cols);
  const names = b.booster.featureNames;
  const f = names.length;
  const stride = shap.numOutputs * (f + 1);
  return resolved.map((_, i) => {
    const contributions: Record<string, number> = {};
    for (let j = 0; j < f; j++) contributions[names[j]!] = shap.contributions[i * stride + j]!;
    return { contributions, bias: shap.contributions[i * stride + f]! };
  });
}
