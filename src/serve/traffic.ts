/**
 * Which version decides a request. A canary takes a share of *entities*, not of requests: the entity id
 * is hashed (FNV-1a, 32 bits, salted with the model name so two models' canaries take different
 * entities) into [0, 1), and the canary decides when that is below its share. The same entity therefore
 * always meets the same version while the share stays the same, and raising the share only adds entities.
 * A request with no entity id (a full feature row) is decided by the primary.
 */
import type { ModelRoute } from './types.js';

/** The entity's point in [0, 1) for a model: stable across processes and runs. */
export function entityPoint(model: string, entityId: string): number {
  let h = 0x811c9dc5;
  const s = `${model}\u0000${entityId}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // final avalanche (murmur3 fmix32) so that ids differing in their last character spread evenly
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

/** 'canary' when the route's canary challenger decides for this entity, else 'primary'. */
export function decidedBy(route: ModelRoute, entityId: string | null): 'primary' | 'canary' {
  const c = route.challenger;
  if (!c || c.mode !== 'canary' || entityId === null) return 'primary';
  return entityPoint(route.name, entityId) < c.share ? 'canary' : 'primary';
}
