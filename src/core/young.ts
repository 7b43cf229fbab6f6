/**
 * Allocation that V8 never pretenures. V8 (Node 20) moves an object or array *literal* site to the old
 * generation once most of its objects have survived a young-generation collection: the states and
 * observations a backfill keeps in tiles, the memo of a cached read. The same site then puts every later
 * object in the old generation, short-lived ones too; they die there unnoticed until a full collection,
 * and every young object they point to (parsed events, strings, arrays' backing stores) is copied and
 * promoted by each scavenge meanwhile. Measured on the online read path: ~0.4 MB promoted per scavenge
 * and scavenges twice as long, gone with these. `new` of a class, `new Array(n)`, `Object.create` and
 * builtins such as `map` or `slice` never pretenure, so objects built on paths shared by long-lived and
 * short-lived uses (aggregator states, observations, per-read records) are made with them.
 */

/** An empty plain object (prototype Object.prototype: prints and compares as a literal would). */
export function record<T extends object = Record<string, unknown>>(): T {
  return Object.create(Object.prototype) as T;
}

/** An empty array. */
export function list<T>(): T[] {
  return new Array<T>();
}
