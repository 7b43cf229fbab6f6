/**
 * Values made once per list of names (an online store's read plans, a route's served features). A caller
 * asking with the same array again (a server, per request) finds its value by the array itself, checked
 * name by name (the caller may have changed it since), without joining the names; other lists by their
 * joined names.
 */
export class NamesCache<T> {
  private readonly byKey = new Map<string, T>();
  private readonly byArray = new WeakMap<readonly string[], { readonly names: readonly string[]; readonly value: T }>();

  constructor(private readonly make: (names: readonly string[]) => T, private readonly maxKeys = 1000) {}

  get(names: readonly string[]): T {
    const hit = this.byArray.get(names);
    if (hit && sameNames(hit.names, names)) return hit.value;
    const k = names.join('\u0000');
    let value = this.byKey.get(k);
    if (value === undefined) {
      value = this.make(names);
      if (this.byKey.size > this.maxKeys) this.byKey.clear();
      this.byKey.set(k, value);
    }
    this.byArray.set(names, { names: [...names], value });
    return value;
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
