import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  decisionIdAt, decisionIdFloor, decisionIdTime, getDecision, newDecisionId, openDecisionLog, readDecisions, DECISION_ID_RE,
  type DecisionRecord, type TornLine,
} from '../../src/serve/index.js';
import { fails } from '../fails.js';
import { tempDir } from '../helpers.js';
import { decisionRecord } from './decision-records.js';
import { PREALLOC_BYTES } from '../../src/serve/decisions/segment-file.js';

const tmp = tempDir('kiln-decisions-');
afterAll(tmp.cleanup);
let n = 0;
const freshDir = (): string => join(tmp.dir, `log${n++}`);
const all = async (dir: string, opts: Parameters<typeof readDecisions>[1] = {}): Promise<DecisionRecord[]> => {
  const out: DecisionRecord[] = [];
  for await (const r of readDecisions(dir, opts)) out.push(r);
  return out;
};
/** An id made at `ms` (the k-th of that ms). */
const idAt = (ms: number, k: number): string => `${decisionIdFloor(ms).slice(0, 10)}${String(k).padStart(16, '0')}`;
const segments = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.ndjson')).sort();

describe('decision ids', () => {
  it('are unique and strictly increasing under a burst, and carry their time', () => {
    const t0 = Date.now();
    const ids = Array.from({ length: 50_000 }, () => newDecisionId());
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id, i) => DECISION_ID_RE.test(id) && (i === 0 || id > ids[i - 1]!))).toBe(true);
    expect(decisionIdTime(ids[0]!)).toBeGreaterThanOrEqual(t0);
    expect(decisionIdTime(ids.at(-1)!)).toBeLessThanOrEqual(Date.now() + 1);
    // A clock that steps back does not make an id sort before the previous one.
    const before = newDecisionId();
    expect(newDecisionId(Date.now() - 60_000) > before).toBe(true);
    const future = Date.now() + 3_600_000;
    expect(decisionIdTime(newDecisionId(future))).toBe(future);
    expect(decisionIdFloor(future) < newDecisionId()).toBe(true);
    // A decision of the past (simulated, replayed) keeps its own time whatever this process made before.
    const past = Date.parse('2024-03-01T10:00:00Z');
    const a = decisionIdAt(past);
    expect([decisionIdTime(a), DECISION_ID_RE.test(a), a === decisionIdAt(past)]).toEqual([past, true, false]);
  });
});

describe('the decision log writer', () => {
  it('group-commits concurrent durable appends: fewer commits than appends, all readable in id order', async () => {
    const dir = freshDir();
    const log = await openDecisionLog(dir);
    const recs = Array.from({ length: 400 }, (_, i) => decisionRecord(i));
    // Appended out of id order, as requests finish out of order.
    const order = recs.map((_, i) => (i * 37) % recs.length);
    await Promise.all(order.map((i) => log.append([recs[i]!])));
    const s = log.stats();
    expect(s.committed).toBe(400);
    expect(s.commits).toBeLessThan(200);
    expect(s.queued).toBe(0);
    expect(s.failures).toBe(0);
    await log.append([decisionRecord(400)]);
    expect(segments(dir)).toHaveLength(1); // one segment until it reaches segmentBytes
    recs.push((await all(dir)).at(-1)!);
    const back = await all(dir);
    expect(back.map((r) => r.id)).toEqual(recs.map((r) => r.id));
    expect(back[7]).toEqual(recs[7]);
    expect((await all(dir, { order: 'desc' })).map((r) => r.id)).toEqual(recs.map((r) => r.id).reverse());
    await log.close();
    await fails(log.append([decisionRecord(0)]), 'DECISION_LOG_INVALID');
  });

  it('buffered: append resolves at once, the record is on disk within flushMs', async () => {
    const dir = freshDir();
    const log = await openDecisionLog(dir, { durability: 'buffered', flushMs: 150 });
    const rec = decisionRecord(1);
    const t0 = Date.now();
    await log.append([rec]);
    expect(log.stats().queued).toBe(1);
    expect(await log.get(rec.id)).toEqual(rec); // from the queue
    await fails(getDecision(dir, rec.id), 'DECISION_NOT_FOUND');
    while (log.stats().queued) await new Promise((r) => setTimeout(r, 10));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(await getDecision(dir, rec.id)).toEqual(rec);
    expect(log.stats()).toMatchObject({ committed: 1, commits: 1, lagMs: 0 });
    await log.close();
  });

  it('keeps each segment to its id range when records come out of order across rolls', async () => {
    const dir = freshDir();
    const log = await openDecisionLog(dir, { segmentBytes: 2000 });
    const base = Date.now() - 10_000;
    const ids = Array.from({ length: 120 }, (_, i) => idAt(base + i, 0));
    // Groups of 6; every 7th id is held back and appended 3 groups later (a slow request).
    const late = new Map<number, string[]>();
    for (let g = 0; g < 20; g++) {
      const batch = ids.slice(g * 6, g * 6 + 6);
      const now = batch.filter((id) => ids.indexOf(id) % 7 !== 3);
      late.set(g + 3, batch.filter((id) => ids.indexOf(id) % 7 === 3));
      await Promise.all([...now, ...(late.get(g) ?? [])].map((id) => log.append([decisionRecord(0, { id })])));
    }
    for (const g of [20, 21, 22]) await Promise.all((late.get(g) ?? []).map((id) => log.append([decisionRecord(0, { id })])));
    await log.close();
    const names = segments(dir).map((f) => f.slice(0, 26));
    expect(names.length).toBeGreaterThan(5);
    for (const [k, name] of names.entries()) {
      const inFile = readFileSync(join(dir, `${name}.ndjson`), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as DecisionRecord).id);
      expect(inFile.every((id) => id >= name && (k + 1 === names.length || id < names[k + 1]!))).toBe(true);
    }
    const back = (await all(dir)).map((r) => r.id);
    expect(back).toEqual(ids);
    for (const id of [ids[0]!, ids[57]!, ids[119]!]) expect((await getDecision(dir, id)).id).toBe(id);
  });

  it('filters by time, model and version, with limit and order', async () => {
    const dir = freshDir();
    const log = await openDecisionLog(dir, { segmentBytes: 3000 });
    const base = Date.parse('2024-06-01T00:00:00Z');
    const recs = Array.from({ length: 60 }, (_, i) => decisionRecord(i, { id: idAt(base + i * 60_000, 1), model: i % 3 === 0 ? 'fraud' : 'credit' }));
    await log.append(recs);
    await log.close();
    const since = base + 10 * 60_000;
    const until = base + 20 * 60_000;
    expect((await all(dir, { since, until })).map((r) => r.id)).toEqual(recs.slice(10, 20).map((r) => r.id));
    expect((await all(dir, { since: new Date(since).toISOString(), until: new Date(until), model: 'fraud' })).map((r) => r.id))
      .toEqual(recs.slice(10, 20).filter((r) => r.model === 'fraud').map((r) => r.id));
    expect((await all(dir, { model: 'credit', version: 2 })).every((r) => r.model === 'credit' && r.version === 2)).toBe(true);
    expect((await all(dir, { order: 'desc', limit: 3 })).map((r) => r.id)).toEqual(recs.slice(-3).reverse().map((r) => r.id));
    expect((await all(dir, { limit: 4 })).map((r) => r.id)).toEqual(recs.slice(0, 4).map((r) => r.id));
    await expect(all(dir, { since: 'yesterday' })).rejects.toThrow(/since yesterday: expected an ISO time/);
  });

  it('reads while the writer writes, without its lock', async () => {
    const dir = freshDir();
    const log = await openDecisionLog(dir, { segmentBytes: 20_000 });
    let stop = false;
    let i = 0;
    const writing = (async () => { while (!stop) await Promise.all(Array.from({ length: 8 }, () => log.append([decisionRecord(i++)]))); })();
    const counts: number[] = [];
    for (let k = 0; k < 10; k++) {
      const got = await all(dir);
      expect(got.every((r, j) => j === 0 || r.id > got[j - 1]!.id)).toBe(true);
      counts.push(got.length);
      await new Promise((r) => setTimeout(r, 5));
    }
    stop = true;
    await writing;
    await log.close();
    expect(counts.at(-1)).toBeGreaterThan(counts[0]!);
    expect(counts.every((c, k) => k === 0 || c >= counts[k - 1]!)).toBe(true);
    expect((await all(dir)).length).toBe(i);
  });

  /** A log of five decisions written and closed: its folder, records and one segment. */
  async function fiveWritten(): Promise<{ dir: string; recs: DecisionRecord[]; first: string }> {
    const dir = freshDir();
    const log = await openDecisionLog(dir);
    const recs = Array.from({ length: 5 }, (_, i) => decisionRecord(i));
    await log.append(recs);
    await log.close();
    return { dir, recs, first: segments(dir)[0]! };
  }
  const partial = '{"id":"01J0Z3N4X5Q8R2T6V9W1Y3Z5A7","time":"2024-';

  it('after a crash: skips and reports a torn last line, and the next writer starts a new segment', async () => {
    const { dir, recs, first } = await fiveWritten();
    appendFileSync(join(dir, first), partial);
    const torn: TornLine[] = [];
    expect((await all(dir, { onTorn: (t) => torn.push(t) })).map((r) => r.id)).toEqual(recs.map((r) => r.id));
    expect(torn).toEqual([{ file: join(dir, first!), line: 6, bytes: partial.length }]);
    const log = await openDecisionLog(dir);
    expect(log.recovered).toEqual(torn);
    const more = decisionRecord(9);
    await log.append([more]);
    await log.close();
    expect(segments(dir)).toHaveLength(2);
    expect((await all(dir)).map((r) => r.id)).toEqual([...recs, more].map((r) => r.id));
    expect((await getDecision(dir, recs[4]!.id)).id).toBe(recs[4]!.id);
  });

  for (const durability of ['durable', 'buffered'] as const) {
    it(`${durability}: writes zeros ahead of its records, which readers stop at, and cuts them off at close`, async () => {
      const dir = freshDir();
      const log = await openDecisionLog(dir, { durability });
      const recs = Array.from({ length: 30 }, (_, i) => decisionRecord(i));
      await log.append(recs.slice(0, 10));
      await log.flush();
      const file = join(dir, segments(dir)[0]!);
      const bytes = (k: number): number => recs.slice(0, k).reduce((s, r) => s + Buffer.byteLength(`${JSON.stringify(r)}\n`), 0);
      // The space ahead is written after the first commit, off the commit path.
      await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThanOrEqual(bytes(10) + PREALLOC_BYTES), { timeout: 5000 });
      await log.append(recs.slice(10));
      await log.flush();
      const buf = readFileSync(file);
      expect(buf.indexOf(0)).toBe(bytes(30));
      const torn: TornLine[] = [];
      expect((await all(dir, { onTorn: (t) => torn.push(t) })).map((r) => r.id)).toEqual(recs.map((r) => r.id));
      expect(torn).toEqual([]);
      expect((await getDecision(dir, recs[29]!.id)).id).toBe(recs[29]!.id);
      await log.close();
      expect(statSync(file).size).toBe(bytes(30));
    });
  }

  it('writes no zeros past where the segment rolls (segmentBytes + a quarter of the chunk)', async () => {
    const dir = freshDir();
    const log = await openDecisionLog(dir, { segmentBytes: 50_000 });
    await log.append([decisionRecord(0)]);
    const file = join(dir, segments(dir)[0]!);
    await vi.waitFor(() => expect(statSync(file).size).toBe(50_000 + PREALLOC_BYTES / 4), { timeout: 5000 });
    await log.close();
  });

  it('after a crash that left zeros (and a half-written group): readers stop at the first zero, the next writer cuts them', async () => {
    const { dir, recs, first } = await fiveWritten();
    const file = join(dir, first);
    const good = readFileSync(file).length;
    // The last group torn: its first part, a page that never reached the disk, a later part that did.
    appendFileSync(file, Buffer.concat([Buffer.from(partial), Buffer.alloc(4096), Buffer.from('"model":"credit"}\n'), Buffer.alloc(8192)]));
    const torn: TornLine[] = [];
    expect((await all(dir, { onTorn: (t) => torn.push(t) })).map((r) => r.id)).toEqual(recs.map((r) => r.id));
    expect(torn).toEqual([{ file, line: 6, bytes: partial.length }]);
    const log = await openDecisionLog(dir);
    expect(log.recovered).toEqual(torn);
    expect(statSync(file).size).toBe(good + partial.length);
    const more = decisionRecord(9);
    await log.append([more]);
    await log.close();
    expect((await all(dir)).map((r) => r.id)).toEqual([...recs, more].map((r) => r.id));
  });

  it('a corrupt line in the middle of a segment is an error naming the file and line', async () => {
    const dir = freshDir();
    const log = await openDecisionLog(dir);
    const recs = Array.from({ length: 4 }, (_, i) => decisionRecord(i));
    await log.append(recs);
    await log.close();
    const file = join(dir, segments(dir)[0]!);
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[2] = lines[2]!.slice(0, 40);
    writeFileSync(file, lines.join('\n'));
    const e = await fails(all(dir), 'DECISION_LOG_INVALID');
    expect(e.message).toContain(`${file}:3: the line is not valid JSON`);
    expect(e.path).toEqual([file, 3]);
    writeFileSync(file, [...lines.slice(0, 2), '{"hello":1}', ...lines.slice(3)].join('\n'));
    expect((await fails(all(dir), 'DECISION_LOG_INVALID')).message).toContain(`${file}:3: not a decision record`);
    // getDecision reads only the line it needs.
    expect((await getDecision(dir, recs[3]!.id)).id).toBe(recs[3]!.id);
  });

  it('zeros in the middle of an older segment are an error naming file, line and byte; in the last two, where a writer leaves them, the text ends there', async () => {
    const dir = freshDir();
    const log = await openDecisionLog(dir, { segmentBytes: 1 });
    const recs = Array.from({ length: 8 }, (_, i) => decisionRecord(i));
    for (const r of recs.slice(0, 4)) await log.append([r, { ...r, id: newDecisionId() }]);
    await log.close();
    const files = segments(dir).map((f) => join(dir, f));
    expect(files).toHaveLength(4);
    // Zeros over part of the first line of the first segment: outside damage.
    const at = 50;
    const damage = (file: string): Buffer => {
      const good = readFileSync(file);
      const bad = Buffer.from(good);
      bad.fill(0, at, at + 20);
      writeFileSync(file, bad);
      return good;
    };
    const good = damage(files[0]!);
    const e = await fails(all(dir), 'DECISION_LOG_INVALID');
    expect(e.message).toContain(`${files[0]}:1: 20 zero bytes at byte ${at}, with ${good.length - at - 20} bytes of records after them`);
    expect(e.path).toEqual([files[0], 1]);
    const first = JSON.parse(good.toString('utf8').split('\n')[0]!) as DecisionRecord;
    expect((await fails(getDecision(dir, first.id), 'DECISION_LOG_INVALID')).path).toEqual([files[0], 1]);
    // Zeros at the end only (a roll whose cut failed) are not damage.
    writeFileSync(files[0]!, Buffer.concat([good, Buffer.alloc(4096)]));
    expect(await all(dir)).toHaveLength(8);
    // The last two segments may hold a writer's zeros with a later group after them: their text ends at the first zero.
    const lastLines = readFileSync(files[3]!, 'utf8').split('\n').filter(Boolean).length;
    damage(files[3]!);
    const torn: TornLine[] = [];
    expect(await all(dir, { onTorn: (t) => torn.push(t) })).toHaveLength(8 - lastLines);
    expect(torn).toEqual([{ file: files[3], line: 1, bytes: at }]);
  });

  it('getDecision reads only the segment the id points at', async () => {
    const dir = freshDir();
    const log = await openDecisionLog(dir, { segmentBytes: 1 });
    const recs = Array.from({ length: 6 }, (_, i) => decisionRecord(i));
    for (const r of recs) await log.append([r]);
    await log.close();
    const files = segments(dir);
    expect(files).toHaveLength(6);
    for (const f of files.slice(0, 3)) writeFileSync(join(dir, f), 'garbage\n');
    expect(await getDecision(dir, recs[4]!.id)).toEqual(recs[4]);
    expect(await getDecision(dir, recs[5]!.id.toLowerCase())).toEqual(recs[5]);
    const unknown = newDecisionId();
    expect((await fails(getDecision(dir, unknown), 'DECISION_NOT_FOUND')).message).toContain(`no decision ${unknown}`);
    expect((await fails(getDecision(dir, 'nope'), 'DECISION_NOT_FOUND')).message).toContain('is not a decision id');
    expect((await fails(getDecision(join(dir, 'none'), unknown), 'DECISION_NOT_FOUND')).message).toContain('no records yet');
  });

  it('refuses a second writer, and takes over the lock of a dead one', async () => {
    const dir = freshDir();
    const log = await openDecisionLog(dir);
    const e = await fails(openDecisionLog(dir), 'DECISION_LOG_INVALID');
    expect(e.message).toContain('has a writer already');
    await log.close();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    writeFileSync(join(dir, 'writer.lock'), JSON.stringify({ pid, host: (await import('node:os')).hostname(), command: 'kiln serve', since: '2024-01-01T00:00:00Z' }));
    const again = await openDecisionLog(dir);
    expect(again.tookOver?.pid).toBe(pid);
    expect(JSON.parse(readFileSync(join(dir, 'writer.lock'), 'utf8')).pid).toBe(process.pid);
    await again.close();
    expect(readdirSync(dir)).not.toContain('writer.lock');
  });

  it('a failed write rejects the durable appends with DECISION_LOG_INVALID, is counted, and the log goes on', async () => {
    const dir = freshDir();
    const log = await openDecisionLog(dir, { segmentBytes: 1 }); // every commit starts a segment named by its first id
    await log.append([decisionRecord(0)]);
    const blocked = decisionRecord(1);
    mkdirSync(join(dir, `${blocked.id}.ndjson`)); // the segment cannot be created
    const e = await fails(log.append([blocked]), 'DECISION_LOG_INVALID');
    expect(e.message).toContain(`${blocked.id}.ndjson`);
    expect(log.stats()).toMatchObject({ failures: 1, queued: 0, committed: 1 });
    const after = decisionRecord(2);
    await log.append([after]);
    await log.close();
    rmSync(join(dir, `${blocked.id}.ndjson`), { recursive: true });
    expect((await all(dir)).map((r) => r.id)).toEqual([(await all(dir))[0]!.id, after.id]);
    await fails(getDecision(dir, blocked.id), 'DECISION_NOT_FOUND');
  });

  it('buffered: a failed write keeps the records queued and refuses new ones until a write succeeds', async () => {
    const dir = freshDir();
    const log = await openDecisionLog(dir, { durability: 'buffered', flushMs: 30, segmentBytes: 1 });
    const rec = decisionRecord(1);
    mkdirSync(join(dir, `${rec.id}.ndjson`));
    await log.append([rec]);
    while (!log.stats().failures) await new Promise((r) => setTimeout(r, 5));
    expect(log.stats().queued).toBe(1);
    await fails(log.append([decisionRecord(2)]), 'DECISION_LOG_INVALID');
    rmSync(join(dir, `${rec.id}.ndjson`), { recursive: true });
    while (log.stats().queued) await new Promise((r) => setTimeout(r, 5));
    await log.append([decisionRecord(3)]);
    await log.close();
    expect((await all(dir)).map((r) => r.id)[0]).toBe(rec.id);
    expect((await all(dir)).length).toBe(2);
  });

  it('checks its options and records', async () => {
    await expect(openDecisionLog(freshDir(), { durability: 'sometimes' as 'durable' })).rejects.toThrow(/expected 'durable' or 'buffered'/);
    await expect(openDecisionLog(freshDir(), { flushMs: 0 })).rejects.toThrow(/flushMs 0: expected a number >= 1/);
    const log = await openDecisionLog(freshDir());
    await fails(log.append([{ ...decisionRecord(0), id: 'x' }]), 'DECISION_LOG_INVALID');
    await log.close();
  });
});
