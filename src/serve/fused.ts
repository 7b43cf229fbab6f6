/**
 * Fused versions (`sequence.register: 'gbdt'`: a `kiln.model@1` bundle with an `encoder`) on the request
 * path. The registry signature lists the scalar features and the embedding columns (`<input>_emb_<j>`,
 * FLOAT); the embedding columns are not online features. What a request gives (and the online store
 * reads) instead is `requestInputs`: the lastK feature `input` (SEQUENCE) and the scalar features.
 *
 * - Checks (`validateFused`, beside validate.ts's): the scalar features against the served definitions;
 *   the encoder as a sequence version's network (its encoding against the served lastK definition, the
 *   synthetic smoke rows through its embedding); the bundle's smoke rows (which hold the embedding
 *   columns as computed at training) are scored by the trees as for any GBDT (validate.ts).
 * - Scores (`fusedScores`): each row's lastK value is embedded as of the row's as-of time
 *   (`FusedModel.embedRow`), then the trees score all rows in one call, reasons included (TreeSHAP; the
 *   embedding columns are one reason, named after the lastK feature, as at training). The score
 *   depends on the as-of time, so a decision records it (the decision's time when the row gave none)
 *   and replays.
 */
import type { ModelSignature } from '../registry/index.js';
import type { ReasonCode } from '../eval/index.js';
import type { KilnError } from '../core/errors.js';
import { validateSequence, type SequenceRow } from './sequence.js';
import type { FusedLiveVersion, VersionScore } from './types.js';

type Feature = ModelSignature['features'][number];

/** A fused version's request inputs: the lastK feature (SEQUENCE, at the encoding's version), then the scalar features. */
export function fusedInputs(live: FusedLiveVersion): Feature[] {
  const columns = new Set(live.fused.columns);
  const enc = live.fused.encoder.encoding;
  const emb = live.info.signature.features.find((f) => columns.has(f.name));
  return [
    { name: live.input, type: 'SEQUENCE', version: enc.featureVersion ?? emb?.version ?? null },
    ...live.info.signature.features.filter((f) => !columns.has(f.name) && f.name !== live.input),
  ];
}

/**
 * The checks of a fused version beyond the trees' smoke sample: the encoder's columns are the signature's,
 * the encoder against the served lastK definition, its synthetic smoke rows. Returns the encoder's smoke rows.
 */
export function validateFused(live: FusedLiveVersion, definitions: Parameters<typeof validateSequence>[2], fail: (what: string, cause?: unknown) => KilnError): number {
  const names = new Set(live.info.signature.features.map((f) => f.name));
  const missing = live.fused.columns.filter((c) => !names.has(c));
  if (missing.length) throw fail(`its encoder fills ${missing.join(', ')}, which its signature does not list`);
  if (names.has(live.input)) throw fail(`its signature lists the lastK input '${live.input}' itself; a fused model reads its embedding columns`);
  return validateSequence(live.input, live.fused.encoder, definitions, fail);
}

/** Scores rows with a fused version: embed each row's lastK value as of its time, then one trees call. */
export function fusedScores(live: FusedLiveVersion, rows: readonly SequenceRow[], reasons: boolean | 'all'): { scores: VersionScore[]; reasons: (ReasonCode[] | null)[] | null } {
  const s = live.fused.score(rows.map((r) => r.values), (i) => rows[i]!.atUs, { reasons });
  const scores = new Array<VersionScore>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    scores[i] = { model: live.name, version: live.version, raw: s.probability[i]!, calibrated: s.calibrated ? s.calibrated[i]! : null, points: s.points[i]!, declined: s.declined[i] === 1 };
  }
  return { scores, reasons: s.reasons };
}
