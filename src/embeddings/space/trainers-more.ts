import { KilnError } from '../../core/errors.js';
import type { Project } from '../../store/index.js';
import type { InteractionData, TextData } from './source.js';
import type { Trained, TrainerContext } from './trainers.js';

/** The trainers on the neural engine and the text encoders: two-tower, text-onnx, text-lsa, sequence. */
export async function trainSpecialSpace(_project: Project, ctx: TrainerContext, _data: InteractionData | TextData | null, _until: string | null): Promise<Trained> {
  throw new KilnError('CONFIG_INVALID', `embedding space '${ctx.space}': trainer '${ctx.spec.trainer}' is not built yet`);
}
