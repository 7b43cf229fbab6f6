import { KilnError } from '../../core/errors.js';
import type { Project } from '../../store/index.js';
import { trainTwoTower } from '../two-tower.js';
import type { InteractionData } from './source.js';
import { trainerParams, type Trained, type TrainerContext } from './trainers.js';

/**
 * A two-tower space: user and item towers over their ids, trained on the interactions with in-batch
 * negatives (docs/embeddings.md); the space holds the side its source names, and its version keeps the
 * towers (encoder.json) so that both sides can be embedded later.
 */
export async function trainTwoTowerSpace(_project: Project, ctx: TrainerContext, data: InteractionData): Promise<Trained> {
  const p = trainerParams(ctx.space, ctx.spec) as { hidden: number; epochs: number; batchSize: number; lr: number; temperature: number; logQ: boolean; threads: number };
  if (data.user.length === 0) throw new KilnError('EMBEDDING_NOT_FOUND', `embedding space '${ctx.space}': the source holds no interactions`);
  const dim = ctx.spec.dim!;
  const r = await trainTwoTower(
    { users: data.users.size, items: data.items.size, user: data.user, item: data.item, weight: data.weight },
    {
      dim, hidden: p.hidden, epochs: p.epochs, batchSize: p.batchSize, lr: p.lr, temperature: p.temperature, logQ: p.logQ, threads: p.threads, seed: ctx.spec.seed,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onEpoch: (e) => ctx.onProgress?.(e.epoch + 1, p.epochs, `loss ${e.loss.toFixed(4)}`),
    },
  );
  const user = ctx.spec.source.kind === 'interactions' && ctx.spec.source.side === 'user';
  return {
    ids: user ? data.users.ids : data.items.ids, vectors: user ? r.userVectors : r.itemVectors, dim, params: p, encoder: r.model.toJSON(),
    metrics: { interactions: data.user.length, users: data.users.size, items: data.items.size, final_loss: r.losses[r.losses.length - 1] ?? null, pairs_per_second: Math.round((data.user.length * p.epochs) / Math.max(r.seconds, 1e-9)), train_seconds: r.seconds },
  };
}
