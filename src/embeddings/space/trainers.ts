import { z } from 'zod';
import { KilnError } from '../../core/errors.js';
import type { EmbeddingSpaceSpec } from '../../config/index.js';
import { trainItem2Vec } from '../item2vec.js';
import { trainMf } from '../mf.js';
import type { InteractionData, SequenceCorpus, TextData } from './source.js';

/** What a trainer hands back: one vector per id, its own metrics, and what encodes new inputs (if anything). */
export interface Trained {
  ids: string[];
  vectors: Float32Array;
  dim: number;
  metrics: Record<string, number | string | null>;
  params: Record<string, unknown>;
  encoder?: unknown;
}

export interface TrainerContext {
  space: string;
  spec: EmbeddingSpaceSpec;
  signal?: AbortSignal;
  /** Progress of the trainer's passes: done of total (epochs, sweeps, batches). */
  onProgress?: (done: number, total: number, note?: string) => void;
}

const positive = z.number().positive();
const count = z.number().int().min(1);

/** Each trainer's parameters (docs/embeddings.md), checked before any data is read. */
export const TRAINER_PARAMS = {
  item2vec: z.strictObject({ window: count.max(100).default(5), negatives: z.number().int().min(0).max(100).default(5), sample: z.number().min(0).max(1).default(1e-3), epochs: count.max(1000).default(5), alpha: positive.max(1).default(0.025), dynamicWindow: z.boolean().default(true), threads: count.max(256).default(1) }),
  als: z.strictObject({ iterations: count.max(1000).default(15), regularization: positive.default(0.05), alpha: positive.default(10), solver: z.enum(['cholesky', 'cg']).default('cholesky'), cgSteps: count.max(100).default(3) }),
  bpr: z.strictObject({ epochs: count.max(10000).default(30), learningRate: positive.max(10).default(0.05), regularization: z.number().min(0).default(0.002) }),
  'two-tower': z.strictObject({ hidden: z.number().int().min(0).max(4096).default(64), epochs: count.max(1000).default(10), batchSize: count.max(65536).default(256), lr: positive.max(1).default(0.01), temperature: positive.max(10).default(0.05), logQ: z.boolean().default(true), threads: count.max(256).default(1) }),
  'text-lsa': z.strictObject({ minDf: count.default(2), maxFeatures: count.max(1 << 24).default(1 << 18) }),
  'text-onnx': z.strictObject({ path: z.string().min(1, 'expected the folder of model.onnx and vocab.txt'), batchSize: count.max(4096).default(32), maxLength: count.max(8192).default(128) }),
  sequence: z.strictObject({ batchSize: count.max(65536).default(256) }),
} as const;

export function trainerParams(space: string, spec: EmbeddingSpaceSpec): Record<string, unknown> {
  const parsed = TRAINER_PARAMS[spec.trainer].safeParse(spec.params);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `embeddings.${space}.params${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`);
    throw new KilnError('CONFIG_INVALID', `embedding space '${space}': trainer '${spec.trainer}' parameters are not valid:\n${issues.map((l) => `  - ${l}`).join('\n')}`, { path: ['embeddings', space, 'params'], details: issues });
  }
  return parsed.data as Record<string, unknown>;
}

export async function trainItem2VecSpace(ctx: TrainerContext, data: SequenceCorpus): Promise<Trained> {
  const p = trainerParams(ctx.space, ctx.spec) as z.output<(typeof TRAINER_PARAMS)['item2vec']>;
  if (data.items.size < 2) throw new KilnError('EMBEDDING_NOT_FOUND', `embedding space '${ctx.space}': the source holds ${data.items.size} item${data.items.size === 1 ? '' : 's'} seen at least ${ctx.spec.minCount} times; item2vec needs two or more`);
  const dim = ctx.spec.dim!;
  ctx.onProgress?.(0, 1, 'item2vec');
  const r = await trainItem2Vec(data.tokens, data.offsets, { items: data.items.size, dim, window: p.window, negatives: p.negatives, sample: p.sample, epochs: p.epochs, alpha: p.alpha, dynamicWindow: p.dynamicWindow, threads: p.threads, seed: ctx.spec.seed });
  ctx.onProgress?.(1, 1);
  return {
    ids: data.items.ids, vectors: r.input.data, dim, params: p,
    metrics: { pairs: r.pairs, pairs_per_second: Math.round(r.pairs / Math.max(r.seconds, 1e-9)), kernel: r.kernel, sequences: data.offsets.length - 1, tokens: data.tokens.length, train_seconds: r.seconds },
  };
}

export function trainMfSpace(ctx: TrainerContext, data: InteractionData): Trained {
  const method = ctx.spec.trainer as 'als' | 'bpr';
  const p = trainerParams(ctx.space, ctx.spec);
  const dim = ctx.spec.dim!;
  if (data.user.length === 0) throw new KilnError('EMBEDDING_NOT_FOUND', `embedding space '${ctx.space}': the source holds no interactions${ctx.spec.minCount > 1 ? ` with entities seen at least ${ctx.spec.minCount} times` : ''}`);
  const t0 = performance.now();
  const total = method === 'als' ? (p.iterations as number) : (p.epochs as number);
  let last = NaN;
  const model = trainMf({ users: data.user, items: data.item, weights: data.weight, nUsers: data.users.size, nItems: data.items.size },
    method === 'als'
      ? { method, factors: dim, iterations: p.iterations as number, regularization: p.regularization as number, alpha: p.alpha as number, solver: p.solver as 'cholesky' | 'cg', cgSteps: p.cgSteps as number, seed: ctx.spec.seed, onIteration: (i, loss) => { last = loss; ctx.onProgress?.(i + 1, total, `loss ${loss.toExponential(3)}`); } }
      : { method, factors: dim, epochs: p.epochs as number, learningRate: p.learningRate as number, regularization: p.regularization as number, seed: ctx.spec.seed, onEpoch: (e, ll) => { last = ll; ctx.onProgress?.(e + 1, total, `log-lik ${ll.toFixed(4)}`); } });
  const seconds = (performance.now() - t0) / 1000;
  const user = ctx.spec.source.kind === 'interactions' && ctx.spec.source.side === 'user';
  return {
    ids: user ? data.users.ids : data.items.ids, vectors: user ? model.userFactors : model.itemFactors, dim, params: p,
    metrics: { interactions: data.user.length, users: data.users.size, items: data.items.size, [method === 'als' ? 'final_loss' : 'final_log_likelihood']: last, train_seconds: seconds },
  };
}

export type { TextData };
