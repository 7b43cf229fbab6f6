/**
 * Scoring a fused model (sequence.register: 'gbdt'): a GBDT bundle whose inputs include a sequence
 * encoder's embedding. Each row's lastK value (under the encoder's `input` name) is encoded at the row's
 * as-of time, its embedding fills the embedding columns, and the trees score the row as any kiln model,
 * with reason codes (the embedding's columns are one reason, named after the lastK feature).
 */
import { KilnError } from '../../core/errors.js';
import type { BundleScores, ModelBundle, ScoreRow } from '../bundle.js';
import { sequenceBundleFrom, SequenceModel } from './bundle.js';

export class FusedModel {
  readonly encoder: SequenceModel;
  readonly input: string;
  readonly columns: readonly string[];

  constructor(readonly gbdt: ModelBundle) {
    const e = gbdt.json.encoder;
    if (!e) throw new KilnError('BUNDLE_INVALID', `model ${gbdt.provenance.model}@${gbdt.provenance.version} is not a fused model (its bundle has no encoder)`);
    this.encoder = new SequenceModel(sequenceBundleFrom(e.bundle, `the encoder of ${gbdt.provenance.model}@${gbdt.provenance.version}`));
    this.input = e.input;
    this.columns = e.columns;
  }

  /** The row with the embedding columns filled from its lastK value (read at `at`), the lastK value left out. */
  embedRow(row: Readonly<Record<string, unknown>>, at: unknown): ScoreRow {
    const events = row[this.input];
    if (events !== null && events !== undefined && !Array.isArray(events)) {
      throw new KilnError('SIGNATURE_MISMATCH', `input '${this.input}' must be a list of events (oldest first), got ${typeof events}`, { path: [this.input] });
    }
    const e = this.encoder.score(events as unknown[] | null | undefined, at).embedding;
    const out: Record<string, ScoreRow[string]> = {};
    for (const [k, v] of Object.entries(row)) if (k !== this.input) out[k] = v as ScoreRow[string];
    this.columns.forEach((c, j) => { out[c] = e[j]!; });
    return out;
  }

  /** Scores rows of feature values (with the lastK value under `input`); `at(i)` is row i's as-of time. */
  score(rows: readonly Readonly<Record<string, unknown>>[], at: (i: number) => unknown, opts: { reasons?: boolean | 'all' } = {}): BundleScores {
    return this.gbdt.score(rows.map((r, i) => this.embedRow(r, at(i))), opts);
  }
}
