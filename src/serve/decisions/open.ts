/** Opening the decision log for writing: options checked, the writer's lock taken, a crash's leftovers found. */
import { mkdir } from 'node:fs/promises';
import { KilnError } from '../../core/errors.js';
import { lockWriter } from './lock.js';
import type { DecisionLogRef } from './reader.js';
import { openPgDecisionLog } from './pg.js';
import { cutZeros, listSegments, readSegmentText, type TornLine } from './segments.js';
import { fail, Writer, type DecisionLog, type DecisionLogOptions } from './writer.js';

/**
 * Opens the decision log in `dir` (`<dataDir>/decisions`) for writing: takes its lock (a second writer
 * is refused; a dead one's lock is taken over) and reports a torn last line left by a crash.
 */
export async function openDecisionLog(dir: DecisionLogRef, opts: DecisionLogOptions = {}): Promise<DecisionLog> {
  if (typeof dir !== 'string') return openPgDecisionLog(dir, opts);
  const durability = opts.durability ?? 'durable';
  if (durability !== 'durable' && durability !== 'buffered') {
    throw new KilnError('CONFIG_INVALID', `decision log durability ${JSON.stringify(durability)}: expected 'durable' or 'buffered'`, { path: ['durability'] });
  }
  for (const [k, v, min] of [['flushMs', opts.flushMs, 1], ['segmentBytes', opts.segmentBytes, 1], ['maxQueuedBytes', opts.maxQueuedBytes, 1]] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v >= min)) throw new KilnError('CONFIG_INVALID', `decision log ${k} ${v}: expected a number >= ${min}`, { path: [k] });
  }
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw fail(`cannot create the decision log folder ${dir}: ${(e as Error).message}`, e, dir);
  }
  const lock = await lockWriter(dir);
  try {
    const recovered: TornLine[] = [];
    for (const name of (await listSegments(dir)).slice(-2)) {
      const seg = await readSegmentText(dir, name);
      if (seg?.torn) recovered.push(seg.torn);
      // A writer that died left zeros ahead of its last record: no reader needs them.
      if (seg && seg.zerosAt >= 0) await cutZeros(dir, name, seg.zerosAt);
    }
    return new Writer(dir, durability, opts, lock, recovered);
  } catch (e) {
    await lock.release();
    throw e;
  }
}
