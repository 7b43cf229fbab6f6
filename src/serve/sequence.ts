/**
 * Sequence versions (`kiln.sequence-model@1`) on the request path: their checks before going live,
 * the check of a lastK value sent in a full feature row, and their scores. The checks and the lastK
 * value's check serve the other versions that read a lastK feature too: a fused version's encoder
 * (fused.ts) and an imported ONNX version (onnx.ts: `checkEncodingServed`, `checkSmokeScores`).
 *
 * - Checks (`validateSequence`): the bundle's encoding reads the signature's SEQUENCE input; when the
 *   online definitions are known, that lastK feature is served at the encoding's `featureVersion` (when
 *   not null). The smoke check: a bundle carries no stored sample, so a fixed set of synthetic rows built
 *   from the frozen encoding (an empty history, histories of 1 and `steps` events cycling through the
 *   vocabularies and spread numbers, a joint model's tabular inputs at their training means and missing)
 *   is scored one by one (`SequenceModel.score`, the request path) and as one batch (`scoreMany`): every
 *   output must be finite, the probability in [0, 1], and both paths must agree (1e-5): a network whose
 *   parameters are damaged, or whose arena is misbuilt, does not go live.
 * - A full row's lastK value: a JSON list of events, oldest first, as the online store returns it:
 *   `{ ts, <field>: value | null, ... }` with every field of the feature, `ts` a UTC time (ISO 8601 or
 *   epoch µs) not after the row's as-of time, at most k events. A wrong value is REQUEST_INVALID naming
 *   `rows.<i>.features.<input>.<j>.<field>`.
 * - Scores: `SequenceModel.score` for one row at a time (the model's arena, refilled per row; nothing is
 *   allocated beyond the result). `raw` is the default head's probability before calibration (what the
 *   cutoff and the points use, as for a GBDT), `calibrated` after. Sequence models give no reason codes
 *   (no TreeSHAP for a network): the decision's reasons are an empty list and the response says so.
 */
import { KilnError } from '../core/errors.js';
import { timeUs } from '../core/time.js';
import { scorecardScaling, type ScorecardScaling } from '../eval/index.js';
import type { SequenceEncoding } from '../nn/index.js';
import type { SequenceBundleJson, SequenceModel, SequenceScore } from '../pipelines/index.js';
import type { InputValue, SequenceLiveVersion, VersionScore } from './types.js';

/** What a sequence version says instead of reason codes. */
export const REASONS_UNAVAILABLE = 'sequence models give no reason codes: TreeSHAP explains trees, and kiln computes no attribution for a sequence network (use a GBDT, or a GBDT on the sequence embeddings, where reasons are required)';

/** Relative tolerance between the one-row and the batch path in the smoke check. */
const PATH_TOLERANCE = 1e-5;

/** The as-of time of the synthetic smoke rows (epoch µs). */
const SMOKE_AT = Date.UTC(2025, 0, 1) * 1000;

const scalings = new WeakMap<SequenceModel, ScorecardScaling>();
function scalingOf(model: SequenceModel): ScorecardScaling {
  let s = scalings.get(model);
  if (!s) { s = scorecardScaling(model.bundle.scaling); scalings.set(model, s); }
  return s;
}

/** A time of an event (`ts` or a time field) in epoch µs: ISO 8601 in UTC or a number of µs; NaN otherwise. */
function eventUs(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN;
  return timeUs(v) ?? NaN;
}

/** Synthetic rows for the smoke check, from the frozen encoding and tabular columns (deterministic). */
export function smokeRows(enc: SequenceEncoding, tab: SequenceBundleJson['tabular']): { events: Record<string, unknown>[] | null; at: number; features: Record<string, unknown> }[] {
  const atMeans = Object.fromEntries(tab.map((c) => [c.name, c.kind === 'numeric' ? c.mean : c.categories[0] ?? null]));
  const missing = Object.fromEntries(tab.map((c) => [c.name, null]));
  const history = (n: number, shift: number): Record<string, unknown>[] => Array.from({ length: n }, (_, i) => {
    const ts = SMOKE_AT - (n - i) * 86_400e6 + shift * 3_600e6;
    const e: Record<string, unknown> = { ts: new Date(ts / 1000).toISOString() };
    for (const f of enc.fields) {
      if (f.kind === 'categorical') e[f.name] = f.vocab.length ? f.vocab[(i + shift) % f.vocab.length]! : null;
      else if (f.kind === 'time') e[f.name] = new Date(ts / 1000 - 3_600_000).toISOString();
      else e[f.name] = (i + shift) % 5 === 4 ? null : [0, 1, 12.5, 250][(i + shift) % 4]!;
    }
    return e;
  });
  return [
    { events: null, at: SMOKE_AT, features: missing },
    { events: history(1, 0), at: SMOKE_AT, features: atMeans },
    { events: history(enc.steps, 1), at: SMOKE_AT, features: atMeans },
    { events: history(enc.steps, 2), at: SMOKE_AT, features: missing },
  ];
}

function finiteScore(s: SequenceScore): string | null {
  if (!Number.isFinite(s.raw)) return `its default head gives ${s.raw}`;
  if (!(s.pd >= 0 && s.pd <= 1)) return `its probability is ${s.pd}`;
  for (let i = 0; i < s.embedding.length; i++) if (!Number.isFinite(s.embedding[i]!)) return `its embedding's component ${i} is ${s.embedding[i]}`;
  for (const [name, t] of Object.entries(s.tasks)) {
    const values = typeof t === 'number' ? [t] : Object.values(t);
    if (values.some((v) => !Number.isFinite(v))) return `its head '${name}' gives ${JSON.stringify(t)}`;
  }
  return null;
}

/**
 * The lastK input `input`, read with encoding `enc`, against the served definitions (when known): served,
 * of type SEQUENCE, at the encoding's feature version. Throws `fail(what)`.
 */
export function checkEncodingServed(input: string, enc: SequenceEncoding, definitions: readonly { name: string; type: string; version?: string | null | undefined }[] | undefined, fail: (what: string, cause?: unknown) => KilnError): void {
  if (enc.feature !== input) throw fail(`its sequence encoding reads '${enc.feature}', but its input is '${input}'`);
  if (!definitions) return;
  const def = definitions.find((d) => d.name === input);
  if (!def || def.type !== 'SEQUENCE') throw fail(`its input '${input}' is not a lastK feature the online store serves; materialize it ('kiln online materialize --features ...')`);
  if (enc.featureVersion !== null && def.version && def.version !== enc.featureVersion) {
    throw fail(`its input '${input}' is served at definition version ${def.version}, but the model's sequence encoding was learned at ${enc.featureVersion} (the feature's meaning changed: retrain)`);
  }
}

/**
 * The smoke rows' scores, one by one (`one`) and as one batch (`many`): every output finite, the
 * probability in [0, 1], and both paths equal within PATH_TOLERANCE. Throws `fail(what)`.
 */
export function checkSmokeScores(one: readonly SequenceScore[], many: readonly SequenceScore[], fail: (what: string, cause?: unknown) => KilnError): void {
  const n = one.length;
  if (many.length !== n) throw fail(`its ${n} synthetic smoke rows gave ${many.length} scores in a batch`);
  for (let i = 0; i < n; i++) {
    const bad = finiteScore(one[i]!) ?? finiteScore(many[i]!);
    if (bad) throw fail(`synthetic smoke row ${i} of ${n}: ${bad}: the network's parameters are damaged`);
    const a = one[i]!.raw;
    const b = many[i]!.raw;
    if (Math.abs(a - b) > PATH_TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b))) {
      throw fail(`synthetic smoke row ${i} of ${n} scores ${a} alone but ${b} in a batch (tolerance ${PATH_TOLERANCE}): the network does not score consistently`);
    }
  }
}

/**
 * The checks of a network read from lastK feature `input` (a sequence version, or a fused version's
 * encoder) beyond the signature's (validate.ts): the encoding against the served definition, then the
 * synthetic smoke rows. Returns the number of smoke rows; throws `fail(what)`.
 */
export function validateSequence(input: string, model: SequenceModel, definitions: readonly { name: string; type: string; version?: string | null | undefined }[] | undefined, fail: (what: string, cause?: unknown) => KilnError): number {
  checkEncodingServed(input, model.encoding, definitions, fail);
  const rows = smokeRows(model.encoding, model.bundle.tabular);
  let one: SequenceScore[];
  let many: SequenceScore[];
  try {
    one = rows.map((r) => model.score(r.events, r.at, r.features));
    many = model.scoreMany(rows);
  } catch (e) {
    throw fail(`its synthetic smoke rows do not score (${(e as Error).message})`, e);
  }
  checkSmokeScores(one, many, fail);
  return rows.length;
}

/**
 * Checks a lastK value sent in a full feature row (`path`: where it is in the request) against the
 * model's frozen encoding; `atUs` is the row's as-of time.
 */
export function checkSequenceValue(model: { readonly encoding: SequenceEncoding }, value: unknown, atUs: number, path: readonly (string | number)[]): void {
  const enc = model.encoding;
  const bad = (at: readonly (string | number)[], what: string): KilnError => new KilnError('REQUEST_INVALID', `${[...path, ...at].join('.')}: ${what}`, { path: [...path, ...at] });
  if (value === null) return;
  if (!Array.isArray(value)) throw bad([], `a lastK value is a list of events, oldest first ({ ts, ${enc.fields.map((f) => f.name).join(', ')} }), or null for no history`);
  if (value.length > enc.k) throw bad([], `${value.length} events; '${enc.feature}' holds the last ${enc.k} (send at most ${enc.k}, oldest first)`);
  const names = new Set(['ts', ...enc.fields.map((f) => f.name)]);
  let prev = -Infinity;
  value.forEach((e: unknown, j) => {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) throw bad([j], `an event is an object { ts, ${enc.fields.map((f) => f.name).join(', ')} }`);
    const ev = e as Record<string, unknown>;
    for (const k of Object.keys(ev)) if (!names.has(k)) throw bad([j, k], `unknown field; an event of '${enc.feature}' has ts, ${enc.fields.map((f) => f.name).join(', ')}`);
    const ts = eventUs(ev.ts);
    if (Number.isNaN(ts)) throw bad([j, 'ts'], `${JSON.stringify(ev.ts ?? null)} is not an event time; expected ISO 8601 in UTC (e.g. 2025-01-01T00:00:00Z) or epoch microseconds`);
    if (ts > atUs) throw bad([j, 'ts'], `${JSON.stringify(ev.ts)} is after the row's as-of time ${new Date(atUs / 1000).toISOString()}; send the events known at that time (or an asOf after them)`);
    if (ts < prev) throw bad([j, 'ts'], `events are oldest first; ${JSON.stringify(ev.ts)} is before the previous event's time`);
    prev = ts;
    for (const f of enc.fields) {
      if (!Object.hasOwn(ev, f.name)) throw bad([j, f.name], `the event needs field '${f.name}' (${f.kind}); send null for a missing value`);
      const v = ev[f.name];
      if (v === null) continue;
      if (f.kind === 'numeric' && typeof v !== 'number' && typeof v !== 'boolean') throw bad([j, f.name], `expected a number or null, got ${JSON.stringify(v)}`);
      if (f.kind === 'time' && Number.isNaN(eventUs(v))) throw bad([j, f.name], `expected a time (ISO 8601 in UTC) or null, got ${JSON.stringify(v)}`);
      if (f.kind === 'categorical' && typeof v === 'object') throw bad([j, f.name], `expected a category (text, number or boolean) or null, got ${JSON.stringify(v)}`);
    }
  });
}

/** One row to score with a sequence version: its values by input and the as-of time (epoch µs). */
export interface SequenceRow {
  readonly values: Readonly<Record<string, InputValue>>;
  readonly atUs: number;
}

/** What a sequence version adds to a decision: its other heads and, when asked, the embedding. */
export interface SequenceExtras {
  readonly tasks: Record<string, number | Record<string, number>>;
  readonly embedding: Float32Array;
}

/** Scores rows with a sequence version, one at a time on its arena. */
export function sequenceScores(live: SequenceLiveVersion, rows: readonly SequenceRow[]): { scores: VersionScore[]; extras: SequenceExtras[] } {
  const model = live.model;
  const scaling = scalingOf(model);
  const cutoff = model.bundle.cutoff;
  const scores = new Array<VersionScore>(rows.length);
  const extras = new Array<SequenceExtras>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const s = model.score(r.values[live.input] as readonly unknown[] | null, r.atUs, r.values);
    const p = 1 / (1 + Math.exp(-s.raw));
    scores[i] = { model: live.name, version: live.version, raw: p, calibrated: model.calibrator ? s.pd : null, points: scaling.toPoints(p), declined: p >= cutoff };
    extras[i] = { tasks: s.tasks, embedding: s.embedding };
  }
  return { scores, extras };
}
