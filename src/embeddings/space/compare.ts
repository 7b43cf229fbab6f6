import type { Project } from '../../store/index.js';
import { EmbeddingLookup, neighborOverlap } from './lookup.js';

export interface ConsumerComparison {
  model: string;
  /** The version of the space the served (latest) version of the model was trained with. */
  trainedOn: number | null;
  aucFrom: number | null;
  aucTo: number | null;
}

export interface VersionComparison {
  space: string;
  from: number;
  to: number;
  k: number;
  overlap: number;
  sampled: number;
  onlyInFrom: number;
  onlyInTo: number;
  consumers: ConsumerComparison[];
}

/**
 * Compares two versions of a space before a cut-over: how many neighbours they share, which entities
 * either lacks, and (consumers) each model that reads the space retrained in memory with its
 * embedding columns from one version and then the other, scored on its test window.
 */
export async function compareVersions(project: Project, fromRef: string, toRef: string, opts: { k?: number; sample?: number; consumers?: boolean; seed?: number } = {}): Promise<VersionComparison> {
  const reg = project.embeddings;
  const a = reg.resolve(fromRef);
  const b = reg.resolve(toRef.includes('@') || /^\d+$/.test(toRef) === false ? toRef : `${a.space}@${toRef}`);
  const lookup = new EmbeddingLookup(reg);
  const o = neighborOverlap(lookup, a, b, { k: opts.k ?? 10, sample: opts.sample ?? 500, seed: opts.seed ?? 7 });
  const consumers: ConsumerComparison[] = [];
  if (opts.consumers !== false) {
    const { consumerAuc } = await import('./consumers.js');
    for (const [model, spec] of Object.entries(project.config.models)) {
      if (!spec.embeddings.some((e) => e.space === a.space)) continue;
      consumers.push(await consumerAuc(project, model, a, b));
    }
  }
  return { space: a.space, from: a.version, to: b.version, k: o.k, overlap: o.overlap, sampled: o.sampled, onlyInFrom: o.onlyInA, onlyInTo: o.onlyInB, consumers };
}
