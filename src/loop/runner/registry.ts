import { KilnError } from '../../core/errors.js';
import { checkLoopDef } from './execute.js';
import type { LoopDef } from './types.js';

/**
 * The loops this process knows by name: what `kiln worker` executes. kiln's own loops register here;
 * `kiln worker --loops-module FILE` imports a module that registers more (or exports them as `loops`).
 */

const LOOPS = new Map<string, LoopDef>();

/** Adds a loop; registering the same definition again is a no-op, another one under a taken name is refused. */
export function registerLoop(def: LoopDef): void {
  checkLoopDef(def);
  const had = LOOPS.get(def.name);
  if (had && had !== def) throw new KilnError('INVALID_ARGUMENT', `a loop named '${def.name}' is already registered; give the new one another name`);
  LOOPS.set(def.name, def);
}

/** The registered loops, by name. */
export function registeredLoops(): Record<string, LoopDef> {
  return Object.fromEntries(LOOPS);
}

/**
 * Registers the loops a module defines: its exported `loops` (or default export), a list of LoopDef or a
 * function of `env` (e.g. `{ project }`, so that steps can use the worker's open project) returning one;
 * the module may also call registerLoop itself.
 */
export async function loadLoopsModule(url: string, env?: unknown): Promise<string[]> {
  const mod = (await import(url)) as { loops?: unknown; default?: unknown };
  const exported = mod.loops ?? mod.default;
  const list = typeof exported === 'function' ? await (exported as (env: unknown) => unknown)(env) : exported;
  if (list !== undefined) {
    if (!Array.isArray(list)) throw new KilnError('INVALID_ARGUMENT', `${url}: \`loops\` (or the default export) must be an array of loop definitions, or a function returning one`);
    for (const def of list as LoopDef[]) registerLoop(def);
  }
  return [...LOOPS.keys()];
}
