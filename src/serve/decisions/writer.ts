/**
 * The decision log's writer: group commit off the request path. `append` serialises its records and
 * queues them; one loop takes everything queued, writes it with one write per segment and one
 * fdatasync, and settles the appends of that group, while new appends queue for the next group — so
 * under load many requests share one fsync. `durable`: an append resolves once its records are synced.
 * `buffered`: an append resolves at once; a timer armed by the first record of an empty queue commits
 * within `flushMs`. Every open starts a new segment (after a crash the last one may end in a torn line);
 * segments roll at `segmentBytes`. A failed commit is counted and rejects its durable appends with
 * DECISION_LOG_INVALID (buffered: its records stay queued, and appends are refused until a commit
 * succeeds again); the segment is cut back to its last good size. All I/O is through FileHandles.
 *
 * A commit is one positional write into zeros written ahead (segment-file.ts); `durable` segments are
 * O_DSYNC, so the write is the sync. Durable groups are pipelined: up to MAX_FLIGHTS are written at once
 * and acknowledged in order, so what is acknowledged is always a prefix of the segment; a failed one
 * fails the later ones in flight and the segment is cut back to the last acknowledged end.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { closeSegment, CREATE, extendSegment, PREALLOC_BYTES, writeAt, syncDir, WRITE_DURABLE, type Own } from './segment-file.js';
import { KilnError } from '../../core/errors.js';
import type { DecisionLogStats, DecisionRecord, DecisionWriter, Durability } from '../types.js';
import { DECISION_ID_RE } from './id.js';
import type { WriterLock, WriterLockInfo } from './lock.js';
import { getDecision } from './reader.js';
import { segmentFile, segmentFor, type TornLine } from './segments.js';

export interface DecisionLogOptions {
  /** 'durable' (the default) or 'buffered'. */
  readonly durability?: Durability;
  /** buffered: the longest a record waits before it is written and synced (default 200 ms). */
  readonly flushMs?: number;
  /** A segment is closed and a new one started once it is this large (default 16 MiB). */
  readonly segmentBytes?: number;
  /** buffered: commit early once this many bytes are queued (default 4 MiB). */
  readonly maxQueuedBytes?: number;
}

/** The writer, with what it found when it opened. */
export interface DecisionLog extends DecisionWriter {
  readonly dir: string;
  readonly durability: Durability;
  readonly flushMs: number;
  /** Torn final lines found at open (a crash before): readers skip them; this log started a new segment. */
  readonly recovered: readonly TornLine[];
  /** The stale lock of a dead writer that was taken over, if any. */
  readonly tookOver: WriterLockInfo | null;
}

interface Waiter { resolve: () => void; reject: (e: Error) => void; failed: Error | null }
/** A durable group written while earlier ones are still being written: acknowledged in order. */
interface Flight { readonly entries: Entry[]; acked: Promise<void> }
/** Groups in flight at once (durable); more appends wait for the oldest and go in the next group. */
const MAX_FLIGHTS = 4;
interface Entry { readonly rec: DecisionRecord; readonly line: string; readonly at: number; readonly w: Waiter | null }

export const fail = (msg: string, cause?: unknown, path?: string): KilnError =>
  new KilnError('DECISION_LOG_INVALID', msg, { ...(path ? { path: [path] } : {}), ...(cause ? { cause } : {}) });

/** A group's lines in id order, as one buffer: what one commit writes. */
function groupBuffer(entries: Entry[]): Buffer {
  entries.sort((a, b) => (a.rec.id < b.rec.id ? -1 : 1));
  return Buffer.from(entries.map((e) => e.line).join(''), 'utf8');
}

export class Writer implements DecisionLog {
  readonly flushMs: number;
  private readonly segmentBytes: number;
  private readonly maxQueuedBytes: number;
  private pending: Entry[] = [];
  private pendingBytes = 0;
  private inflight: Entry[] = [];
  private flights: Flight[] = [];
  /** A write in flight failed: the segment is cut back to its last acknowledged end once the flights land. */
  private broken: Own | null = null;
  private running: Promise<void> | null = null;
  private force = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private lastError: KilnError | null = null;
  private readonly own: Own[] = [];
  private committed = 0;
  private commits = 0;
  private failures = 0;
  private lastCommitMs = 0;
  /** False once writing zeros ahead failed (then commits append as before). */
  private prealloc = true;

  constructor(readonly dir: string, readonly durability: Durability, opts: DecisionLogOptions, private readonly lock: WriterLock,
    readonly recovered: readonly TornLine[]) {
    this.flushMs = opts.flushMs ?? 200;
    this.segmentBytes = opts.segmentBytes ?? 16 * 2 ** 20;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 4 * 2 ** 20;
  }

  get tookOver(): WriterLockInfo | null { return this.lock.tookOver; }

  append(records: readonly DecisionRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(fail(`the decision log ${this.dir} is closed: no more decisions can be recorded`));
    const durable = this.durability === 'durable';
    if (!durable && this.lastError) {
      return Promise.reject(fail(`the decision log ${this.dir} cannot be written (${this.lastError.message}); decisions are refused until a write succeeds`, this.lastError));
    }
    const bad = records.find((r) => typeof r?.id !== 'string' || !DECISION_ID_RE.test(r.id));
    if (bad) return Promise.reject(fail(`a decision record has no valid id (${JSON.stringify(bad?.id)}): make ids with newDecisionId()`));
    if (!records.length) return Promise.resolve();
    const at = Date.now();
    let promise: Promise<void> = Promise.resolve();
    let w: Waiter | null = null;
    if (durable) promise = new Promise<void>((resolve, reject) => { w = { resolve, reject, failed: null }; });
    for (const rec of records) {
      const line = `${JSON.stringify(rec)}\n`;
      this.pending.push({ rec, line, at, w });
      this.pendingBytes += line.length;
    }
    if (durable) {
      // Start a commit after this tick's other appends have queued (one microtask, not one per append).
      if (!this.running && !this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => { this.scheduled = false; void this.kick(false); });
      }
    } else if (this.pendingBytes >= this.maxQueuedBytes) {
      void this.kick(true);
    } else {
      this.arm();
    }
    return promise;
  }

  private arm(): void {
    if (this.timer || !this.pending.length) return;
    // After a failed commit, wait a full period before trying again rather than spin on a broken disk.
    const wait = this.lastError ? this.flushMs : Math.max(0, this.pending[0]!.at + this.flushMs - Date.now());
    this.timer = setTimeout(() => { this.timer = null; void this.kick(true); }, wait);
  }

  private kick(force: boolean): Promise<void> {
    if (force) this.force = true;
    if (!this.running) {
      this.running = this.loop().finally(() => {
        this.running = null;
        // Appends that came while the loop was ending saw it running: start again for them.
        if (this.pending.length && (this.durability === 'durable' || this.force)) void this.kick(false);
        else if (this.durability === 'buffered') this.arm();
      });
    }
    return this.running;
  }

  private async loop(): Promise<void> {
    while (this.pending.length && (this.durability === 'durable' || this.force)) {
      this.force = false;
      if (this.flights.length >= MAX_FLIGHTS && !this.broken) { await this.flights[0]!.acked; continue; }
      const group = this.pending;
      this.pending = [];
      this.pendingBytes = 0;
      const seg = this.pipelinable(group);
      if (seg) {
        // The write starts now, while earlier groups are still being written; its appends are answered
        // once it and every earlier one are on disk, so what is acknowledged is always a prefix.
        const buf = groupBuffer(group);
        if (seg.extending && seg.end + buf.length > seg.allocated) await seg.extending;
        if (this.pipelinable(group) === seg) { this.issue(seg, group, buf); continue; }
      }
      await this.land();
      this.inflight = group;
      try {
        await this.commit(group);
      } catch (e) {
        // commit() settles its group itself; this is only a guard so that nothing is left waiting.
        const err = fail(`cannot write the decision log ${this.dir}: ${(e as Error).message}`, e);
        this.failures++;
        this.lastError = err;
        for (const x of group) x.w?.reject(err);
      } finally {
        this.inflight = [];
      }
    }
  }

  /** The segment a durable group can be written to while others are in flight: the open one, with room, holding all its ids. */
  private pipelinable(group: Entry[]): Own | null {
    if (this.durability !== 'durable' || this.broken) return null;
    const seg = this.own.at(-1);
    if (!seg?.fh || seg.end >= this.segmentBytes) return null;
    for (const e of group) if (e.rec.id < seg.name) return null;
    return seg;
  }

  private issue(seg: Own, group: Entry[], buf: Buffer): void {
    const t0 = performance.now();
    const at = seg.end;
    seg.end += buf.length;
    const file = segmentFile(this.dir, seg.name);
    const written = writeAt(seg.fh!, buf, at).then(() => null, (e: unknown) => e as Error);
    const before = this.flights.at(-1)?.acked ?? Promise.resolve();
    const flight: Flight = { entries: group, acked: Promise.resolve() };
    flight.acked = Promise.all([written, before]).then(([error]) => {
      this.flights.splice(this.flights.indexOf(flight), 1);
      this.commits++;
      this.lastCommitMs = performance.now() - t0;
      if (error || this.broken) {
        // Every later write in flight fails with this one: the segment is cut back to here (land()).
        this.broken ??= seg;
        const err = error
          ? fail(`cannot write ${file}: ${error.message}. Check the disk (space, errors)`, error, file)
          : fail(`cannot write ${file}: an earlier write to it failed`, undefined, file);
        this.failures++;
        this.lastError = err;
        for (const w of new Set(group.map((e) => e.w))) w?.reject(err);
        return;
      }
      seg.size = at + buf.length;
      if (seg.size > seg.allocated) seg.allocated = seg.size;
      if (group.at(-1)!.rec.id > seg.maxId) seg.maxId = group.at(-1)!.rec.id;
      this.committed += group.length;
      this.lastError = null;
      for (const w of new Set(group.map((e) => e.w))) w?.resolve();
      if (seg.fh && seg.size < this.segmentBytes) this.extend(seg);
    });
    this.flights.push(flight);
  }

  /** Waits for the writes in flight; after a failed one, cuts its segment back to the last acknowledged end. */
  private async land(): Promise<void> {
    while (this.flights.length) await this.flights.at(-1)!.acked;
    const seg = this.broken;
    if (!seg) return;
    this.broken = null;
    await this.cutBack(seg, seg.fh);
  }

  /**
   * Cuts a segment back to its last good end (once zeros being written ahead have landed), so that it
   * never holds a torn line in the middle; if even that fails, stops appending to it (readers skip its torn end).
   */
  private async cutBack(seg: Own, fh: FileHandle | null): Promise<void> {
    await seg.extending;
    const ok = fh ? await fh.truncate(seg.size).then(() => true, () => false) : false;
    seg.end = seg.size;
    seg.allocated = seg.size;
    if (!ok) { const i = this.own.indexOf(seg); if (i >= 0) this.own.splice(i, 1); await fh?.close().catch(() => undefined); seg.fh = null; }
  }

  /** Writes one group: one write (durable: O_DSYNC; buffered: and an fdatasync) per segment it touches (nearly always one). */
  private async commit(group: Entry[]): Promise<void> {
    const t0 = performance.now();
    let cur = this.own.length && this.own[this.own.length - 1]!.fh ? this.own[this.own.length - 1]! : null;
    if (cur && cur.size >= this.segmentBytes) { await closeSegment(cur); cur = null; }
    // Route: a record goes to the last own segment named at or below its id; past the newest, to the
    // current one, or to a new one named by the smallest such id (a roll, or the first commit).
    const routes = new Map<Own | 'new' | 'front', Entry[]>();
    const names = this.own.map((o) => o.name);
    for (const e of group) {
      const i = segmentFor(names, e.rec.id);
      // A new segment must start above every id of the one it follows, or their ranges would overlap.
      const key = i === names.length - 1 && !cur && e.rec.id > (this.own[i]?.maxId ?? '') ? 'new' : i < 0 ? 'front' : this.own[i]!;
      const list = routes.get(key);
      if (list) list.push(e); else routes.set(key, [e]);
    }
    let error: KilnError | null = null;
    for (const [key, entries] of routes) {
      try {
        await this.writeTo(key, entries);
      } catch (e) {
        error = e instanceof KilnError ? e : fail(`cannot write the decision log ${this.dir}: ${(e as Error).message}`, e);
        for (const x of entries) if (x.w) x.w.failed = error;
        if (this.durability === 'buffered') {
          this.pending = entries.concat(this.pending);
          this.pendingBytes += entries.reduce((s, x) => s + x.line.length, 0);
        }
      }
    }
    this.commits++;
    this.lastCommitMs = performance.now() - t0;
    if (error) { this.failures++; this.lastError = error; } else this.lastError = null;
    const settled = new Set<Waiter>();
    for (const e of group) {
      if (!e.w || settled.has(e.w)) continue;
      settled.add(e.w);
      if (e.w.failed) e.w.reject(e.w.failed); else e.w.resolve();
    }
  }

  private async writeTo(key: Own | 'new' | 'front', entries: Entry[]): Promise<void> {
    const buf = groupBuffer(entries);
    const flags = this.durability === 'durable' ? WRITE_DURABLE : constants.O_WRONLY;
    let seg: Own;
    let fh: FileHandle;
    if (key === 'new' || key === 'front') {
      seg = { name: entries[0]!.rec.id, size: 0, maxId: '', fh: null, end: 0, allocated: 0, extending: null };
      const file = segmentFile(this.dir, seg.name);
      try {
        fh = await open(file, flags | CREATE);
        await syncDir(this.dir);
      } catch (e) {
        throw fail(`cannot create the decision log segment ${file}: ${(e as Error).message}. Check the disk and the folder's permissions`, e, file);
      }
      if (key === 'new') { seg.fh = fh; this.own.push(seg); } else this.own.unshift(seg);
    } else {
      seg = key;
      try {
        fh = seg.fh ?? await open(segmentFile(this.dir, seg.name), flags);
      } catch (e) {
        throw fail(`cannot open the decision log segment ${segmentFile(this.dir, seg.name)}: ${(e as Error).message}`, e, segmentFile(this.dir, seg.name));
      }
    }
    try {
      // Never write where zeros are being written: past the space ready, wait for it (a burst).
      if (seg.extending && seg.size + buf.length > seg.allocated) await seg.extending;
      await writeAt(fh, buf, seg.size);
      if (this.durability !== 'durable') await fh.datasync();
      seg.size += buf.length;
      seg.end = seg.size;
      if (seg.size > seg.allocated) seg.allocated = seg.size;
      if (entries.at(-1)!.rec.id > seg.maxId) seg.maxId = entries.at(-1)!.rec.id;
      this.committed += entries.length;
    } catch (e) {
      const file = segmentFile(this.dir, seg.name);
      await this.cutBack(seg, fh);
      throw fail(`cannot write ${file}: ${(e as Error).message}. Check the disk (space, errors)`, e, file);
    } finally {
      if (fh !== seg.fh) await fh.close().catch(() => undefined);
    }
    if (fh === seg.fh && seg.size < this.segmentBytes) this.extend(seg);
  }

  /** Writes the next chunk of zeros ahead of the current segment once half of the space ready is used. */
  private extend(seg: Own): void {
    // A commit may take a segment a little past segmentBytes before it rolls.
    if (this.prealloc) extendSegment(seg, this.segmentBytes + PREALLOC_BYTES / 4, () => { this.prealloc = false; });
  }

  stats(): DecisionLogStats {
    const oldest = this.flights[0]?.entries[0]?.at ?? this.inflight[0]?.at ?? this.pending[0]?.at;
    const flying = this.flights.reduce((n, f) => n + f.entries.length, 0);
    return {
      queued: this.pending.length + this.inflight.length + flying, committed: this.committed, commits: this.commits,
      lastCommitMs: this.lastCommitMs, lagMs: oldest === undefined ? 0 : Math.max(0, Date.now() - oldest), failures: this.failures,
    };
  }

  async get(id: string): Promise<DecisionRecord> {
    const want = id.toUpperCase();
    for (const list of [this.pending, this.inflight, ...this.flights.map((f) => f.entries)]) for (const e of list) if (e.rec.id === want) return e.rec;
    return getDecision(this.dir, id);
  }

  async flush(): Promise<void> {
    const start = this.failures;
    for (;;) {
      if (this.running) { await this.running; continue; }
      if (this.flights.length || this.broken) {
        await this.land();
        if (this.failures > start) throw this.lastError!;
        continue;
      }
      if (!this.pending.length) return;
      const before = this.failures;
      await this.kick(true);
      if (this.failures > before) throw this.lastError!;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    try {
      await this.flush();
    } finally {
      for (const o of this.own) await closeSegment(o);
      await this.lock.release();
    }
  }
}
