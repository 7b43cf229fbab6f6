/**
 * Logged impressions as ranker rows: what a user was shown (a slate: the items of one request) and
 * which of them they took. Each slate is one query group, label 1 for a taken item and 0 for one shown
 * and passed over: the negatives held-out interactions cannot give. Features come from generators fitted
 * on the interactions before the first impression, so no clicked item is already among the user's
 * training items; items the user had before are dropped from the slate (serving never shows them).
 */
import { KilnError } from '../core/errors.js';
import type { FeatureBuilder } from './features.js';
import type { RankingRows } from './ranker-rows.js';
import { subsetInteractions, throwIssues, type InteractionTable, type Issue } from './table.js';

export interface ImpressionLog {
  users: Int32Array;
  items: Int32Array;
  /** 1 where the item was taken (clicked, bought), 0 where it was only shown. */
  clicked: Float32Array;
  /** When it was shown, in the interactions' time unit. */
  times: Float64Array;
  /** Rows of one slate share an id; without, each (user, time) is a slate. */
  slates?: Int32Array;
}

/** Checks the log against the id spaces; throws RECS_DATA_INVALID listing every problem. */
export function checkImpressions(log: ImpressionLog, nUsers: number, nItems: number): void {
  const issues: Issue[] = [];
  const n = log.users.length;
  for (const [f, a] of [['items', log.items], ['clicked', log.clicked], ['times', log.times], ['slates', log.slates]] as const) {
    if (a !== undefined && a.length !== n) issues.push({ path: ['impressions', f], message: `has ${a.length} rows; users has ${n}` });
  }
  if (n === 0) issues.push({ path: ['impressions'], message: 'has no rows' });
  const bad = (f: string, k: number, what: string): void => { issues.push({ path: ['impressions', f, k], message: what }); };
  for (let k = 0; k < n && issues.length < 5; k++) {
    if (!(log.users[k]! >= 0 && log.users[k]! < nUsers)) bad('users', k, `id ${log.users[k]} is outside 0..${nUsers - 1}`);
    if (!(log.items[k]! >= 0 && log.items[k]! < nItems)) bad('items', k, `id ${log.items[k]} is outside 0..${nItems - 1}`);
    if (!Number.isFinite(log.times[k]!)) bad('times', k, `is ${log.times[k]}; every impression needs a time`);
    if (!(log.clicked[k] === 0 || log.clicked[k] === 1)) bad('clicked', k, `is ${log.clicked[k]}; expected 0 or 1`);
  }
  throwIssues('RECS_DATA_INVALID', 'impressions', issues);
}

/** The interactions strictly before the first impression (what impression features may know). */
export function beforeImpressions(train: InteractionTable, log: ImpressionLog): InteractionTable {
  if (!train.times) throw new KilnError('RECS_DATA_INVALID', 'impressions need times on the interactions too (interactions.time): the ranker learns from them with generators fitted on what came before', { path: ['interactions', 'time'] });
  let first = Infinity;
  for (const t of log.times) first = Math.min(first, t);
  const rows: number[] = [];
  for (let k = 0; k < train.times.length; k++) if (train.times[k]! < first) rows.push(k);
  if (rows.length === 0) throw new KilnError('RECS_DATA_INVALID', `no interaction comes before the first impression (time ${first}); impressions must follow some of the interactions`, { path: ['impressions', 'times'] });
  return subsetInteractions(train, Int32Array.from(rows));
}

/** One query group per slate with a taken and a passed-over item; `fb` is built on beforeImpressions. */
export function impressionRows(fb: FeatureBuilder, log: ImpressionLog): RankingRows {
  const groups = new Map<string | number, number[]>();
  for (let k = 0; k < log.users.length; k++) {
    const key = log.slates ? log.slates[k]! : `${log.users[k]}:${log.times[k]}`;
    let g = groups.get(key);
    if (!g) { g = []; groups.set(key, g); }
    g.push(k);
  }
  const total = log.users.length;
  const cols = fb.names.map(() => new Float32Array(total));
  const label = new Float32Array(total);
  const sizes: number[] = [];
  const groupUser: number[] = [];
  let rows = 0;
  for (const [key, ks] of groups) {
    const u = log.users[ks[0]!]!;
    const took = new Map<number, number>();
    for (const k of ks) {
      if (log.users[k] !== u) throw new KilnError('RECS_DATA_INVALID', `impression slate '${key}' holds rows of two users (${u} and ${log.users[k]}); a slate is what one user was shown`, { path: ['impressions', 'slates'] });
      const i = log.items[k]!;
      if (fb.hasSeen(u, i)) continue;
      took.set(i, Math.max(took.get(i) ?? 0, log.clicked[k]!));
    }
    const items = Int32Array.from(took.keys());
    const pos = [...took.values()].reduce((s, v) => s + v, 0);
    if (pos === 0 || pos === items.length) continue;
    fb.score(u);
    fb.write(items, cols, rows);
    items.forEach((i, r) => { label[rows + r] = took.get(i)!; });
    rows += items.length;
    sizes.push(items.length);
    groupUser.push(u);
  }
  return { names: fb.names, categorical: fb.categorical, cols: cols.map((c) => c.slice(0, rows)), label: label.slice(0, rows), groups: sizes, groupUser, held: 0, found: 0 };
}
