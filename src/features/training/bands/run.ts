/**
 * Loads a source's events for the band kernel: the events of the spine's entities are read out of
 * DuckDB in entity ranges (sorted by entity and time, as doubles: one memcpy per column and chunk),
 * assigned to their groups as they arrive, and kept in typed arrays with each entity's range.
 */
import { readDoubles, type Project } from '../../../store/index.js';
import { quoteIdent } from '../sql-text.js';
import { assignGroups, groupLookup, type EventBatch, type Membership } from './kernel.js';
import type { BandPlan } from './plan.js';

/** Events read per query (about; a range holds whole entities). */
const RANGE_EVENTS = 2_000_000;

export interface LoadInput {
  readonly project: Project;
  readonly plan: BandPlan;
  /** Number of entity codes of the spine. */
  readonly keys: number;
  /** Temp table of (__k, __kid) the events join to. */
  readonly keysTable: string;
  /** SQL predicates over the source table (alias e) that prune events (time range). */
  readonly prune: readonly string[];
}

/** A growable array of doubles. */
class Doubles {
  data: Float64Array;
  n = 0;
  constructor(capacity = 1 << 16) { this.data = new Float64Array(capacity); }
  reserve(extra: number): void {
    if (this.n + extra <= this.data.length) return;
    const next = new Float64Array(Math.max(this.n + extra, this.data.length * 2));
    next.set(this.data.subarray(0, this.n));
    this.data = next;
  }
  view(): Float64Array { return this.data.subarray(0, this.n); }
}

/** A growable membership (CSR). */
class Members {
  start = new Int32Array(1 << 16);
  groups = new Int32Array(1 << 17);
  n = 0;
  k = 0;
  append(m: Membership, count: number): void {
    if (this.n + count + 1 > this.start.length) {
      const s = new Int32Array(Math.max(this.n + count + 1, this.start.length * 2));
      s.set(this.start.subarray(0, this.n));
      this.start = s;
    }
    const add = m.start[count]!;
    if (this.k + add > this.groups.length) {
      const g = new Int32Array(Math.max(this.k + add, this.groups.length * 2));
      g.set(this.groups.subarray(0, this.k));
      this.groups = g;
    }
    for (let i = 0; i < count; i++) this.start[this.n + i] = this.k + m.start[i]!;
    this.groups.set(m.groups, this.k);
    this.n += count;
    this.k += add;
    this.start[this.n] = this.k;
  }
  view(): Membership { return { start: this.start.subarray(0, this.n + 1), groups: this.groups.subarray(0, this.k) }; }
}

/** The source's events for the spine's entities: columns, membership and each entity's range. */
export interface LoadedEvents {
  readonly batch: EventBatch;
  readonly member: Membership;
  /** Events of entity code k are [offsets[k], offsets[k + 1]). */
  readonly offsets: Int32Array;
  readonly codes: number;
}

/** Reads the source's events for the spine's entities, in entity ranges, into typed arrays. */
export async function loadEvents(input: LoadInput): Promise<LoadedEvents> {
  const { project, plan } = input;
  const spine = { keys: input.keys };
  const src = plan.source;
  const store = project.offline;
  const con = await store.ready();
  const q = quoteIdent;
  const join = `${q(src.table)} e JOIN ${q(input.keysTable)} kk ON e.${q(src.key)} = kk.__k`;
  const [{ n: total } = { n: 0 }] = await store.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${join} WHERE ${[`e.${q(src.timestamp)} IS NOT NULL`, ...input.prune].join(' AND ')}`);
  const ranges = Math.max(1, Math.ceil(Number(total) / RANGE_EVENTS));
  const perRange = Math.ceil(spine.keys / ranges);
  const ts = `CAST(e.${q(src.timestamp)} AS TIMESTAMP)`;
  const select = [
    'kk.__kid', `epoch_us(${ts})::DOUBLE`,
    src.availableAt ? `epoch_us(CAST(e.${q(src.availableAt)} AS TIMESTAMP))::DOUBLE` : 'NULL::DOUBLE',
    ...plan.columns.map((c) => `(${c.sql})::DOUBLE`),
  ];
  // Flags and bucket codes only decide membership: they are not kept.
  const kept = plan.columns.map((c) => c.role === 'value' || c.role === 'code');
  const coded = new Map(plan.codedColumns.map((c) => [c, new Map<number, number>()]));
  // Sized once: the events these ranges read, counted by DuckDB.
  const tsCol = new Doubles(Number(total));
  const avCol = src.availableAt ? new Doubles(Number(total)) : null;
  const cols = plan.columns.map((_, c) => (kept[c] ? new Doubles(Number(total)) : null));
  const members = new Members();
  const lookup = groupLookup(plan);
  const offsets = new Int32Array(spine.keys + 2);
  const range = select.map(() => new Doubles());
  let lastKid = 0;
  /**
   * Appends a range's events in (entity, time) order: each kept column is permuted straight into its
   * place in the sized arrays (one copy); flags and bucket codes, needed only for membership, into scratch.
   */
  const append = (order: Int32Array): void => {
    const n = order.length;
    for (const g of [tsCol, avCol, ...cols]) g?.reserve(n);
    const base = tsCol.n;
    const kid = range[0]!.data;
    for (let i = 0; i < n; i++) {
      const k = kid[order[i]!]!;
      while (lastKid < k) offsets[++lastKid] = base + i;
    }
    const into = (c: number, dest: Doubles | null): Float64Array => {
      const out = dest ? dest.data.subarray(base, base + n) : new Float64Array(n);
      const src = range[c]!.data;
      for (let i = 0; i < n; i++) out[i] = src[order[i]!]!;
      return out;
    };
    const ts = into(1, tsCol);
    const av = into(2, avCol);
    const colsHere = plan.columns.map((_, c) => into(3 + c, cols[c] ?? null));
    for (const [c, map] of coded) {
      const col = colsHere[c]!;
      for (let i = 0; i < n; i++) {
        const v = col[i]!;
        if (v !== v) continue;
        let code = map.get(v);
        if (code === undefined) { code = map.size; map.set(v, code); }
        col[i] = code;
      }
    }
    members.append(assignGroups(plan, { ts, av, cols: colsHere, n }, lookup), n);
    for (const g of [tsCol, avCol, ...cols]) if (g) g.n += n;
  };
  for (let r = 0; r < ranges; r++) {
    const lo = r * perRange + 1;
    const hi = Math.min(spine.keys, (r + 1) * perRange);
    if (lo > hi) break;
    // The range's key bounds filter the scan before the join (entity codes follow the key order). Events
    // come in table order and are sorted here: cheaper than DuckDB's sort (see docs/features.md).
    const bound = (kid: number): string => `(SELECT __k FROM ${q(input.keysTable)} WHERE __kid = ${kid})`;
    const where = [`e.${q(src.key)} BETWEEN ${bound(lo)} AND ${bound(hi)}`, `kk.__kid BETWEEN ${lo} AND ${hi}`, `e.${q(src.timestamp)} IS NOT NULL`, ...input.prune];
    const result = await con.stream(`SELECT ${select.join(', ')} FROM ${join} WHERE ${where.join(' AND ')}`);
    for (const g of range) g.n = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      for (let c = 0; c < select.length; c++) {
        const g = range[c]!;
        g.reserve(chunk.rowCount);
        g.n += readDoubles(chunk, c, g.data, g.n);
      }
    }
    append(eventOrder(range[0]!.view(), range[1]!.view(), lo, hi));
  }
  const n = tsCol.n;
  while (lastKid < spine.keys + 1) offsets[++lastKid] = n;
  const empty = new Float64Array(0);
  const av = avCol ? avCol.view() : new Float64Array(n).fill(NaN);
  const batch: EventBatch = { ts: tsCol.view(), av, cols: cols.map((g) => (g ? g.view() : empty)), n };
  return { batch, member: members.view(), offsets, codes: Math.max(0, ...[...coded.values()].map((m) => m.size)) };
}

/**
 * The order of events by (entity code, time), stable: a counting sort by entity code (in [lo, hi]), then
 * each entity's events by time (skipped when already in order, as event logs usually are).
 */
export function eventOrder(kid: Float64Array, ts: Float64Array, lo: number, hi: number): Int32Array {
  const n = kid.length;
  const span = hi - lo + 1;
  const start = new Int32Array(span + 1);
  for (let i = 0; i < n; i++) start[kid[i]! - lo + 1]!++;
  for (let k = 0; k < span; k++) start[k + 1]! += start[k]!;
  const fill = start.slice(0, span);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[kid[i]! - lo]!++] = i;
  const byTime = (a: number, b: number): number => ts[a]! - ts[b]! || a - b;
  for (let k = 0; k < span; k++) {
    const a = start[k]!;
    const b = start[k + 1]!;
    let sorted = true;
    for (let i = a + 1; i < b && sorted; i++) sorted = ts[order[i - 1]!]! <= ts[order[i]!]!;
    if (!sorted) order.subarray(a, b).sort(byTime);
  }
  return order;
}
