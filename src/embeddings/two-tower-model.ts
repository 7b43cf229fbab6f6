/**
 * A trained two-tower model: the network spec, the feature standardisation of each side and the
 * parameters. `embedUsers` / `embedItems` run one tower on the caller's thread (WebAssembly kernels,
 * 1024 rows at a time) and return unit vectors [rows, dim], so a user-item score is a dot product
 * (= cosine). `toJSON` is self-describing (`format: 'kiln.two-tower@1'`, parameters as base64 float32
 * in registration order); `fromJSON` checks it against the spec before trusting it.
 */
import { KilnError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { Arena, kernelsFor, TwoTowerNet, type Ctx, type Params, type Tower, type TowerSpec, type TwoTowerNetSpec } from '../nn/index.js';
import { featureIssues, standardize, throwIssues, type FeatureStats, type Issue } from './two-tower-data.js';

export const TWO_TOWER_FORMAT = 'kiln.two-tower@1';
const FORMAT_VERSION = 1;
const CHUNK = 1024;

export interface TwoTowerJson {
  format: typeof TWO_TOWER_FORMAT;
  spec: TwoTowerNetSpec;
  userStats: { mean: number[]; scale: number[] } | null;
  itemStats: { mean: number[]; scale: number[] } | null;
  params: { name: string; shape: number[]; data: string }[];
}

type Side = 'user' | 'item';

interface Runtime {
  net: TwoTowerNet;
  ctx: Ctx;
}

/** A parameter as the model keeps it: name and shape for the file, values (not shared with any trainer). */
interface SavedParam {
  name: string;
  shape: readonly number[];
  value: Float32Array;
}

function buildRuntime(spec: TwoTowerNetSpec): Runtime {
  const arena = new Arena(1 << 22);
  const net = new TwoTowerNet(spec, arena);
  return { net, ctx: { arena, k: kernelsFor(arena), training: false, rng: new Rng(0) } };
}

export class TwoTowerModel {
  private runtime: Runtime | null = null;

  private constructor(
    readonly spec: TwoTowerNetSpec,
    readonly userStats: FeatureStats | null,
    readonly itemStats: FeatureStats | null,
    /** In the net's registration order. */
    private readonly params: SavedParam[],
  ) {}

  /** A model holding copies of `params`' current values (the trainer's net). */
  static fromParams(spec: TwoTowerNetSpec, userStats: FeatureStats | null, itemStats: FeatureStats | null, params: Params): TwoTowerModel {
    return new TwoTowerModel(spec, userStats, itemStats, params.list.map((p) => ({ name: p.name, shape: [...p.shape], value: Float32Array.from(p.value) })));
  }

  get dim(): number { return this.spec.dim; }
  /** Known user ids (0 when the user tower has no id embedding). */
  get users(): number { return this.spec.user.ids; }
  get items(): number { return this.spec.item.ids; }
  get userFeatureDim(): number { return this.spec.user.features; }
  get itemFeatureDim(): number { return this.spec.item.features; }

  /**
   * Unit vectors [rows, dim] of users: `ids` (-1 = unknown: features only; null = all unknown; a
   * tower without id embeddings only counts them), `features` [rows, userFeatureDim] raw (NaN = missing), required when
   * the tower has features. Rows are independent: a row's vector does not depend on the others.
   */
  embedUsers(ids: Int32Array | null, features?: Float32Array): Float32Array {
    return this.embed('user', ids, features);
  }

  /** Unit vectors [rows, dim] of items; see `embedUsers`. */
  embedItems(ids: Int32Array | null, features?: Float32Array): Float32Array {
    return this.embed('item', ids, features);
  }

  private embed(side: Side, ids: Int32Array | null, features: Float32Array | undefined): Float32Array {
    const ts: TowerSpec = this.spec[side];
    const stats = side === 'user' ? this.userStats : this.itemStats;
    const idField = `${side}Ids`;
    const fField = `${side}Features`;
    const issues: Issue[] = [];
    if (ids !== null && !(ids instanceof Int32Array)) issues.push({ path: [idField], message: 'must be an Int32Array or null' });
    if (ts.features === 0 && features !== undefined) issues.push({ path: [fField], message: `the model's ${side} tower takes no features` });
    if (ts.features > 0 && features === undefined) issues.push({ path: [fField], message: `the model's ${side} tower needs ${ts.features} features per row` });
    if (ids === null && ts.features === 0) issues.push({ path: [idField], message: `give ids: the ${side} tower has no features` });
    throwIssues('EMBEDDING_DATA_INVALID', `embed ${side}s`, issues);
    const rows = ids !== null ? ids.length : features!.length / ts.features;
    if (ts.features > 0) throwIssues('EMBEDDING_DATA_INVALID', `embed ${side}s`, featureIssues(fField, `${side}FeatureDim`, features, ts.features, ids !== null ? rows : null));
    if (ids !== null && ts.ids > 0) {
      for (let r = 0; r < rows; r++) {
        const id = ids[r]!;
        if (id < -1 || id >= ts.ids) throw new KilnError('EMBEDDING_DATA_INVALID', `embed ${side}s: ${idField}[${r}] = ${id} is outside [-1, ${ts.ids - 1}] (-1 = unknown)`, { path: [idField, r] });
      }
    }
    const { net, ctx } = this.ready();
    const tower: Tower = net[side];
    const D = this.spec.dim;
    const F = ts.features;
    const out = new Float32Array(rows * D);
    for (let lo = 0; lo < rows; lo += CHUNK) {
      const n = Math.min(CHUNK, rows - lo);
      const mark = ctx.arena.mark();
      let idArr: Int32Array | null = null;
      if (ts.ids > 0) {
        idArr = ctx.arena.i32(n);
        if (ids !== null) idArr.set(ids.subarray(lo, lo + n));
        else idArr.fill(-1);
      }
      let fArr: Float32Array | null = null;
      if (F > 0) {
        fArr = ctx.arena.f32u(n * F);
        standardize(features!.subarray(lo * F, (lo + n) * F), n, F, stats!, fArr);
      }
      out.set(tower.forward(ctx, idArr, fArr, n), lo * D);
      ctx.arena.release(mark);
    }
    return out;
  }

  private ready(): Runtime {
    if (this.runtime) return this.runtime;
    const { net, ctx } = buildRuntime(this.spec);
    net.params.list.forEach((p, i) => p.value.set(this.params[i]!.value));
    this.runtime = { net, ctx };
    return this.runtime;
  }

  toJSON(): TwoTowerJson {
    const stats = (s: FeatureStats | null): TwoTowerJson['userStats'] => (s ? { mean: Array.from(s.mean), scale: Array.from(s.scale) } : null);
    return {
      format: TWO_TOWER_FORMAT,
      spec: structuredClone(this.spec),
      userStats: stats(this.userStats),
      itemStats: stats(this.itemStats),
      params: this.params.map((p) => ({ name: p.name, shape: [...p.shape], data: Buffer.from(p.value.buffer, p.value.byteOffset, p.value.byteLength).toString('base64') })),
    };
  }

  static fromJSON(j: unknown): TwoTowerModel {
    const bad = (why: string): never => {
      throw new KilnError('MODEL_FORMAT_INVALID', `two-tower model: ${why}`);
    };
    if (typeof j !== 'object' || j === null) bad('not an object');
    const o = j as Partial<TwoTowerJson>;
    const fmt = String(o.format);
    const m = /^kiln\.two-tower@(\d+)$/.exec(fmt);
    if (!m) bad(`format '${fmt}' is not ${TWO_TOWER_FORMAT}`);
    if (Number(m![1]) > FORMAT_VERSION) throw new KilnError('MODEL_FORMAT_TOO_NEW', `two-tower model format ${fmt} is newer than this kiln (reads @${FORMAT_VERSION})`);
    const spec = o.spec;
    const tower = (t: unknown): boolean => {
      const s = t as Partial<TowerSpec> | undefined;
      return !!s && [s.ids, s.idDim, s.features].every((v) => Number.isInteger(v) && (v as number) >= 0) && (s.ids! > 0 || s.features! > 0);
    };
    if (!spec || spec.kind !== 'two-tower' || !Number.isInteger(spec.dim) || spec.dim <= 0 || !Number.isInteger(spec.hidden) || spec.hidden < 0 || !Number.isInteger(spec.seed) || !tower(spec.user) || !tower(spec.item)) {
      bad('spec is missing or malformed');
    }
    const readStats = (s: unknown, dim: number, side: Side): FeatureStats | null => {
      if (dim === 0) return null;
      const t = s as { mean?: unknown; scale?: unknown } | null | undefined;
      const finite = (a: unknown, positive: boolean): boolean => Array.isArray(a) && a.length === dim && a.every((x) => Number.isFinite(x) && (!positive || x > 0));
      if (!t || !finite(t.mean, false) || !finite(t.scale, true)) bad(`${side}Stats must hold ${dim} finite means and positive scales`);
      return { mean: Float32Array.from(t!.mean as number[]), scale: Float32Array.from(t!.scale as number[]) };
    };
    const userStats = readStats(o.userStats, spec!.user.features, 'user');
    const itemStats = readStats(o.itemStats, spec!.item.features, 'item');
    const own = structuredClone(spec!);
    const runtime = buildRuntime(own);
    const layout = runtime.net.params.list;
    if (!Array.isArray(o.params) || o.params.length !== layout.length) bad(`expected ${layout.length} parameters`);
    const params = layout.map((p, i): SavedParam => {
      const saved = o.params![i]!;
      if (!saved || saved.name !== p.name) bad(`parameter ${i} should be ${p.name}`);
      const bytes = Buffer.from(String(saved.data), 'base64');
      if (bytes.length !== p.value.length * 4) bad(`parameter ${p.name} has ${bytes.length / 4} values, expected ${p.value.length}`);
      new Uint8Array(p.value.buffer, p.value.byteOffset, p.value.byteLength).set(bytes);
      return { name: p.name, shape: [...p.shape], value: p.value };
    });
    const model = new TwoTowerModel(own, userStats, itemStats, params);
    model.runtime = runtime;
    return model;
  }
}
