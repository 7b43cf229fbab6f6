/**
 * A fitted retrieve-then-rank model on disk, in one folder:
 *   model.json    format, settings, feature options, diversity rule, report, the generators (name, kind,
 *                 scorer and where each of its arrays lies), the data's shape, and the sha256 of arrays.bin
 *   arrays.bin    every typed array (training interactions, attributes, generator states), 8-byte aligned
 *   ranker.json   the GBDT ranker (Booster.toJSON)
 * Loading checks the checksum and every array's size, then rebuilds the model with the same classes
 * fitRetrieveThenRank used, so a loaded model ranks exactly as the saved one did.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../core/errors.js';
import { Booster } from '../gbdt/index.js';
import { ScoredGenerator, type AnnSpec } from './generator.js';
import { RetrieveThenRank, type DiversityRule, type RankerReport, type RankerSettings, type RecsData } from './ranker.js';
import type { FeatureOptions } from './features.js';
import type { ScorerState } from './state.js';
import type { EntityAttributes, InteractionTable } from './table.js';

export const RECS_MODEL_FORMAT = 'kiln.retrieve-then-rank@1';

type Typed = Float32Array | Float64Array | Int32Array;
type DType = 'f32' | 'f64' | 'i32';
interface ArrayRef { dtype: DType; offset: number; length: number }
type Ref<T> = { [K in keyof T]: T[K] extends Typed ? ArrayRef : T[K] extends Typed | undefined ? ArrayRef | undefined : T[K] };

interface AttributesRef { numeric: Record<string, ArrayRef>; categorical: Record<string, ArrayRef> }

interface ModelFile {
  format: typeof RECS_MODEL_FORMAT;
  settings: RankerSettings;
  featureOptions: FeatureOptions;
  diversity: DiversityRule | null;
  report: RankerReport;
  train: Ref<InteractionTable>;
  userAttributes?: AttributesRef;
  itemAttributes?: AttributesRef;
  generators: { name: string; kind: string; state: Ref<ScorerState>; ann?: AnnSpec }[];
  arrays: { bytes: number; sha256: string };
}

const DTYPES: Record<DType, new (buf: ArrayBuffer, off: number, len: number) => Typed> = { f32: Float32Array, f64: Float64Array, i32: Int32Array };

function dtypeOf(a: Typed): DType {
  return a instanceof Float64Array ? 'f64' : a instanceof Int32Array ? 'i32' : 'f32';
}

class Packer {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  add(a: Typed): ArrayRef {
    const pad = (8 - (this.size % 8)) % 8;
    if (pad) { this.parts.push(new Uint8Array(pad)); this.size += pad; }
    const ref: ArrayRef = { dtype: dtypeOf(a), offset: this.size, length: a.length };
    this.parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    this.size += a.byteLength;
    return ref;
  }

  /** Every typed-array field of an object replaced by its ref (other fields kept). */
  refs<T extends object>(o: T): Ref<T> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = ArrayBuffer.isView(v) ? this.add(v as Typed) : v;
    return out as Ref<T>;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

function isRef(v: unknown): v is ArrayRef {
  return typeof v === 'object' && v !== null && 'dtype' in v && 'offset' in v && 'length' in v;
}

class Unpacker {
  constructor(private readonly buf: ArrayBuffer, private readonly file: string) {}

  get(ref: ArrayRef, what: string): Typed {
    const Ctor = DTYPES[ref.dtype];
    const width = ref.dtype === 'f64' ? 8 : 4;
    if (!Ctor || !Number.isInteger(ref.offset) || ref.offset % width !== 0 || !Number.isInteger(ref.length) || ref.length < 0 || ref.offset + ref.length * width > this.buf.byteLength) {
      throw new KilnError('FILE_INVALID', `${this.file}: array ${what} (${JSON.stringify(ref)}) lies outside the file's ${this.buf.byteLength} bytes`, { path: [what] });
    }
    return new Ctor(this.buf, ref.offset, ref.length);
  }

  values<T>(o: Ref<T>, what: string): T {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o as object)) out[k] = isRef(v) ? this.get(v, `${what}.${k}`) : v;
    return out as T;
  }

  attributes(a: AttributesRef | undefined, what: string): EntityAttributes | undefined {
    if (!a) return undefined;
    const num = Object.fromEntries(Object.entries(a.numeric).map(([k, r]) => [k, this.get(r, `${what}.numeric.${k}`) as Float32Array]));
    const cat = Object.fromEntries(Object.entries(a.categorical).map(([k, r]) => [k, this.get(r, `${what}.categorical.${k}`) as Int32Array]));
    return { numeric: num, categorical: cat };
  }
}

/**
 * Writes a fitted model into `dir` (which must exist; the caller makes it atomic by writing a staged
 * folder and renaming it). Every generator must carry its state (ScoredGenerator built from a ScorerState).
 */
export function saveRetrieveThenRank(model: RetrieveThenRank, dir: string): { bytes: number; sha256: string } {
  const pack = new Packer();
  const attrs = (a: EntityAttributes | undefined): AttributesRef | undefined => (a ? {
    numeric: Object.fromEntries(Object.entries(a.numeric ?? {}).map(([k, v]) => [k, pack.add(v)])),
    categorical: Object.fromEntries(Object.entries(a.categorical ?? {}).map(([k, v]) => [k, pack.add(v)])),
  } : undefined);
  const train = pack.refs(model.data.train);
  const userAttributes = attrs(model.data.userAttributes);
  const itemAttributes = attrs(model.data.itemAttributes);
  const generators = model.generators.map((g) => {
    if (!g.state) throw new KilnError('RECS_PARAM_INVALID', `generator '${g.name}' (${g.kind}) has no saved state; only generators built from a ScorerState can be saved`, { path: ['generators', g.name] });
    return { name: g.name, kind: g.kind, state: pack.refs(g.state), ...(g.ann ? { ann: g.ann } : {}) };
  });
  const bytes = pack.bytes();
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const file: ModelFile = {
    format: RECS_MODEL_FORMAT, settings: model.settings, featureOptions: model.featureOptions, diversity: model.diversityRule, report: model.report,
    train, ...(userAttributes ? { userAttributes } : {}), ...(itemAttributes ? { itemAttributes } : {}), generators, arrays: { bytes: bytes.length, sha256 },
  };
  writeFileSync(join(dir, 'arrays.bin'), bytes);
  writeFileSync(join(dir, 'ranker.json'), JSON.stringify(model.booster.toJSON()));
  writeFileSync(join(dir, 'model.json'), JSON.stringify(file, null, 1));
  return file.arrays;
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new KilnError('FILE_INVALID', `cannot read ${path}: ${(e as Error).message}`, { path: [path] });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new KilnError('FILE_INVALID', `${path} is not valid JSON: ${(e as Error).message}`, { path: [path] });
  }
}

/** Loads a model written by saveRetrieveThenRank, checking the arrays' checksum and sizes. */
export function loadRetrieveThenRank(dir: string): RetrieveThenRank {
  const modelPath = join(dir, 'model.json');
  const file = readJson(modelPath) as ModelFile;
  if (file?.format !== RECS_MODEL_FORMAT) {
    throw new KilnError('FILE_INVALID', `${modelPath}: format is '${String(file?.format)}'; expected '${RECS_MODEL_FORMAT}'`, { path: ['format'] });
  }
  const binPath = join(dir, 'arrays.bin');
  const raw = readFileSync(binPath);
  const sum = createHash('sha256').update(raw).digest('hex');
  if (raw.length !== file.arrays.bytes || sum !== file.arrays.sha256) {
    throw new KilnError('FILE_INVALID', `${binPath} does not match model.json (sha256 ${sum.slice(0, 12)}..., ${raw.length} bytes; expected ${file.arrays.sha256.slice(0, 12)}..., ${file.arrays.bytes} bytes): the file was changed after the model was saved`, { path: [binPath] });
  }
  const buf = new ArrayBuffer(raw.length);
  new Uint8Array(buf).set(raw);
  const un = new Unpacker(buf, binPath);
  const train = un.values(file.train, 'train');
  const data: RecsData = { train };
  const ua = un.attributes(file.userAttributes, 'userAttributes');
  const ia = un.attributes(file.itemAttributes, 'itemAttributes');
  if (ua) data.userAttributes = ua;
  if (ia) data.itemAttributes = ia;
  const generators = file.generators.map((g, k) => new ScoredGenerator(g.name, g.kind, train, un.values(g.state, `generators.${k}`), g.ann));
  const booster = Booster.fromJSON(readFileSync(join(dir, 'ranker.json'), 'utf8'));
  return new RetrieveThenRank(data, generators, booster, file.report, file.settings, file.featureOptions, file.diversity);
}
