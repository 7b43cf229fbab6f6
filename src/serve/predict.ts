/**
 * The request path of a prediction, apart from HTTP. A request's rows are checked (shape, batch size,
 * as-of times, each full feature row against the deciding version's schema), the rows by entity id are
 * read from the online store in one lookup per distinct as-of time, and each version on the route scores
 * all its rows in one `bundle.score` call. Per row, `decidedBy` picks the deciding version (the canary
 * for its share of entities, else the primary); the other version, or a shadow challenger, is recorded in
 * `shadow` only. All records of a request are appended to the decision log in one call, awaited.
 * Per-version work (feature row schema, the online features a version reads) is built once and cached.
 */
import type { z } from 'zod';
import { KilnError } from '../core/errors.js';
import { parseUtc } from '../core/time.js';
import type { ReasonCode } from '../eval/index.js';
import type { OnlineFeatureStore } from '../online/index.js';
import type { ScoreRow } from '../pipelines/index.js';
import { newDecisionId } from './decisions/index.js';
import { decidedBy } from './traffic.js';
import type { DecisionRecord, FeatureValue, LiveVersion, ModelRoute, VersionScore } from './types.js';
import { featureRowSchema, requestInvalid, type PredictBody, type PredictRow } from './http/schemas.js';

/** What a version needs on the request path, built once. */
export interface PreparedVersion {
  readonly live: LiveVersion;
  readonly inputs: readonly string[];
  readonly rowSchema: z.ZodObject;
}

const prepared = new WeakMap<LiveVersion, PreparedVersion>();

export function prepareVersion(live: LiveVersion): PreparedVersion {
  let p = prepared.get(live);
  if (!p) {
    p = { live, inputs: live.info.signature.features.map((f) => f.name), rowSchema: featureRowSchema(live) };
    prepared.set(live, p);
  }
  return p;
}

/** The online features a set of input columns reads (a bucketed feature's columns read the feature). */
const onlineNames = new WeakMap<OnlineFeatureStore, Map<string, string[]>>();
export function onlineFeaturesOf(online: OnlineFeatureStore, inputs: readonly string[]): string[] {
  let byKey = onlineNames.get(online);
  if (!byKey) { byKey = new Map(); onlineNames.set(online, byKey); }
  const key = inputs.join('\u0000');
  let names = byKey.get(key);
  if (!names) {
    const byColumn = new Map<string, string>();
    for (const f of online.plan.registry.features.values()) for (const o of f.outputs) byColumn.set(o.column, f.name);
    const out = new Set<string>();
    for (const c of inputs) {
      const f = byColumn.get(c) ?? (online.plan.registry.features.has(c) ? c : undefined);
      if (f === undefined) throw new KilnError('FEATURE_NOT_SERVED', `input '${c}' is not a feature the online store knows; score this model with full feature rows, or define and materialize the feature`, { path: [c] });
      if (!online.plan.features.has(f)) throw new KilnError('FEATURE_NOT_SERVED', `feature '${f}' (input '${c}') is not served by the online store (it serves ${online.plan.selection.join(', ')}); materialize it ('kiln online materialize --features ...')`, { path: [c] });
      out.add(f);
    }
    names = [...out];
    byKey.set(key, names);
  }
  return names;
}

/** The rows of a body (a single-row body is one row). */
export function rowsOf(body: PredictBody | { rows?: PredictRow[]; entityId?: string | number; asOf?: string; features?: Record<string, FeatureValue> }): PredictRow[] {
  if ('rows' in body && body.rows) return body.rows;
  if ('features' in body && body.features) return [{ features: body.features }];
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

/** One row as resolved: its entity id, as-of (ISO), and feature values by input name. */
export interface ResolvedRow {
  readonly entityId: string | null;
  readonly asOf: string | null;
  readonly values: Record<string, FeatureValue>;
}

function value(v: unknown): FeatureValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
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
      out[i] = { entityId: null, asOf: null, values: r.data as Record<string, FeatureValue> };
      return;
    }
    let key = '';
    if (row.asOf !== undefined) {
      let us: number;
      try { us = parseUtc(row.asOf, `rows.${i}.asOf`); } catch (e) {
        throw new KilnError('REQUEST_INVALID', `rows.${i}.asOf: ${(e as Error).message.replace(/^rows\.\d+\.asOf: /, '')}; expected ISO 8601 in UTC, e.g. 2025-01-01T00:00:00Z`, { path: ['rows', i, 'asOf'] });
      }
      if (us / 1000 > now + (opts.futureMs ?? 60_000)) {
        throw new KilnError('ASOF_OUT_OF_RANGE', `rows.${i}.asOf: ${row.asOf} is in the future; features can be read as of now or earlier`, { path: ['rows', i, 'asOf'] });
      }
      key = new Date(Math.floor(us / 1000)).toISOString();
    }
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
      const values: Record<string, FeatureValue> = {};
      for (const c of inputs) values[c] = value(l.row[c]);
      out[i] = { entityId: String(l.entity), asOf, values };
    });
  }
  return out;
}

function versionScores(live: LiveVersion, rows: readonly ScoreRow[], reasons: boolean | 'all'): { scores: VersionScore[]; reasons: (ReasonCode[] | null)[] | null } {
  const s = live.bundle.score(rows, { reasons });
  const scores = new Array<VersionScore>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    scores[i] = { model: live.name, version: live.version, raw: s.probability[i]!, calibrated: s.calibrated ? s.calibrated[i]! : null, points: s.points[i]!, declined: s.declined[i] === 1 };
  }
  return { scores, reasons: s.reasons };
}

export interface Decision {
  readonly record: DecisionRecord;
}

/**
 * Scores resolved rows on a route: the deciding version per row, the other version (canary's primary, or
 * a shadow challenger) beside it. Returns the records (not yet logged).
 */
export function decide(route: ModelRoute, rows: readonly PredictRow[], resolved: readonly ResolvedRow[], opts: { reasons: boolean; started: number; time?: string }): DecisionRecord[] {
  const ch = route.challenger;
  const by = resolved.map((r) => decidedBy(route, r.entityId));
  const primaryDecides = by.some((b) => b === 'primary');
  const canaryDecides = by.some((b) => b === 'canary');
  const mode = (decides: boolean): boolean | 'all' => (decides ? (opts.reasons ? 'all' : true) : false);
  const p = prepareVersion(route.primary);
  const primary = versionScores(route.primary, resolved.map((r) => r.values), mode(primaryDecides));
  let challenger: ReturnType<typeof versionScores> | null = null;
  let chRows: number[] = [];
  if (ch) {
    const cp = prepareVersion(ch.live);
    chRows = resolved.flatMap((r, i) => (cp.inputs.every((n) => Object.hasOwn(r.values, n)) ? [i] : []));
    if (chRows.length) challenger = versionScores(ch.live, chRows.map((i) => resolved[i]!.values), mode(canaryDecides));
  }
  const chAt = new Map(chRows.map((i, j) => [i, j]));
  const time = opts.time ?? new Date().toISOString();
  return resolved.map((r, i): DecisionRecord => {
    const j = chAt.get(i);
    const canary = by[i] === 'canary' && j !== undefined;
    const decider = canary ? challenger! : primary;
    const k = canary ? j : i;
    const score = decider.scores[k]!;
    const rs = decider.reasons?.[k] ?? null;
    const shadow: VersionScore[] = canary ? [primary.scores[i]!] : j !== undefined ? [challenger!.scores[j]!] : [];
    const inputs = canary ? prepareVersion(ch!.live).inputs : p.inputs;
    const features: Record<string, FeatureValue> = {};
    for (const n of inputs) features[n] = r.values[n] ?? null;
    return {
      id: newDecisionId(), time, model: route.name, version: score.version, decidedBy: canary ? 'canary' : 'primary',
      entityId: r.entityId, asOf: r.asOf, request: rows[i], features, score,
      reasons: score.declined || opts.reasons ? rs : null, shadow, latencyMs: performance.now() - opts.started,
    };
  });
}

/** The response row of a record: what the client sees (never the shadow scores). */
export function resultOf(r: DecisionRecord): Record<string, unknown> {
  const s = r.score;
  return {
    decisionId: r.id, model: r.model, version: r.version, entityId: r.entityId, asOf: r.asOf,
    score: { probability: s.calibrated ?? s.raw, raw: s.raw, points: s.points, declined: s.declined },
    reasons: r.reasons ? r.reasons.map((x) => ({ reason: x.reason, text: x.text, contribution: x.contribution })) : null,
  };
}

/** Re-scores a record's features with the version that decided it. */
export function replay(record: DecisionRecord, live: LiveVersion): { recorded: VersionScore; replayed: VersionScore; equal: boolean } {
  const { scores } = versionScores(live, [record.features], false);
  const replayed = scores[0]!;
  const recorded = record.score;
  const equal = replayed.raw === recorded.raw && replayed.points === recorded.points && replayed.calibrated === recorded.calibrated && replayed.declined === recorded.declined;
  return { recorded, replayed, equal };
}

/** TreeSHAP contributions of the primary version for resolved rows: by input, plus the bias (log-odds). */
export function explainRows(live: LiveVersion, resolved: readonly ResolvedRow[]): { contributions: Record<string, number>; bias: number }[] {
  const b = live.bundle;
  const cols = b.columns(resolved.map((r) => r.values));
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
