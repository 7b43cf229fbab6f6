/**
 * Allocation that V8 never pretenures: objects on paths shared by long-lived and short-lived uses are made
 * with these, not literals (why, and the measurements: docs/performance-notes.md, Pretenuring).
 */

/** An empty plain object (prototype Object.prototype: prints and compares as a literal would). */
export function record<T extends object = Record<string, unknown>>(): T {
  return Object.create(Object.prototype) as T;
}

/** An empty array. */
export function list<T>(): T[] {
  return new Array<T>();
}
