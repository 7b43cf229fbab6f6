/**
 * The model bundle, `kiln.model@1`: one JSON file that holds everything scoring needs. `kiln train`
 * writes it (`model.kiln.json` in the run's artifacts) and the registry points a version at it;
 * `kiln models export` / `import` move it between projects. Fields (docs/models.md, "The model bundle"):
 *
 * - `format`: 'kiln.model@1'. A newer `kiln.model@N` is BUNDLE_TOO_NEW: upgrade kiln to read it.
 * - `checksum`: 'sha256:<hex>' of the bundle's JSON text without this field (JSON.stringify, key order
 *   as written); a file whose content does not match it is BUNDLE_INVALID (corrupt or edited).
 * - `provenance`: model name, version, run id, description, the kiln version that wrote it, when, and
 *   the hash of the config that trained it.
 * - `signature`: the input signature the registry enforces (feature names, SQL types, definition versions).
 * - `categories`: the dictionary of each categorical input (code = index), as at training time.
 * - `booster`: the trees, a `kiln.gbdt@1` model (src/gbdt/model-json.ts).
 * - `calibrator`: a `kiln.calibrator@1` fitted on the validation window, or null.
 * - `scaling`: scorecard points (basePoints, baseOdds, pdo); `cutoff`: decline when probability >= cutoff.
 * - `reasons`: reason texts and groups by input column, maxReasons and defaultReason; null when unknown.
 * - `smoke` (optional): a small seeded sample of held-out input rows and the probabilities this bundle
 *   gave them at training time; serving re-scores them before a version goes live (src/serve/models).
 *   Bundles written before it existed have none and still load.
 * - `profile` (optional): the reference profile monitoring compares traffic with (profile.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KilnError } from '../core/errors.js';
import { calibratorFromJson, reasonCoder, scorecardScaling, type Calibrator, type CalibratorJson, type ReasonCode, type ScorecardScaling } from '../eval/index.js';
import { Booster, type GbdtModelJson } from '../gbdt/index.js';
import type { ModelSignature } from '../registry/index.js';
import { ProfileSchema, type ReferenceProfile } from './profile.js';

export const BUNDLE_FORMAT = 'kiln.model@1';
const BUNDLE_VERSION = 1;

const Provenance = z.strictObject({
  model: z.string().min(1),
  version: z.number().int().min(1),
  runId: z.string().nullable(),
  description: z.string().nullable(),
  kilnVersion: z.string().min(1),
  createdAt: z.string().min(1),
  configHash: z.string().nullable(),
});

const BundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  checksum: z.string().regex(/^sha256:[0-9a-f]{64}$/, "expected 'sha256:' and 64 hex digits"),
  provenance: Provenance,
  signature: z.strictObject({
    features: z.array(z.strictObject({ name: z.string().min(1), type: z.string().min(1), version: z.string().nullable().optional() })).min(1),
    output: z.string().optional(),
  }),
  categories: z.record(z.string(), z.array(z.string())),
  booster: z.looseObject({ format: z.string() }),
  calibrator: z.looseObject({ format: z.string(), kind: z.string(), params: z.unknown() }).nullable(),
  scaling: z.strictObject({ basePoints: z.number(), baseOdds: z.number().positive(), pdo: z.number().positive() }),
  cutoff: z.number().gt(0).lt(1),
  reasons: z.strictObject({
    texts: z.record(z.string(), z.string()),
    groups: z.record(z.string(), z.array(z.string()).min(1)),
    maxReasons: z.number().int().min(1).max(10),
    defaultReason: z.string().nullable(),
  }).nullable(),
  smoke: z.strictObject({
    rows: z.array(z.record(z.string(), z.union([z.number(), z.string(), z.null()]))).min(1),
    probability: z.array(z.number().min(0).max(1)).min(1),
  }).optional(),
  profile: ProfileSchema.optional(),
  /**
   * A GBDT fused with a sequence encoder (sequence.register: 'gbdt'): the encoder's bundle and the input
   * columns its embedding fills, computed from the row's lastK value (`input`) before the trees run.
   */
  encoder: z.strictObject({
    input: z.string().min(1),
    columns: z.array(z.string().min(1)).min(1),
    bundle: z.looseObject({ format: z.literal('kiln.sequence-model@1') }),
  }).optional(),
  /**
   * Embedding spaces the trees read (model spec `embeddings`): the space version the model was trained
   * with and is served with (its vectors' checksum), and the columns each fills from the row's entity
   * id (`id`, an input of that name) or from the mean over the entities of a lastK input (`pool`).
   */
  embeddings: z.array(z.strictObject({
    space: z.string().min(1),
    version: z.number().int().min(1),
    checksum: z.string().min(1),
    entity: z.string().min(1),
    dim: z.number().int().min(1),
    columns: z.array(z.string().min(1)).min(1),
    id: z.string().min(1).optional(),
    pool: z.strictObject({ input: z.string().min(1), field: z.string().min(1) }).optional(),
  })).optional(),
});

export type BundleProvenance = z.infer<typeof Provenance>;
/** The bundle as JSON (what `model.kiln.json` holds). */
export type ModelBundleJson = Omit<z.infer<typeof BundleSchema>, 'booster' | 'calibrator' | 'signature'> & {
  signature: ModelSignature;
  booster: GbdtModelJson;
  calibrator: CalibratorJson | null;
};
/** The smoke sample: held-out input rows (null is missing, a category its text) and their training-time probabilities. */
export type SmokeSample = NonNullable<ModelBundleJson['smoke']>;
/** Everything but the checksum, which `bundleText` computes. */
export type ModelBundleBody = Omit<ModelBundleJson, 'checksum' | 'format'>;

/** A row to score: a value per input column; null is missing, a categorical input takes its text. */
export type ScoreRow = Readonly<Record<string, number | bigint | string | boolean | null | undefined>>;

export interface BundleScores {
  /** The model's probability of default per row: what the cutoff, the points and the reasons use. */
  probability: Float64Array;
  /** The calibrated probability of default; null when the bundle has no calibrator. */
  calibrated: Float64Array | null;
  /** Scorecard points of `probability` (higher = lower risk). */
  points: Float64Array;
  /** 1 where probability >= cutoff (declined). */
  declined: Uint8Array;
  /** Adverse-action reasons of each declined row (null for approved rows; every row with `reasons: 'all'`); null when not asked for or the bundle has none. */
  reasons: (ReasonCode[] | null)[] | null;
}

function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The bundle's text: its fields in a fixed order with the checksum of the rest. */
export function bundleText(body: ModelBundleBody): string {
  const ordered = { provenance: body.provenance, signature: body.signature, categories: body.categories, booster: body.booster, calibrator: body.calibrator, scaling: body.scaling, cutoff: body.cutoff, reasons: body.reasons, smoke: body.smoke, profile: body.profile, encoder: body.encoder, embeddings: body.embeddings };
  const checksum = `sha256:${sha256(JSON.stringify({ format: BUNDLE_FORMAT, ...ordered }))}`;
  return JSON.stringify({ format: BUNDLE_FORMAT, checksum, ...ordered });
}

/** The version of kiln that is running (from its package.json). */
export function kilnVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'kiln' && pkg.version) return pkg.version;
    } catch { /* not there */ }
  }
  return 'unknown';
}

function invalidBundle(where: string, message: string, path: (string | number)[]): KilnError {
  return new KilnError('BUNDLE_INVALID', `${where} is not a valid ${BUNDLE_FORMAT} model bundle: ${message}. Export it again from the project that trained it ('kiln models export NAME@VERSION -o FILE'), or retrain`, { path });
}

/** Parses and checks a bundle (text, bytes or object): format, fields, checksum and consistency. */
export function parseBundle(input: string | Uint8Array | unknown, where = 'the bundle'): ModelBundleJson {
  let obj: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw invalidBundle(where, `its JSON does not parse (${(e as Error).message})`, []);
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw invalidBundle(where, 'expected a JSON object', []);
  const format = (obj as { format?: unknown }).format;
  if (format !== BUNDLE_FORMAT) {
    const m = typeof format === 'string' ? /^kiln\.model@(\d+)$/.exec(format) : null;
    if (m && Number(m[1]) > BUNDLE_VERSION) {
      throw new KilnError('BUNDLE_TOO_NEW', `${where} is a ${format} model bundle, written by a newer kiln; this kiln (${kilnVersion()}) reads ${BUNDLE_FORMAT}. Upgrade kiln to load it, or export the model again from a kiln that writes ${BUNDLE_FORMAT}`, { path: ['format'], details: { format, reads: BUNDLE_FORMAT } });
    }
    throw invalidBundle(where, `format is ${JSON.stringify(format) ?? 'missing'}, expected '${BUNDLE_FORMAT}'`, ['format']);
  }
  const r = BundleSchema.safeParse(obj);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map((x) => (typeof x === 'symbol' ? String(x) : x));
    throw invalidBundle(where, `field '${path.join('.') || '(root)'}': ${issue.message}`, path);
  }
  const { checksum, ...rest } = obj as Record<string, unknown>;
  const actual = `sha256:${sha256(JSON.stringify(rest))}`;
  if (actual !== checksum) throw invalidBundle(where, `its checksum ${String(checksum)} does not match its content (${actual}): the file is corrupt or was edited`, ['checksum']);
  return obj as ModelBundleJson; // as read (key order kept): what the checksum covers
}

/** Requests of at most this many rows are scored row by row (no column arrays: a request's allocations and time). */
const ROW_PATH_MAX_ROWS = 8;

/** The first f of every `stride` contributions of n rows (TreeSHAP's rows without their bias), rows x f. */
function withoutBias(shap: Float64Array, n: number, f: number, stride: number): Float64Array {
  const sub = new Float64Array(n * f);
  for (let r = 0; r < n; r++) sub.set(shap.subarray(r * stride, r * stride + f), r * f);
  return sub;
}

/**
 * A loaded bundle: the booster, calibrator, category maps, scaling and reason config, ready to score.
 * @example
 * const model = loadModelBundle('credit-v3.kiln.json');
 * const s = model.score([{ income: 52000, region: 'north', late_payments_365d: null }], { reasons: true });
 * s.probability[0]; s.points[0]; s.reasons?.[0];
 */
export class ModelBundle {
  readonly booster: Booster;
  readonly calibrator: Calibrator | null;
  readonly scaling: ScorecardScaling;
  private readonly codes: (Map<string, number> | null)[];
  /** The reason config compiled on first use. */
  private reasoner: ((contributions: ArrayLike<number>) => ReasonCode[][]) | null = null;

  constructor(readonly json: ModelBundleJson, where = 'the bundle') {
    const invalid = (message: string, path: (string | number)[]): KilnError => invalidBundle(where, message, path);
    this.booster = wrap(() => Booster.fromJSON(json.booster), 'booster', where);
    this.calibrator = json.calibrator ? wrap(() => calibratorFromJson(json.calibrator), 'calibrator', where) : null;
    this.scaling = scorecardScaling(json.scaling);
    const names = this.booster.featureNames;
    const sig = json.signature.features.map((f) => f.name);
    const bad = sig.findIndex((n, j) => names[j] !== n);
    if (sig.length !== names.length || bad >= 0) {
      throw invalid(`its signature lists ${sig.join(', ')} but its trees take ${names.join(', ')}`, ['signature', 'features']);
    }
    this.codes = names.map((n, j) => {
      const cats = json.categories[n];
      if (this.booster.categorical[j] && !cats) throw invalid(`categorical input '${n}' has no category map`, ['categories', n]);
      return this.booster.categorical[j] ? new Map(cats!.map((c, k) => [c, k])) : null;
    });
    if (json.smoke && json.smoke.rows.length !== json.smoke.probability.length) {
      throw invalid(`its smoke sample has ${json.smoke.rows.length} rows but ${json.smoke.probability.length} probabilities`, ['smoke', 'probability']);
    }
    for (const [g, members] of Object.entries(json.reasons?.groups ?? {})) {
      const unknown = members.find((m) => !names.includes(m));
      if (unknown !== undefined) throw invalid(`reason group '${g}' lists '${unknown}', which is not an input`, ['reasons', 'groups', g]);
    }
  }

  get provenance(): BundleProvenance { return this.json.provenance; }
  get signature(): ModelSignature { return this.json.signature; }
  get categories(): Record<string, string[]> { return this.json.categories; }
  get checksum(): string { return this.json.checksum; }
  /** The smoke sample stored at training time; null for bundles written before it existed. */
  get smoke(): SmokeSample | null { return this.json.smoke ?? null; }

  /** The reference profile stored at training time (monitoring's baseline); null for bundles written before it existed. */
  get profile(): ReferenceProfile | null { return this.json.profile ?? null; }

  /** Rows as the model's input columns: numbers as they are, categories as their codes, null as missing (NaN). */
  columns(rows: readonly ScoreRow[]): Float64Array[] {
    return this.booster.featureNames.map((name, j) => {
      const col = new Float64Array(rows.length);
      for (let i = 0; i < rows.length; i++) col[i] = this.inputValue(rows[i]!, i, name, j);
      return col;
    });
  }

  /** Input j of row i as the trees read it (SIGNATURE_MISMATCH naming rows.<i>.<name> when it cannot be). */
  private inputValue(row: ScoreRow, i: number, name: string, j: number): number {
    if (!Object.hasOwn(row, name)) {
      throw new KilnError('SIGNATURE_MISMATCH', `row ${i} has no value for input '${name}'; pass null for a missing value (the model takes: ${this.booster.featureNames.join(', ')})`, { path: ['rows', i, name] });
    }
    const v = row[name];
    const codes = this.codes[j];
    if (v === null || v === undefined) return NaN;
    if (codes) return codes.get(String(v)) ?? NaN; // a category unseen in training is missing
    if (typeof v === 'number' || typeof v === 'bigint') return Number(v);
    if (typeof v === 'boolean') return v ? 1 : 0;
    throw new KilnError('SIGNATURE_MISMATCH', `row ${i}: input '${name}' is ${JSON.stringify(v)}; it is numeric (${this.json.signature.features[j]!.type}), pass a number or null`, { path: ['rows', i, name] });
  }

  /**
   * Scores rows: probability, calibrated probability, points, the decline decision and the reasons:
   * `reasons: true` gives them for declined rows, `'all'` for every row (the reasons a row's score is
   * as high as it is), `false` (the default) for none. A few rows (a request) go row by row, with no
   * column arrays; the same numbers as the column path (tested).
   */
  score(rows: readonly ScoreRow[], opts: { reasons?: boolean | 'all' } = {}): BundleScores {
    if (rows.length > ROW_PATH_MAX_ROWS || this.booster.numOutputs !== 1) return this.scoreColumns(this.columns(rows), opts);
    const { x, probability } = this.rowPath(rows);
    const F = this.booster.numFeatures;
    return this.scoresWith(rows.length, probability, opts, (idx) => {
      const shap = new Float64Array(idx.length * (F + 1));
      idx.forEach((i, r) => this.booster.explainRow(x.subarray(i * F, (i + 1) * F), shap.subarray(r * (F + 1), (r + 1) * (F + 1))));
      return withoutBias(shap, idx.length, F, F + 1);
    });
  }

  /**
   * `score` with the TreeSHAP of the rows needing reasons computed by `explainRows` (rows x F in, rows x
   * (F + 1) contributions out, as `Booster.explainRow` gives them): a serving thread's. The same scores.
   */
  async scoreAsync(rows: readonly ScoreRow[], opts: { reasons?: boolean | 'all' }, explainRows: (x: Float64Array, n: number) => Promise<Float64Array>): Promise<BundleScores> {
    if (rows.length > ROW_PATH_MAX_ROWS || this.booster.numOutputs !== 1 || !opts.reasons || !this.json.reasons) return this.score(rows, opts);
    const { x, probability } = this.rowPath(rows);
    const F = this.booster.numFeatures;
    const idx = this.reasonRows(probability, opts.reasons);
    const xs = new Float64Array(idx.length * F);
    idx.forEach((i, r) => xs.set(x.subarray(i * F, (i + 1) * F), r * F));
    const sub = withoutBias(idx.length ? await explainRows(xs, idx.length) : new Float64Array(0), idx.length, F, F + 1);
    return this.scoresWith(rows.length, probability, opts, () => sub);
  }

  /** The row path's inputs (rows x F, row-major) and probabilities. */
  private rowPath(rows: readonly ScoreRow[]): { x: Float64Array; probability: Float64Array } {
    const names = this.booster.featureNames;
    const F = names.length;
    const x = new Float64Array(rows.length * F);
    rows.forEach((row, i) => { for (let j = 0; j < F; j++) x[i * F + j] = this.inputValue(row, i, names[j]!, j); });
    const probability = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) probability[i] = this.booster.predictRow(x.subarray(i * F, (i + 1) * F));
    return { x, probability };
  }

  /** The rows that get reasons: every row for 'all', else the declined ones. */
  private reasonRows(probability: Float64Array, reasons: true | 'all'): number[] {
    const idx: number[] = [];
    for (let i = 0; i < probability.length; i++) if (reasons === 'all' || probability[i]! >= this.json.cutoff) idx.push(i);
    return idx;
  }

  /** The code of a categorical input's value (index in its training dictionary); NaN when unseen; null when the input is numeric. */
  categoryCodes(input: number): ReadonlyMap<string, number> | null {
    return this.codes[input] ?? null;
  }

  /**
   * Scores input columns as `columns(rows)` makes them (one Float64Array per input in the model's order,
   * categories as their codes, NaN for missing): the path `score` takes after building the columns, for
   * callers that read columns directly (batch scoring reads them from DuckDB vectors).
   */
  scoreColumns(cols: readonly Float64Array[], opts: { reasons?: boolean | 'all' } = {}): BundleScores {
    return this.scoresOf(cols, this.booster.predict(cols as Float64Array[]), opts);
  }

  /**
   * scoreColumns with the trees evaluated on the booster's threads (Booster.predictAsync) while the
   * calling thread is free; the same scores. One call at a time per bundle.
   */
  async scoreColumnsAsync(cols: readonly Float64Array[], opts: { reasons?: boolean | 'all' } = {}): Promise<BundleScores> {
    return this.scoresOf(cols, await this.booster.predictAsync(cols as Float64Array[]), opts);
  }

  private scoresOf(cols: readonly Float64Array[], probability: Float64Array, opts: { reasons?: boolean | 'all' }): BundleScores {
    const f = cols.length;
    return this.scoresWith(cols[0]?.length ?? 0, probability, opts, (idx) => {
      const shap = this.booster.explain(cols.map((c) => Float64Array.from(idx, (i) => c[i]!)));
      return withoutBias(shap.contributions, idx.length, f, shap.numOutputs * (f + 1));
    });
  }

  /** Calibration, points, declines and reasons of n rows; `contributions(rows)` gives the SHAP values (rows x F) of the rows needing reasons. */
  private scoresWith(n: number, probability: Float64Array, opts: { reasons?: boolean | 'all' }, contributions: (idx: number[]) => Float64Array): BundleScores {
    const calibrated = this.calibrator ? this.calibrator.apply(probability) : null;
    const points = this.scaling.toPointsArray(probability);
    const declined = Uint8Array.from(probability, (p) => (p >= this.json.cutoff ? 1 : 0));
    const rc = this.json.reasons;
    let reasons: BundleScores['reasons'] = null;
    if (opts.reasons && rc) {
      reasons = new Array<ReasonCode[] | null>(n).fill(null);
      const idx = this.reasonRows(probability, opts.reasons);
      if (idx.length) {
        this.reasoner ??= reasonCoder(this.booster.featureNames, { k: rc.maxReasons, reasonText: rc.texts, ...(Object.keys(rc.groups).length ? { groups: rc.groups } : {}) });
        const codes = this.reasoner(contributions(idx));
        idx.forEach((i, r) => { reasons![i] = codes[r]!; });
      }
    }
    return { probability, calibrated, points, declined, reasons };
  }

  /** The bundle's text, as written (with its checksum). */
  toText(): string {
    const { format: _f, checksum: _c, ...body } = this.json;
    return bundleText(body);
  }
}

function wrap<T>(fn: () => T, field: string, where: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KilnError) throw invalidBundle(where, `${field}: ${e.message}`, [field, ...(e.path ?? [])]);
    throw e;
  }
}

/**
 * Loads a `kiln.model@1` bundle from a file path or its bytes, checked (format, fields, checksum) and
 * ready to score. A bundle written by a newer kiln is BUNDLE_TOO_NEW; a malformed one BUNDLE_INVALID.
 */
export function loadModelBundle(pathOrBytes: string | Uint8Array): ModelBundle {
  if (typeof pathOrBytes === 'string') {
    let bytes: Buffer;
    try {
      bytes = readFileSync(pathOrBytes);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new KilnError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE', `cannot read the model bundle ${pathOrBytes} (${code ?? (e as Error).message})${code === 'ENOENT' ? '; check the path' : ''}`, { path: [pathOrBytes], cause: e });
    }
    return new ModelBundle(parseBundle(bytes, pathOrBytes), pathOrBytes);
  }
  return new ModelBundle(parseBundle(pathOrBytes));
}
