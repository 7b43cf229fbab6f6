import { KilnError } from '../../core/errors.js';
import type { Project } from '../../store/index.js';
import type { InteractionData } from './source.js';
import type { Trained, TrainerContext } from './trainers.js';

export async function trainTwoTowerSpace(_project: Project, ctx: TrainerContext, _data: InteractionData): Promise<Trained> {
  throw new KilnError('CONFIG_INVALID', `embedding space '${ctx.space}': two-tower pending`);
}
