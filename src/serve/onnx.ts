/**
 * Imported ONNX versions (`kiln.onnx-model@1`, a sequence model trained elsewhere) on the request path.
 *
 * - `OnnxScorer` owns the version's onnxruntime session. Scoring is asynchronous (onnxruntime's run is);
 *   each call counts as in flight while it runs. When the version is swapped out (`retire`), the session
 *   is released as soon as no call is in flight; a request that took its route before the swap and scores
 *   after it reopens a session for itself (released again when it is done), so a swap never fails a request.
 *   A scorer built by `loadLiveVersion` (synchronous) opens its session on first use.
 * - Smoke check (`onnxSmoke`, at `openLiveVersion`): the synthetic rows of sequence versions (sequence.ts,
 *   built from the bundle's encoding and tabular columns) are scored one by one and as one batch through
 *   onnxruntime; `validateLive` then checks them as a sequence version's (finite, [0, 1], paths agree).
 * - Scores: raw = sigmoid(logit), the probability before calibration. The bundle has no calibrator
 *   (`calibrated` is null) and no cutoff: kiln never chose or evaluated one for a model fitted elsewhere,
 *   so an ONNX version makes no decision: `declined` is always false (the response says so,
 *   `cutoffUnavailable`, and the version goes live with a warning). Points use the bundle's scaling.
 *   No reason codes (as for a sequence version), no other heads (`tasks` is empty); the embedding when
 *   the model has an `embedding` output.
 */
import { KilnError } from '../core/errors.js';
import { scorecardScaling, type ScorecardScaling } from '../eval/index.js';
import type { SequenceEncoding } from '../nn/index.js';
import { OnnxSequenceModel, type OnnxModelBundleJson, type OnnxScoreRow, type SequenceScore } from '../pipelines/index.js';
import { smokeRows, type SequenceExtras, type SequenceRow } from './sequence.js';
import type { OnnxLiveVersion, VersionScore } from './types.js';

/** What an ONNX version's response says about its decision. */
export const CUTOFF_UNAVAILABLE = 'imported ONNX models have no cutoff (kiln did not fit or evaluate them): declined is always false; decide on the probability or the points, or serve a kiln model that has a cutoff';

/** The smoke rows' scores, one by one and as a batch; or why they did not score. */
export type OnnxSmoke = { readonly one: readonly SequenceScore[]; readonly many: readonly SequenceScore[] } | { readonly error: Error };

export class OnnxScorer {
  readonly scaling: ScorecardScaling;
  private model: OnnxSequenceModel | null;
  private opening: Promise<OnnxSequenceModel> | null = null;
  private active = 0;
  private retired = false;

  constructor(readonly bundle: OnnxModelBundleJson, readonly encoding: SequenceEncoding, model: OnnxSequenceModel | null = null) {
    this.model = model;
    this.scaling = scorecardScaling(bundle.scaling);
  }

  /** Opens the session now (onnxruntime checks the model against its encoding once more). */
  static async open(bundle: OnnxModelBundleJson): Promise<OnnxScorer> {
    const model = await OnnxSequenceModel.create(bundle);
    return new OnnxScorer(bundle, model.encoding, model);
  }

  /** Whether a session is open now. */
  get open(): boolean {
    return this.model !== null;
  }

  /** Whether the version was swapped out. */
  get isRetired(): boolean {
    return this.retired;
  }

  /** Scores rows (in batches of 256) on the session, opening one if none is open. */
  async scoreMany(rows: readonly OnnxScoreRow[]): Promise<SequenceScore[]> {
    this.active++;
    try {
      const model = this.model ?? (await this.reopen());
      return await model.scoreMany(rows);
    } finally {
      this.active--;
      if (this.retired && this.active === 0) await this.close();
    }
  }

  /** The version no longer serves: its session is released once no call is in flight. */
  async retire(): Promise<void> {
    this.retired = true;
    if (this.active === 0) await this.close();
  }

  private reopen(): Promise<OnnxSequenceModel> {
    this.opening ??= OnnxSequenceModel.create(this.bundle).then((m) => {
      this.model = m;
      return m;
    }).finally(() => { this.opening = null; });
    return this.opening;
  }

  private async close(): Promise<void> {
    const m = this.model;
    this.model = null;
    if (m) await m.release();
  }
}

/** Scores the synthetic smoke rows one by one and as a batch (a failure is kept, for `validateLive` to report). */
export async function onnxSmoke(scorer: OnnxScorer): Promise<OnnxSmoke> {
  const rows = smokeRows(scorer.encoding, scorer.bundle.tabular);
  try {
    const one: SequenceScore[] = [];
    for (const r of rows) one.push(...(await scorer.scoreMany([r])));
    const many = await scorer.scoreMany(rows);
    return { one, many };
  } catch (e) {
    return { error: e instanceof Error ? e : new Error(String(e)) };
  }
}

/** Scores rows with an ONNX version: one onnxruntime run per batch of rows. */
export async function onnxScores(live: OnnxLiveVersion, rows: readonly SequenceRow[]): Promise<{ scores: VersionScore[]; extras: SequenceExtras[] }> {
  const s = await live.scorer.scoreMany(rows.map((r) => ({ events: r.values[live.input] as readonly unknown[] | null, at: r.atUs, features: r.values })));
  if (s.length !== rows.length) throw new KilnError('INTERNAL', `${live.name} version ${live.version}: ${rows.length} rows gave ${s.length} scores`);
  const scaling = live.scorer.scaling;
  const scores = new Array<VersionScore>(rows.length);
  const extras = new Array<SequenceExtras>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const x = s[i]!;
    scores[i] = { model: live.name, version: live.version, raw: x.pd, calibrated: null, points: scaling.toPoints(x.pd), declined: false };
    extras[i] = { tasks: {}, embedding: x.embedding };
  }
  return { scores, extras };
}
