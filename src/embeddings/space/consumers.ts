import { KilnError } from '../../core/errors.js';
import type { Project } from '../../store/index.js';
import type { ConsumerComparison } from './compare.js';
import type { EmbeddingVersion } from './registry.js';

export async function consumerAuc(_project: Project, model: string, _a: EmbeddingVersion, _b: EmbeddingVersion): Promise<ConsumerComparison> {
  throw new KilnError('CONFIG_INVALID', `consumer ${model}: not built yet`);
}
