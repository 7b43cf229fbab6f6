/**
 * The tile arithmetic: covering a time range with whole tiles plus raw edges. Times are epoch microseconds,
 * UTC (parsed by src/core/time.ts).
 */
import { TILE_LEVELS, type TileRange, type TimeRange } from '../types.js';

// Times are parsed by the one UTC parser in core (src/core/time.ts).
export { isoMicros, parseTime, timeUs, type ParsedTime } from '../../core/time.js';

/** Whole tiles and raw edges that exactly cover [from, to). */
export interface Cover {
  readonly tiles: TileRange[];
  readonly raw: TimeRange[];
}

/**
 * Covers [from, to) with the coarsest whole tiles that fit, recursing to finer levels at the edges; what
 * no day tile fits is left to raw events. A coarse tile exists once its period has ended by `coarseTo`
 * (sealed; null: none is), so each coarse level is used only below `coarseTo` floored to its width.
 * `maxLevel` caps the levels used (the ends of a span a middle state stands for); `out` is appended to.
 */
export function cover(from: number, to: number, coarseTo: number | null, maxLevel = TILE_LEVELS.length - 1, out: Cover = { tiles: [], raw: [] }): Cover {
  coverFrom(from, to, out, maxLevel, coarseTo ?? -Infinity);
  return out;
}

function coverFrom(from: number, to: number, out: Cover, level: number, coarseTo: number): void {
  if (from >= to) return;
  if (level < 0) { out.raw.push([from, to]); return; }
  const g = TILE_LEVELS[level]!;
  const a = Math.ceil(from / g);
  const b = Math.floor((level === 0 ? to : Math.min(to, coarseTo)) / g);
  if (a >= b) { coverFrom(from, to, out, level - 1, coarseTo); return; }
  coverFrom(from, a * g, out, level - 1, coarseTo);
  out.tiles.push({ level, from: a, to: b });
  coverFrom(b * g, to, out, level - 1, coarseTo);
}

/** Merges tile ranges of the same level that overlap or touch, so a backend fetches each tile once. */
export function unionTileRanges(ranges: readonly TileRange[]): TileRange[] {
  const out: TileRange[] = [];
  const sorted = [...ranges].sort((x, y) => x.level - y.level || x.from - y.from);
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.level === r.level && r.from <= last.to) out[out.length - 1] = { level: r.level, from: last.from, to: Math.max(last.to, r.to) };
    else out.push(r);
  }
  return out;
}
