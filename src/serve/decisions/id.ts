/**
 * Decision ids: 26 characters of Crockford base32, like a ULID. The first 10 encode the 48-bit time in
 * ms, the last 16 an 80-bit number drawn at random for each new ms and incremented by one for every
 * further id in the same ms (or while the clock stands still or steps back), so that ids are strictly
 * increasing within a process and sorting ids sorts by time. The random start makes ids of different
 * processes distinct without coordination (ids are identifiers, not a modelling process: no seed).
 */
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DECODE = new Map([...ALPHABET].map((c, i) => [c, i]));
/** The shape of an id: what a reader or the CLI checks before using one. */
export const DECISION_ID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const MAX_TIME = 2 ** 48 - 1;
const HALF = 2 ** 40;

let lastMs = -1;
// The 80-bit counter as two 40-bit halves (exact in a double).
let hi = 0;
let lo = 0;
/** Random bytes drawn 4 KiB at a time (one system call per ~400 ids: a call per id cost ~15 µs under load). */
const pool = new Uint8Array(4096);
let poolAt = pool.length;

/** The 80-bit number in 10 fresh random bytes of the pool, as two 40-bit halves. */
function random80(): [number, number] {
  if (poolAt + 10 > pool.length) { randomFillSync(pool); poolAt = 0; }
  const r = pool;
  const o = poolAt;
  poolAt += 10;
  return [r[o]! * 2 ** 32 + r[o + 1]! * 2 ** 24 + r[o + 2]! * 2 ** 16 + r[o + 3]! * 2 ** 8 + r[o + 4]!,
    r[o + 5]! * 2 ** 32 + r[o + 6]! * 2 ** 24 + r[o + 7]! * 2 ** 16 + r[o + 8]! * 2 ** 8 + r[o + 9]!];
}

function encode(value: number, chars: number): string {
  let out = '';
  for (let i = 0; i < chars; i++) {
    out = ALPHABET[value % 32]! + out;
    value = Math.floor(value / 32);
  }
  return out;
}

/** A new decision id: time-ordered, unique across processes, strictly increasing within this one. */
export function newDecisionId(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = Math.min(now, MAX_TIME);
    [hi, lo] = random80();
  } else if (++lo === HALF) {
    lo = 0;
    if (++hi === HALF) { hi = 0; lastMs++; } // 2^80 ids in one ms: move to the next ms
  }
  return encode(lastMs, 10) + encode(hi, 8) + encode(lo, 8);
}

/**
 * An id for a decision made at `ms` (a simulated or replayed decision), random within that ms and
 * independent of this process's counter: `newDecisionId(ms)` after ids of a later time would carry the
 * later time (ids never step back within a process), and a reader's time range would miss the decision.
 */
export function decisionIdAt(ms: number): string {
  const [h, l] = random80();
  return encode(Math.max(0, Math.min(Math.floor(ms), MAX_TIME)), 10) + encode(h, 8) + encode(l, 8);
}

/** The time (ms since the epoch) an id was made at. */
export function decisionIdTime(id: string): number {
  let t = 0;
  for (let i = 0; i < 10; i++) t = t * 32 + (DECODE.get(id[i]!) ?? 0);
  return t;
}

/** The smallest id of a ms: ids made at or after `ms` sort at or after it. */
export function decisionIdFloor(ms: number): string {
  return `${encode(Math.max(0, Math.min(Math.floor(ms), MAX_TIME)), 10)}${'0'.repeat(16)}`;
}
