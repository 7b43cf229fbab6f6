/**
 * The online plan: what the store keeps per source. Features become *slots* (one aggregator state per
 * distinct operator, column, filter, bucket and parameters: `spend_7d` and `spend_30d` share one slot)
 * read over *windows*. Tiles hold one state per slot; windows only matter when reading. Everything here
 * comes from the feature registry and the aggregator registry; nothing branches on operator names.
 */
import { createHash } from 'node:crypto';
import { KilnError } from '../../core/errors.js';
import { record } from '../../core/young.js';
import { aggregatorOf, observation, type Aggregator, type Observation } from '../../features/index.js';
import { resolveSelection, type FeatureRegistry, type ResolvedFeature } from '../../features/index.js';
import type { AggregateFeatureSpec, EntitySpec, Expr, Scalar, SourceSpec } from '../../features/index.js';
import { canonicalJson, columnsRead, withoutMeta } from '../../features/index.js';
import { conditionHolds } from '../../features/index.js';
import { parseWindow } from '../../features/index.js';
import { isoMicros } from '../../core/time.js';
import { slotsTileCodec } from '../codec.js';
import { HOUR_US, MINUTE_US, SECOND_US, TILE_LEVELS, type RawEvent, type TileCodec } from '../types.js';

/** Part of every plan hash: bump when tiles are laid out or filled differently. */
export const ONLINE_FORMAT = 'kiln.online@3';

export type EventValues = Readonly<Record<string, Scalar>>;

export interface SlotPlan {
  readonly key: string;
  readonly agg: Aggregator<Observation, unknown, unknown>;
  /** The feature's where conditions and bucket. */
  readonly accepts: (v: EventValues) => boolean;
  /** Index into the source's observation shapes. */
  readonly shape: number;
}

/** What an aggregator sees of an event: the value column and last-k fields. */
export interface ObservationShape {
  readonly column: string | null;
  readonly fields: readonly string[] | null;
}

export interface WindowPlan {
  /** '7d', '90m', 'lifetime'. */
  readonly name: string;
  /** Length in µs; null for lifetime. */
  readonly us: number | null;
  /** Cached partial aggregates are keyed by floor(t / grain); the largest of 1h, 1m, 1s dividing the window. */
  readonly grain: number;
  readonly slots: readonly number[];
}

/** How an output is finished: a slot's state, finished by the feature's own aggregator (its finish-only parameters). */
export interface ViewPlan {
  readonly slot: number;
  readonly agg: Aggregator<Observation, unknown, unknown>;
}

export interface SourcePlan {
  readonly source: SourceSpec;
  readonly slots: readonly SlotPlan[];
  /** Finishers: one per distinct (slot, parameters); p50 and p90 of one column share a slot, not a view. */
  readonly views: readonly ViewPlan[];
  readonly shapes: readonly ObservationShape[];
  /** Finite windows by length, then lifetime. */
  readonly windows: readonly WindowPlan[];
  /** Slots read over the lifetime window: the only ones the base keeps. */
  readonly baseSlots: readonly number[];
  /** Longest finite window in µs (0 when there is none): raw events are kept that far back. */
  readonly longestUs: number;
  /** Columns kept in raw events. */
  readonly columns: readonly string[];
  readonly hash: string;
}

/** Where a feature output column is read from. */
export interface OutputRef {
  readonly column: string;
  readonly source: string;
  readonly window: number;
  readonly slot: number;
  readonly view: number;
}

export interface OnlinePlan {
  readonly registry: FeatureRegistry;
  /** The features the store serves (derived features' inputs included), in dependency order. */
  readonly features: ReadonlyMap<string, ResolvedFeature>;
  /** The selection the plan was built from, as given. */
  readonly selection: readonly string[];
  readonly sources: ReadonlyMap<string, SourcePlan>;
  readonly outputs: ReadonlyMap<string, OutputRef>;
}

function grainOf(us: number | null): number {
  if (us === null || us % HOUR_US === 0) return HOUR_US;
  return us % MINUTE_US === 0 ? MINUTE_US : SECOND_US;
}

function windowUs(spec: AggregateFeatureSpec): number | null {
  const w = parseWindow(spec.window);
  return 'seconds' in w && w.seconds !== null ? w.seconds * SECOND_US : null;
}

const ALWAYS = (): boolean => true;

// Indexed loops: this runs for every slot of every pushed event.
function acceptor(spec: AggregateFeatureSpec, bucket: string | number | null): (v: EventValues) => boolean {
  const conds = spec.where;
  const byColumn = spec.by?.column ?? null;
  if (conds.length === 0 && byColumn === null) return ALWAYS;
  return (v) => {
    for (let i = 0; i < conds.length; i++) { const c = conds[i]!; if (!conditionHolds(c, v[c.column])) return false; }
    return byColumn === null || v[byColumn] === bucket;
  };
}

/** The parameters a feature's state depends on: all but its operator's finish-only ones. */
function stateParams(spec: AggregateFeatureSpec): AggregateFeatureSpec['params'] {
  const finishOnly = aggregatorOf(spec.op)!.finishParams ?? [];
  if (finishOnly.length === 0) return spec.params;
  return Object.fromEntries(Object.entries(spec.params).filter(([k]) => !(finishOnly as readonly string[]).includes(k))) as AggregateFeatureSpec['params'];
}

/** Builds the plan for a selection of features (default: every feature of the registry). */
export function buildPlan(registry: FeatureRegistry, selection?: string | readonly string[]): OnlinePlan {
  const names = selection === undefined ? [...registry.features.keys()] : typeof selection === 'string' ? [selection] : [...selection];
  if (names.length === 0) throw new KilnError('INVALID_ARGUMENT', 'the online store has no features to serve: declare features in the config (or name some with --features)');
  const { features } = resolveSelection(registry, names);
  const bySource = new Map<string, {
    source: SourceSpec; slots: Map<string, { spec: AggregateFeatureSpec; bucket: string | number | null }>; views: Map<string, { slotKey: string; spec: AggregateFeatureSpec }>;
    windows: Map<string, number | null>;
  }>();
  const uses: { feature: ResolvedFeature; column: string; slotKey: string; viewKey: string; window: string }[] = [];
  for (const f of features) {
    if (f.spec.type !== 'aggregate') continue;
    const spec = f.spec;
    const src = f.source!;
    const entry = bySource.get(src.name) ?? { source: src, slots: new Map(), views: new Map(), windows: new Map() };
    bySource.set(src.name, entry);
    entry.windows.set(spec.window, windowUs(spec));
    for (const o of f.outputs) {
      const slotKey = canonicalJson({ op: spec.op, column: spec.column, where: spec.where, by: o.bucket === null ? null : { column: spec.by!.column, value: o.bucket }, params: stateParams(spec) });
      const viewKey = canonicalJson({ slotKey, params: spec.params });
      if (!entry.slots.has(slotKey)) entry.slots.set(slotKey, { spec, bucket: o.bucket });
      entry.views.set(viewKey, { slotKey, spec });
      uses.push({ feature: f, column: o.column, slotKey, viewKey, window: spec.window });
    }
  }
  const sources = new Map<string, SourcePlan>();
  const outputs = new Map<string, OutputRef>();
  for (const [name, entry] of bySource) {
    const keys = [...entry.slots.keys()].sort();
    const shapes: ObservationShape[] = [];
    const shapeIndex = new Map<string, number>();
    const columns = new Set<string>(entry.source.tiebreak === null ? [] : [entry.source.tiebreak]);
    const slots = keys.map((key): SlotPlan => {
      const { spec, bucket } = entry.slots.get(key)!;
      for (const c of columnsRead(spec)) columns.add(c);
      const shape: ObservationShape = { column: spec.column, fields: spec.params.fields ? [...spec.params.fields] : null };
      const sk = canonicalJson(shape);
      if (!shapeIndex.has(sk)) { shapeIndex.set(sk, shapes.length); shapes.push(shape); }
      return { key, agg: aggregatorOf(spec.op)!.create(spec.params), accepts: acceptor(spec, bucket), shape: shapeIndex.get(sk)! };
    });
    const slotOf = new Map(keys.map((k, i) => [k, i]));
    const viewKeys = [...entry.views.keys()].sort();
    const viewOf = new Map(viewKeys.map((k, i) => [k, i]));
    const views = viewKeys.map((k): ViewPlan => {
      const { slotKey, spec } = entry.views.get(k)!;
      return { slot: slotOf.get(slotKey)!, agg: aggregatorOf(spec.op)!.create(spec.params) };
    });
    const windowNames = [...entry.windows.entries()].sort(([, a], [, b]) => (a ?? Infinity) - (b ?? Infinity)).map(([w]) => w);
    const windows = windowNames.map((w): WindowPlan => {
      const us = entry.windows.get(w)!;
      const used = new Set(uses.filter((u) => u.feature.source!.name === name && u.window === w).map((u) => slotOf.get(u.slotKey)!));
      return { name: w, us, grain: grainOf(us), slots: [...used].sort((a, b) => a - b) };
    });
    const finite = windows.filter((w) => w.us !== null).map((w) => w.us!);
    const hash = createHash('sha256').update(canonicalJson({ format: ONLINE_FORMAT, levels: TILE_LEVELS, source: withoutMeta(entry.source), slots: keys })).digest('hex').slice(0, 16);
    sources.set(name, {
      source: entry.source, slots, views, shapes, windows, hash,
      baseSlots: windows.find((w) => w.us === null)?.slots ?? [],
      longestUs: finite.length ? Math.max(...finite) : 0,
      columns: [...columns].sort(),
    });
    for (const u of uses) {
      if (u.feature.source!.name !== name) continue;
      outputs.set(u.column, { column: u.column, source: name, window: windowNames.indexOf(u.window), slot: slotOf.get(u.slotKey)!, view: viewOf.get(u.viewKey)! });
    }
  }
  return { registry, features: new Map(features.map((f) => [f.name, f])), selection: names, sources, outputs };
}

/** What one read needs: the features in dependency order, the output columns, and per source the (window, slot) pairs. */
export interface ReadPlan {
  readonly entity: EntitySpec;
  readonly features: readonly ResolvedFeature[];
  readonly selected: ReadonlySet<string>;
  /** Output columns of the selected features, in selection order. */
  readonly columns: readonly string[];
  readonly sources: readonly { readonly plan: SourcePlan; readonly windows: readonly { readonly index: number; readonly views: readonly number[] }[] }[];
  /** Every value a read computes, in dependency order: an aggregate output (source, window, view) or a derived expression. */
  readonly cells: readonly ({ readonly source: number; readonly window: number; readonly view: number } | { readonly expr: Expr })[];
  /** Cell index of a feature (key: name) or of one bucket (key: name, NUL, bucket label). */
  readonly cellOf: ReadonlyMap<string, number>;
  /** Cells of `columns`, in order. */
  readonly outputCells: readonly number[];
  /** Builds a row from the entity id and the cells: one object literal with every column, compiled once per plan. */
  readonly row: (id: unknown, cells: readonly unknown[]) => Record<string, unknown>;
  /**
   * Output cells whose values are times (epoch µs inside the engine), with how to give them in the offline
   * training set's type: ISO 8601 text in UTC. Empty for most plans (the read path then does nothing).
   */
  readonly typed: readonly TypedCell[];
}

/** An output cell converted to the training set's type before the row is built (see `typedCells`). */
export interface TypedCell {
  readonly cell: number;
  readonly convert: (v: unknown) => unknown;
}

const isTimeType = (t: string | null | undefined): boolean => t === 'timestamp' || t === 'date';
/**
 * A time's ISO text, through a small direct-mapped cache: a read converts the same times again and again
 * (a cached entity's last-k), and formatting one costs ~0.5-1 µs against ~30 ns for a hit.
 */
const TEXT_SLOTS = 1024;
const textTimes = new Float64Array(TEXT_SLOTS).fill(NaN);
const textValues = new Array<string>(TEXT_SLOTS).fill('');
function timeText(v: unknown): unknown {
  if (typeof v !== 'number') return v;
  const h = Math.imul(v % 4294967296 | 0, 2654435761) >>> 22; // 10 bits: 1024 slots
  if (textTimes[h] === v) return textValues[h];
  const text = isoMicros(v);
  textTimes[h] = v;
  textValues[h] = text;
  return text;
}

/**
 * The output cells whose values are times: `first`/`last`/attributes of a timestamp or date column, and
 * every last-k list (its `ts`, and its timestamp or date fields). The offline training set gives these as
 * ISO 8601 text (`OfflineStore.all`); the engine keeps epoch µs, converted here, once per read.
 */
function typedCells(features: readonly ResolvedFeature[], byColumn: ReadonlyMap<string, number>): TypedCell[] {
  const out: TypedCell[] = [];
  for (const f of features) {
    if (f.spec.type !== 'aggregate' || !f.source) continue;
    let convert: ((v: unknown) => unknown) | null = null;
    if (f.outputKind === 'value' && isTimeType(f.valueType)) convert = timeText;
    else if (f.outputKind === 'list') {
      const columns = f.source.columns as Readonly<Record<string, string>>;
      const times = ((f.spec.params?.fields ?? []) as readonly string[]).filter((c) => isTimeType(columns[c]));
      // in place: last-k's finish builds fresh items per read (a memoised list is converted once: idempotent)
      convert = (v) => {
        if (!Array.isArray(v)) return v;
        for (let i = 0; i < v.length; i++) {
          const item = v[i] as Record<string, unknown>;
          item.ts = timeText(item.ts);
          for (let j = 0; j < times.length; j++) item[times[j]!] = timeText(item[times[j]!]);
        }
        return v;
      };
    }
    if (convert) for (const o of f.outputs) { const cell = byColumn.get(o.column); if (cell !== undefined) out.push({ cell, convert }); }
  }
  return out;
}

/**
 * A row builder for fixed columns. A 250-column row built key by key falls into dictionary mode (about
 * 20 KB, and slow to make); a constructor compiled for the columns keeps fast properties (about 2 KB), as an
 * object literal would, at half its cost, and is never pretenured (see docs/performance-notes.md). Its prototype is Object.prototype, so rows print and
 * compare as plain objects. The columns are JSON-quoted, never evaluated.
 */
function rowBuilder(key: string, columns: readonly string[], cells: readonly number[]): ReadPlan['row'] {
  const names = [key, ...columns];
  if (names.includes('__proto__') || new Set(names).size !== names.length) {
    return (id, values) => {
      const row: Record<string, unknown> = { [key]: id };
      columns.forEach((c, i) => { row[c] = values[cells[i]!]; });
      return row;
    };
  }
  // Past V8's limit of fast properties (1,020) a compiled constructor turns into a dictionary half way through
  // every row: at 1,819 columns ~5 ms a row, against ~0.3 ms for a plain loop.
  if (names.length > 1000) {
    return (id, values) => { const row = record<Record<string, unknown>>(); row[key] = id; for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[cells[i]!]; return row; };
  }
  const body = [`this[${JSON.stringify(key)}] = id;`, ...columns.map((c, i) => `this[${JSON.stringify(c)}] = v[${cells[i]!}];`)].join('\n');
  const Row = new Function('id', 'v', body) as unknown as { new (id: unknown, v: readonly unknown[]): Record<string, unknown>; prototype: object };
  Row.prototype = Object.prototype;
  return (id, v) => new Row(id, v);
}

/** The cellOf key of a feature or one of its buckets. */
export const cellKey = (ref: string, bucket?: string | number): string => (bucket === undefined ? ref : `${ref}\u0000${typeof bucket}:${String(bucket)}`);

/** Resolves the features a read asks for against what the store serves. */
export function readPlanOf(plan: OnlinePlan, names: readonly string[]): ReadPlan {
  const { features, selected } = resolveSelection(plan.registry, names);
  const missing = features.filter((f) => !plan.features.has(f.name)).map((f) => f.name);
  if (missing.length) {
    throw new KilnError('FEATURE_NOT_SERVED', `feature(s) ${missing.map((m) => `'${m}'`).join(', ')} are not served by this online store (it serves ${plan.selection.join(', ')}); materialize with --features including them`, { details: { missing } });
  }
  const entities = [...new Set(features.map((f) => f.entity.name))];
  if (entities.length !== 1) throw new KilnError('INVALID_ARGUMENT', `the requested features describe several entities (${entities.join(', ')}); read features of one entity per call`);
  const needs = new Map<string, Map<number, Set<number>>>();
  for (const f of features) {
    for (const o of f.spec.type === 'aggregate' ? f.outputs : []) {
      const ref = plan.outputs.get(o.column)!;
      const byWindow = needs.get(ref.source) ?? new Map<number, Set<number>>();
      needs.set(ref.source, byWindow);
      const views = byWindow.get(ref.window) ?? new Set<number>();
      byWindow.set(ref.window, views.add(ref.view));
    }
  }
  const sourceNames = [...needs.keys()];
  const cells: ReadPlan['cells'][number][] = [];
  const cellOf = new Map<string, number>();
  const byColumn = new Map<string, number>();
  for (const f of features) {
    if (f.spec.type === 'aggregate') {
      for (const o of f.outputs) {
        const ref = plan.outputs.get(o.column)!;
        byColumn.set(o.column, cells.length);
        cellOf.set(cellKey(f.name, o.bucket ?? undefined), cells.length);
        cells.push({ source: sourceNames.indexOf(ref.source), window: ref.window, view: ref.view });
      }
    } else {
      byColumn.set(f.name, cells.length);
      cellOf.set(f.name, cells.length);
      cells.push({ expr: f.spec.expr });
    }
  }
  const columns = features.filter((f) => selected.has(f.name)).flatMap((f) => f.outputs.map((o) => o.column));
  return {
    entity: features[0]!.entity,
    features,
    selected,
    columns,
    sources: sourceNames.map((name) => ({
      plan: plan.sources.get(name)!,
      windows: [...needs.get(name)!].sort(([a], [b]) => a - b).map(([index, views]) => ({ index, views: [...views].sort((a, b) => a - b) })),
    })),
    cells,
    cellOf,
    outputCells: columns.map((c) => byColumn.get(c)!),
    row: rowBuilder(features[0]!.entity.key, columns, columns.map((c) => byColumn.get(c)!)),
    typed: typedCells(features.filter((f) => selected.has(f.name)), byColumn),
  };
}

/** The observations of one event, one per shape of the source (built once, shared by the slots). */
export function observations(sp: SourcePlan, ev: RawEvent): Observation[] {
  const tb = sp.source.tiebreak;
  const tie = tb === null ? null : ev.values[tb] ?? null;
  const out: Observation[] = new Array(sp.shapes.length);
  for (let i = 0; i < sp.shapes.length; i++) {
    const sh = sp.shapes[i]!;
    const value = sh.column === null ? null : ev.values[sh.column] ?? null;
    if (sh.fields === null) { out[i] = observation(ev.time, tie, value); continue; }
    const fields = record<Record<string, Scalar>>(); // not literals: see docs/performance-notes.md
    for (const c of sh.fields) fields[c] = ev.values[c] ?? null;
    out[i] = observation(ev.time, tie, value, fields);
  }
  return out;
}

/** Folds one event into the states of the given slots (those whose filter it passes). */
export function foldEvent(sp: SourcePlan, states: unknown[], slots: readonly number[], ev: RawEvent, obs?: Observation[]): void {
  let o = obs;
  for (let k = 0; k < slots.length; k++) {
    const i = slots[k]!;
    const slot = sp.slots[i]!;
    if (!slot.accepts(ev.values)) continue;
    o ??= observations(sp, ev);
    states[i] = slot.agg.add(states[i] ?? slot.agg.empty(), o[slot.shape]!);
  }
}

/**
 * Owned empty states for the given slots; null elsewhere. In stored tiles and bases a null state means
 * empty (most slots of a tile see no event: a bucket, a filter), and merging the identity is skipped.
 */
export function emptyStates(sp: SourcePlan, only: readonly number[]): unknown[] {
  const out: unknown[] = sp.slots.map(() => null);
  for (let k = 0; k < only.length; k++) out[only[k]!] = sp.slots[only[k]!]!.agg.empty();
  return out;
}

/** Merges a stored state (null: empty) into an owned one. */
export function mergeStored(sp: SourcePlan, i: number, into: unknown, stored: unknown): unknown {
  return stored === null || stored === undefined ? into : sp.slots[i]!.agg.merge(into ?? sp.slots[i]!.agg.empty(), stored);
}

/** The plan's tile codec: each slot's state in its aggregator's compact form (see codec.ts). */
export function tileCodecOf(sp: SourcePlan): TileCodec {
  return slotsTileCodec(sp.slots.map((slot) => slot.agg));
}
