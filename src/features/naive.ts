/**
 * The reference evaluator: for every spine row and feature, scan the entity's events one by one, keep the
 * visible ones and fold them with the operator's algebra. Quadratic and obviously right; the DuckDB
 * compiler (and later the online engine) is tested against it.
 */
import { parseTime } from '../core/time.js';
import { aggregatorOf, type Observation } from './aggregators.js';
import { evaluateExpr } from './derived.js';
import { loadFeatureRegistry, resolveSelection, type FeatureRegistry, type ResolvedFeature } from './registry.js';
import type { AggregateFeatureSpec, Scalar, SourceSpec } from './spec.js';
import { conditionHolds } from './where.js';
import { parseWindow } from './window.js';

/** A timestamp: epoch microseconds (number), a Date, or an ISO string with Z. */
export type TimeInput = number | Date | string;
export type EventRow = Readonly<Record<string, Scalar | Date>>;
export interface SpinePoint {
  readonly key: string | number;
  readonly time: TimeInput;
}
/** 'strict' (default): events in [t − w, t) available before t; 'inclusive': events in (t − w, t] available by t. */
export type EventTimeBound = 'strict' | 'inclusive';

export function toMicros(t: TimeInput | null | undefined): number | null {
  if (t === null || t === undefined) return null;
  if (typeof t === 'number') return t;
  if (t instanceof Date) return t.getTime() * 1000;
  const p = parseTime(t); // core's UTC parser: text in UTC, to the microsecond
  return 'us' in p ? p.us : null;
}

/**
 * Feature values for each spine point, by brute force.
 * @param defs the config's definitions (or a registry built from them)
 * @param events rows per source name; timestamp columns as epoch µs, Date or ISO strings
 * @returns one object per spine point: every output column of the selected features
 */
export function naiveEvaluate(
  defs: readonly unknown[] | FeatureRegistry,
  events: Readonly<Record<string, readonly EventRow[]>>,
  spine: readonly SpinePoint[],
  opts: { features?: string | readonly string[]; eventTimeBound?: EventTimeBound } = {},
): Record<string, unknown>[] {
  const registry = Array.isArray(defs) ? loadFeatureRegistry(defs) : (defs as FeatureRegistry);
  const selection = opts.features ?? [...registry.features.keys()];
  const { features, selected } = resolveSelection(registry, selection);
  const bound = opts.eventTimeBound ?? 'strict';
  const bySource = new Map<string, Map<Scalar, EventRow[]>>();
  const eventsOf = (src: SourceSpec, key: Scalar): readonly EventRow[] => {
    let idx = bySource.get(src.name);
    if (!idx) {
      idx = new Map();
      for (const e of events[src.name] ?? []) {
        const k = e[src.key] as Scalar;
        if (k === null || k === undefined) continue;
        const list = idx.get(k) ?? [];
        list.push(e);
        idx.set(k, list);
      }
      bySource.set(src.name, idx);
    }
    return idx.get(key) ?? [];
  };

  return spine.map((point) => {
    const at = toMicros(point.time)!;
    const row: Record<string, unknown> = {};
    for (const f of features) {
      if (f.spec.type === 'aggregate') {
        const evs = eventsOf(f.source!, point.key);
        for (const o of f.outputs) row[o.column] = aggregateAt(f, f.spec, evs, at, o.bucket, bound);
      } else {
        row[f.name] = evaluateExpr(f.spec.expr, (ref, bucket) => {
          const dep = registry.features.get(ref)!;
          const col = bucket === undefined ? ref : dep.outputs.find((o) => o.bucket === bucket)!.column;
          const v = row[col];
          return typeof v === 'number' ? v : null;
        });
      }
    }
    for (const f of features) if (!selected.has(f.name)) for (const o of f.outputs) delete row[o.column];
    return row;
  });
}

function aggregateAt(f: ResolvedFeature, spec: AggregateFeatureSpec, evs: readonly EventRow[], at: number, bucket: string | number | null, bound: EventTimeBound): unknown {
  const src = f.source!;
  const parsed = parseWindow(spec.window);
  const w = 'seconds' in parsed && parsed.seconds !== null ? parsed.seconds * 1e6 : null;
  const agg = aggregatorOf(spec.op)!.create(spec.params);
  let state = agg.empty();
  const strict = bound === 'strict';
  for (const e of evs) {
    const ts = toMicros(e[src.timestamp] as TimeInput | null);
    if (ts === null) continue;
    // strict <: an event at exactly the spine time is the outcome, not history.
    if (strict ? ts >= at : ts > at) continue;
    if (w !== null && (strict ? ts < at - w : ts <= at - w)) continue;
    if (src.availableAt !== null) {
      const av = toMicros(e[src.availableAt] as TimeInput | null);
      if (av !== null && (strict ? av >= at : av > at)) continue;
    }
    if (!spec.where.every((c) => conditionHolds(c, e[c.column] as Scalar))) continue;
    if (bucket !== null && e[spec.by!.column] !== bucket) continue;
    const fields = spec.params.fields ? Object.fromEntries(spec.params.fields.map((c) => [c, scalar(e[c])])) : undefined;
    const obs: Observation = {
      time: ts, tie: src.tiebreak === null ? null : scalar(e[src.tiebreak]), value: spec.column === null ? null : scalar(e[spec.column]),
      ...(fields ? { fields } : {}),
    };
    state = agg.add(state, obs);
  }
  return agg.finish(state, { at });
}

function scalar(v: Scalar | Date | undefined): Scalar {
  if (v === undefined) return null;
  return v instanceof Date ? v.getTime() * 1000 : v;
}
