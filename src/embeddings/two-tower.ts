/**
 * Two-tower retrieval (Yi et al. 2019; YouTube's and most candidate generators): a user tower and an
 * item tower (src/nn/two-tower-net.ts: [id embedding ; standardised features] -> Dense + ReLU -> Dense
 * -> L2-normalise) trained on positive (user, item) pairs with the in-batch sampled softmax and log-q
 * popularity correction (two-tower-loss.ts), so that u . v ranks a user's items above the rest. Unlike
 * matrix factorisation it embeds users and items it has never seen, from their features alone.
 *
 * A step: the batch's pairs go through both towers (two-tower-runner.ts: on the caller's thread, or
 * on the data-parallel threads when threads > 1), the loss over the batch's n x n similarities gives
 * the gradient with respect to the vectors, the towers back-propagate it, AdamW updates the dense
 * layers and lazy AdamW (two-tower-optim.ts) the id rows the batch touched. Each epoch's shuffle comes
 * from Rng(seed, epoch). Same seed, same bytes: threads 1 always; threads > 1 too, whatever the number
 * of threads, though its bytes differ from threads 1's in float32 rounding (see the runner).
 *
 * Cost per pair: the towers, plus O(batch x dim) for the in-batch loss. On one thread the id tables
 * cost only the rows a batch touches (gradients and updates), so a step does not grow with the
 * number of ids; on more threads the pool moves every parameter each step (two-tower-runner.ts).
 */
import { KilnError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { AdamW, Params, type TwoTowerNetSpec } from '../nn/index.js';
import { featureIssues, fitStats, idIssues, intOption, numOption, standardize, throwIssues, type FeatureStats, type Issue } from './two-tower-data.js';
import { inBatchSoftmax } from './two-tower-loss.js';
import { TwoTowerModel } from './two-tower-model.js';
import { distinctIds, LazyRowAdamW } from './two-tower-optim.js';
import { startRunner, type RunnerData } from './two-tower-runner.js';

export { TwoTowerModel, TWO_TOWER_FORMAT, type TwoTowerJson } from './two-tower-model.js';

export interface TwoTowerData {
  /** Ids are dense, 0..users-1 and 0..items-1. */
  users: number;
  items: number;
  /** Positive interactions: pair k is (user[k], item[k]). */
  user: Int32Array;
  item: Int32Array;
  /** Weight of each pair in the loss (finite, >= 0); all 1 when omitted. */
  weight?: Float32Array;
  /** Row-major users x userFeatureDim numeric features (NaN = missing); standardised inside. */
  userFeatures?: Float32Array;
  userFeatureDim?: number;
  itemFeatures?: Float32Array;
  itemFeatureDim?: number;
}

export interface TwoTowerOptions {
  /** Width of the output vectors (default 32). */
  dim?: number;
  /** Units of each tower's hidden layer (default 64; 0 = no hidden layer). */
  hidden?: number;
  /** Learn an id embedding in each tower (default true); false embeds from features alone. */
  ids?: boolean;
  /** Width of the id embeddings (default dim). */
  idDim?: number;
  epochs?: number;
  batchSize?: number;
  /** AdamW learning rate (default 0.01). */
  lr?: number;
  /** AdamW decoupled weight decay (default 0). */
  weightDecay?: number;
  /** Softmax temperature over cosine similarities (default 0.05). */
  temperature?: number;
  /** Subtract log q(item) from each logit, q the item's share of the pairs (default true). */
  logQ?: boolean;
  seed?: number;
  threads?: number;
  signal?: AbortSignal;
  /** After each epoch: `epoch` from 0, the mean training loss, the epoch's seconds. */
  onEpoch?: (e: { epoch: number; loss: number; seconds: number }) => void;
}

export interface TwoTowerResult {
  dim: number;
  /** users x dim unit vectors (ids and features). */
  userVectors: Float32Array;
  /** items x dim unit vectors. */
  itemVectors: Float32Array;
  /** Mean training loss per epoch. */
  losses: number[];
  seconds: number;
  model: TwoTowerModel;
}

interface Resolved {
  dim: number; hidden: number; ids: boolean; idDim: number; epochs: number; batchSize: number; lr: number;
  weightDecay: number; temperature: number; logQ: boolean; seed: number; threads: number;
}

function resolve(data: TwoTowerData, opts: TwoTowerOptions): Resolved {
  const dim = opts.dim ?? 32;
  const r: Resolved = {
    dim, hidden: opts.hidden ?? 64, ids: opts.ids ?? true, idDim: opts.idDim ?? dim, epochs: opts.epochs ?? 10, batchSize: opts.batchSize ?? 512,
    lr: opts.lr ?? 0.01, weightDecay: opts.weightDecay ?? 0, temperature: opts.temperature ?? 0.05, logQ: opts.logQ ?? true, seed: opts.seed ?? 1, threads: opts.threads ?? 1,
  };
  const issues: Issue[] = [
    ...intOption('dim', r.dim, 1, 4096), ...intOption('hidden', r.hidden, 0, 65536), ...intOption('idDim', r.idDim, 1, 4096),
    ...intOption('epochs', r.epochs, 1), ...intOption('batchSize', r.batchSize, 2, 65536), ...intOption('threads', r.threads, 1, 256),
    ...intOption('seed', r.seed, -(2 ** 31), 2 ** 31 - 1),
    ...numOption('lr', r.lr, 0, false), ...numOption('weightDecay', r.weightDecay, 0, true), ...numOption('temperature', r.temperature, 0, false),
  ];
  if (!r.ids && data.userFeatures === undefined) issues.push({ path: ['options', 'ids'], message: 'ids: false needs userFeatures (the user tower would have no input)' });
  if (!r.ids && data.itemFeatures === undefined) issues.push({ path: ['options', 'ids'], message: 'ids: false needs itemFeatures (the item tower would have no input)' });
  throwIssues('EMBEDDING_PARAM_INVALID', 'two-tower options', issues);
  return r;
}

function check(data: TwoTowerData): void {
  const issues: Issue[] = [...intOption('users', data.users, 1), ...intOption('items', data.items, 1)].map((i) => ({ ...i, path: [i.path[1]!] }));
  throwIssues('EMBEDDING_DATA_INVALID', 'two-tower data', issues);
  const n = data.user?.length;
  if (!(data.user instanceof Int32Array)) issues.push({ path: ['user'], message: 'must be an Int32Array' });
  else if (n === 0) issues.push({ path: ['user'], message: 'no pairs; give at least one (user, item) pair' });
  else issues.push(...idIssues('user', data.user, data.users, 0));
  if (!(data.item instanceof Int32Array)) issues.push({ path: ['item'], message: 'must be an Int32Array' });
  else if (data.item.length !== n) issues.push({ path: ['item'], message: `has ${data.item.length} ids; user has ${n} (one per pair)` });
  else issues.push(...idIssues('item', data.item, data.items, 0));
  const w = data.weight;
  if (w !== undefined) {
    if (!(w instanceof Float32Array)) issues.push({ path: ['weight'], message: 'must be a Float32Array' });
    else if (w.length !== n) issues.push({ path: ['weight'], message: `has ${w.length} values; user has ${n} (one per pair)` });
    else {
      const at = w.findIndex((x) => !(x >= 0 && x < Infinity));
      if (at >= 0) issues.push({ path: ['weight'], message: `value ${w[at]} at ${at} is not a finite number >= 0` });
      else if (!w.some((x) => x > 0)) issues.push({ path: ['weight'], message: 'every weight is 0' });
    }
  }
  issues.push(...featureIssues('userFeatures', 'userFeatureDim', data.userFeatures, data.userFeatureDim, data.users));
  issues.push(...featureIssues('itemFeatures', 'itemFeatureDim', data.itemFeatures, data.itemFeatureDim, data.items));
  throwIssues('EMBEDDING_DATA_INVALID', 'two-tower data', issues);
}

/** Trains a two-tower model on positive pairs; see the file header. */
export async function trainTwoTower(data: TwoTowerData, opts: TwoTowerOptions = {}): Promise<TwoTowerResult> {
  check(data);
  const o = resolve(data, opts);
  const start = performance.now();
  const N = data.user.length;
  const D = o.dim;
  const fu = data.userFeatures ? data.userFeatureDim! : 0;
  const fi = data.itemFeatures ? data.itemFeatureDim! : 0;
  const userStats = fu > 0 ? fitStats(data.userFeatures!, data.users, fu) : null;
  const itemStats = fi > 0 ? fitStats(data.itemFeatures!, data.items, fi) : null;
  const spec: TwoTowerNetSpec = {
    kind: 'two-tower', seed: o.seed, dim: D, hidden: o.hidden,
    user: { ids: o.ids ? data.users : 0, idDim: o.idDim, features: fu },
    item: { ids: o.ids ? data.items : 0, idDim: o.idDim, features: fi },
  };
  const stdTable = (x: Float32Array, rows: number, F: number, stats: FeatureStats): Float32Array => {
    const out = new Float32Array(rows * F);
    standardize(x, rows, F, stats, out);
    return out;
  };
  const runnerData: RunnerData = {
    user: data.user, item: data.item,
    userFeatures: fu > 0 ? stdTable(data.userFeatures!, data.users, fu, userStats!) : null,
    itemFeatures: fi > 0 ? stdTable(data.itemFeatures!, data.items, fi, itemStats!) : null,
  };
  const counts = new Float64Array(data.items);
  for (let k = 0; k < N; k++) counts[data.item[k]!]!++;
  const logQ = new Float32Array(data.items);
  for (let i = 0; i < data.items; i++) logQ[i] = counts[i]! > 0 ? Math.log(counts[i]! / N) : 0;

  const B = Math.min(o.batchSize, N);
  const runner = await startRunner(spec, runnerData, o.threads, B);
  const losses: number[] = [];
  try {
    const tableNames = ['user.ids.weight', 'item.ids.weight'];
    const dense = new Params(runner.params.arena);
    dense.list.push(...runner.params.list.filter((p) => !tableNames.includes(p.name)));
    const opt = new AdamW(dense, { lr: o.lr, weightDecay: o.weightDecay });
    const tables = o.ids ? tableNames.map((name) => runner.params.get(name)) : [];
    const lazy = new LazyRowAdamW(tables, { weightDecay: o.weightDecay });
    const userStamp = new Int32Array(data.users);
    const itemStamp = new Int32Array(data.items);
    const userRows = new Int32Array(B);
    const itemRows = new Int32Array(B);
    const gu = runner.arena.f32(B * D);
    const gv = runner.arena.f32(B * D);
    const batchItems = new Int32Array(B);
    const batchLogQ = new Float32Array(B);
    const batchWeights = new Float32Array(B);
    const order = new Int32Array(N);
    const stepsPerEpoch = Math.ceil(N / B);
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const t0 = performance.now();
      for (let r = 0; r < N; r++) order[r] = r;
      const rng = new Rng(o.seed, 0x77000000 + epoch);
      for (let r = N - 1; r > 0; r--) { const j = rng.int(r + 1); const t = order[r]!; order[r] = order[j]!; order[j] = t; }
      let lossSum = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        if (opts.signal?.aborted) throw new KilnError('INTERRUPTED', `two-tower training stopped at epoch ${epoch + 1}; nothing was saved`);
        const rows = order.subarray(s * B, Math.min(N, (s + 1) * B));
        const n = rows.length;
        for (let r = 0; r < n; r++) {
          const it = data.item[rows[r]!]!;
          batchItems[r] = it;
          batchLogQ[r] = logQ[it]!;
          batchWeights[r] = data.weight ? data.weight[rows[r]!]! : 1;
        }
        const { u, v } = runner.embed(rows);
        const loss = inBatchSoftmax(runner.k, runner.arena, {
          u, v, n, dim: D, temperature: o.temperature, items: batchItems,
          logQ: o.logQ ? batchLogQ : null, weights: data.weight ? batchWeights : null,
        }, gu, gv);
        lossSum += loss * n;
        runner.backprop(rows, gu, gv, epoch * stepsPerEpoch + s);
        opt.step(o.lr);
        if (o.ids) {
          const tag = epoch * stepsPerEpoch + s + 1;
          lazy.step(o.lr, [distinctIds(data.user, rows, userStamp, tag, userRows), distinctIds(data.item, rows, itemStamp, tag, itemRows)]);
        }
        if (s % 8 === 7) await new Promise((res) => setImmediate(res));
      }
      const mean = lossSum / N;
      losses.push(mean);
      opts.onEpoch?.({ epoch, loss: mean, seconds: (performance.now() - t0) / 1000 });
    }
  } finally {
    await runner.close();
  }
  const model = TwoTowerModel.fromParams(spec, userStats, itemStats, runner.params);
  const userIds = Int32Array.from({ length: data.users }, (_, i) => i);
  const itemIds = Int32Array.from({ length: data.items }, (_, i) => i);
  const userVectors = model.embedUsers(userIds, fu > 0 ? data.userFeatures : undefined);
  const itemVectors = model.embedItems(itemIds, fi > 0 ? data.itemFeatures : undefined);
  return { dim: D, userVectors, itemVectors, losses, seconds: (performance.now() - start) / 1000, model };
}
