import { KilnError } from '../core/errors.js';

/** Repeated --filter COLUMN=VALUE (COLUMN=A|B for any of several values) as a filters object. */
export function parseFilters(list: string[]): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i <= 0) throw new KilnError('USAGE', `--filter '${item}': expected COLUMN=VALUE (or COLUMN=A|B)`, { path: ['filter'] });
    const vals = item.slice(i + 1).split('|');
    f[item.slice(0, i)] = vals.length > 1 ? vals : vals[0];
  }
  return f;
}

/** Commander's collector of a repeatable option. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];
