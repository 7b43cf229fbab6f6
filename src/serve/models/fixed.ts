/**
 * A model set of fixed routes: no registry, no polling, no swaps. For serving versions already loaded
 * (tests of the request path, a bundle served on its own); `openModelSet` (registry-backed) is what
 * `kiln serve` uses. Closing it retires its versions (an ONNX version releases its session).
 */
import { KilnError } from '../../core/errors.js';
import { retireLive } from './live.js';
import type { ModelEvent, ModelRoute, ModelSet, ModelStatus, TrafficSpec } from '../types.js';

export function fixedModelSet(routes: readonly ModelRoute[]): ModelSet {
  const byName = new Map(routes.map((r) => [r.name, r]));
  const listeners = new Set<(e: ModelEvent) => void>();
  return {
    route: (name) => byName.get(name),
    names: () => [...byName.keys()],
    ready: () => true,
    status: (): ModelStatus[] => [...byName.values()].map((r) => ({
      name: r.name,
      ref: r.primary.ref,
      state: 'ready',
      version: r.primary.version,
      aliases: [],
      challenger: r.challenger ? { ref: r.challenger.live.ref, version: r.challenger.live.version, mode: r.challenger.mode, share: r.challenger.share } : null,
      lastError: null,
      lastSwapAt: null,
    })),
    refresh: async () => {},
    setTraffic: async (name: string, _t: TrafficSpec | null): Promise<ModelRoute> => {
      throw new KilnError('INVALID_ARGUMENT', `model '${name}' is served from fixed versions; its traffic cannot change`);
    },
    onEvent: (l) => { listeners.add(l); return () => listeners.delete(l); },
    close: async () => {
      for (const r of byName.values()) for (const v of [r.primary, r.challenger?.live]) if (v) await retireLive(v);
    },
  };
}
