/**
 * The decision log on disk: a folder of append-only NDJSON segments, one record a line, each named by
 * the smallest id it may hold (`<id>.ndjson`), so that names sort by time. The writer keeps the ranges
 * apart: a record goes to the last segment named at or below its id, so segment k holds the ids in
 * [name(k), name(k+1)) and the time in an id names the one segment to read. A line is complete once its
 * newline is written; a final line without one is torn (a crash, or a write under way) and is skipped.
 * A segment being written ends in zeros (space written ahead); its text ends at the first zero byte. In
 * an older segment, bytes after a zero are damage and an error.
 */
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KilnError } from '../../core/errors.js';
import type { DecisionRecord } from '../types.js';
import { DECISION_ID_RE } from './id.js';

export const SEGMENT_EXT = '.ndjson';

/** A torn final line of a segment: skipped by readers, reported through `onTorn`. */
export interface TornLine {
  readonly file: string;
  /** Its line number (1-based). */
  readonly line: number;
  readonly bytes: number;
}

export function segmentFile(dir: string, name: string): string {
  return join(dir, `${name}${SEGMENT_EXT}`);
}

/** The segment names (their first ids) in the folder, in order; none when the folder does not exist yet. */
export async function listSegments(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new KilnError('DECISION_LOG_INVALID', `cannot list the decision log ${dir}: ${(e as Error).message}`, { path: [dir], cause: e });
  }
  return names
    .filter((n) => n.endsWith(SEGMENT_EXT) && DECISION_ID_RE.test(n.slice(0, -SEGMENT_EXT.length)))
    .map((n) => n.slice(0, -SEGMENT_EXT.length))
    .sort();
}

/** Index of the last name <= id in sorted `names`, or -1. */
export function segmentFor(names: readonly string[], id: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (names[mid]! <= id) lo = mid + 1; else hi = mid;
  }
  return lo - 1;
}

/**
 * Whether a segment may hold zeros a writer left: the last two of the folder (the one being written, and
 * the one before it, which a writer that died while rolling may not have cut). Zeros with records after
 * them are legitimate there (a later group landed first); elsewhere they are damage.
 */
export function mayHoldWriterZeros(names: readonly string[], i: number): boolean {
  return i >= names.length - 2;
}

/**
 * A segment's text up to its last newline, and its torn final line if any. Null when the file is gone.
 * `writerZeros`: the segment may hold a writer's zeros (mayHoldWriterZeros); in another one, bytes after
 * a zero are an error naming the file, line and byte, not records silently left unread.
 */
export async function readSegmentText(dir: string, name: string, writerZeros = true): Promise<{ file: string; text: string; torn: TornLine | null; zerosAt: number } | null> {
  const file = segmentFile(dir, name);
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KilnError('DECISION_LOG_INVALID', `cannot read ${file}: ${(e as Error).message}`, { path: [file], cause: e });
  }
  // The writer writes zeros ahead of its records (writer.ts): the text ends at the first zero byte. JSON
  // text has none, and every record acknowledged before a crash lies before any zero it left.
  const nul = buf.indexOf(0);
  if (nul >= 0 && !writerZeros) {
    let after = nul + 1;
    while (after < buf.length && buf[after] === 0) after++;
    if (after < buf.length) {
      let line = 1;
      for (let i = buf.indexOf(10); i !== -1 && i < nul; i = buf.indexOf(10, i + 1)) line++;
      throw new KilnError('DECISION_LOG_INVALID',
        `${file}:${line}: ${after - nul} zero bytes at byte ${nul}, with ${buf.length - after} bytes of records after them. Only the segment being written holds zeros; ` +
        'the decision log was damaged outside kiln: move the file aside to read the rest of the log, and restore it from a backup', { path: [file, line] });
    }
  }
  const text = (nul >= 0 ? buf.subarray(0, nul) : buf).toString('utf8');
  const end = text.lastIndexOf('\n') + 1;
  if (end === text.length) return { file, text, torn: null, zerosAt: nul };
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) line++;
  return { file, text: text.slice(0, end), torn: { file, line, bytes: Buffer.byteLength(text.slice(end)) }, zerosAt: nul };
}

/**
 * Cuts a segment at its first zero byte (`at`, as readSegmentText found it): the space a writer wrote
 * ahead of its records and left behind when it died (only called with the writer's lock held).
 */
export async function cutZeros(dir: string, name: string, at: number): Promise<void> {
  const file = segmentFile(dir, name);
  try {
    const fh = await open(file, 'r+');
    try { await fh.truncate(at); await fh.datasync(); } finally { await fh.close(); }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new KilnError('DECISION_LOG_INVALID', `cannot cut the space left ahead of the records of ${file}: ${(e as Error).message}`, { path: [file], cause: e });
  }
}

/** Parses one line as a decision record, or throws DECISION_LOG_INVALID naming the file and line. */
export function parseRecord(text: string, file: string, line: number): DecisionRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new KilnError('DECISION_LOG_INVALID',
      `${file}:${line}: the line is not valid JSON (${(e as Error).message}). The decision log was damaged outside kiln; ` +
      'move the file aside to read the rest of the log, and restore it from a backup', { path: [file, line], cause: e });
  }
  const r = v as Partial<DecisionRecord> | null;
  if (typeof r !== 'object' || r === null || typeof r.id !== 'string' || !DECISION_ID_RE.test(r.id) || typeof r.model !== 'string' || typeof r.version !== 'number' || typeof r.time !== 'string') {
    throw new KilnError('DECISION_LOG_INVALID',
      `${file}:${line}: not a decision record (expected an object with id, time, model and version). The decision log was damaged outside kiln; move the file aside and restore it from a backup`,
      { path: [file, line] });
  }
  return r as DecisionRecord;
}

/** Every record of a segment, in file order (torn final line skipped and reported). */
export async function readSegment(dir: string, name: string, onTorn?: (t: TornLine) => void, writerZeros = true): Promise<DecisionRecord[]> {
  const seg = await readSegmentText(dir, name, writerZeros);
  if (!seg) return [];
  if (seg.torn) onTorn?.(seg.torn);
  const out: DecisionRecord[] = [];
  let line = 0;
  let start = 0;
  for (let nl = seg.text.indexOf('\n'); nl !== -1; nl = seg.text.indexOf('\n', start)) {
    line++;
    if (nl > start) out.push(parseRecord(seg.text.slice(start, nl), seg.file, line));
    start = nl + 1;
  }
  return out;
}

/** The record with this id in one segment, parsing only the line that holds it; null if absent. */
export async function findInSegment(dir: string, name: string, id: string, writerZeros = true): Promise<DecisionRecord | null> {
  const seg = await readSegmentText(dir, name, writerZeros);
  if (!seg) return null;
  const needle = `"id":"${id}"`;
  for (let at = seg.text.indexOf(needle); at !== -1; at = seg.text.indexOf(needle, at + needle.length)) {
    const start = seg.text.lastIndexOf('\n', at) + 1;
    const end = seg.text.indexOf('\n', at);
    let line = 1;
    for (let i = seg.text.indexOf('\n'); i !== -1 && i < start; i = seg.text.indexOf('\n', i + 1)) line++;
    const rec = parseRecord(seg.text.slice(start, end), seg.file, line);
    if (rec.id === id) return rec;
  }
  return null;
}
