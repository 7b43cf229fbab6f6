/**
 * The online feature store: validated pushes become tile updates, reads merge tiles and raw edges into
 * feature values at the requested time, and derived features are evaluated by the same `evaluateExpr` as
 * offline. All of it runs above the `OnlineStore` interface, once for every backend.
 */
import { KilnError } from '../core/errors.js';
import { NamesCache } from '../core/index.js';
import { evaluateExpr } from '../features/index.js';
import { loadFeatureRegistry } from '../features/index.js';
import { targetSources, validateEvents, type PushTarget, type ValidateOptions } from './events.js';
import { dedupeSources, keysOf, pushAll, type PushAllOptions, type PushBatch, type PushTotals } from './push.js';
import {
  advanceCache, checkPlan, checkReadable, edgeRequest, emptyValues, fillInner, innerRequest, innerSpec, resolvedMatches, staleWindows, windowFinisher,
  type InnerPlan, type MiddleWrite, type SeriesCache, type WindowFinisher,
} from './engine/evaluate.js';
import { ONLINE_FORMAT, buildPlan, cellKey, readPlanOf, tileCodecOf, type OnlinePlan, type ReadPlan, type SourcePlan } from './engine/plan.js';
import { parseUtc } from '../core/time.js';
import { DENSE_DAY, applyEvents, rebuildWrite, upkeepOf, upkeepRequest, writeRequest, type RetentionOptions } from './engine/tiles.js';
import type { EventKeys, OnlineStore, RawEvent, SeriesData, SeriesKey, SeriesRequest } from './types.js';
import { MANIFEST_FEATURES, MANIFEST_FORMAT, MANIFEST_MATERIALIZED, checkFormat, type MaterializationRecord } from './manifest.js';
import type { EntityId, OnlineFeatureStoreOptions, OnlineLookup, OnlineRow, PushSummary, ReadOptions } from './options.js';

export type { EntityId, OnlineFeatureStoreOptions, OnlineLookup, OnlineRow, PushSummary, ReadOptions } from './options.js';

const WRITE_CHUNK = 2000;
const DAY_MS = 86_400_000;

/** One row: aggregate cells from the finished states, derived cells by the same evaluator as offline, in dependency order. */
function assemble(rp: ReadPlan, id: EntityId, values: readonly unknown[][][]): OnlineRow {
  const cells: unknown[] = new Array(rp.cells.length);
  const lookup = (ref: string, bucket?: string | number): number | null => {
    const v = cells[rp.cellOf.get(cellKey(ref, bucket))!];
    return typeof v === 'number' ? v : null;
  };
  rp.cells.forEach((c, i) => { cells[i] = 'expr' in c ? evaluateExpr(c.expr, lookup) : values[c.source]![c.window]![c.view]; });
  // times in the training set's type (ISO text), after derived features have read the cells
  for (let i = 0; i < rp.typed.length; i++) { const t = rp.typed[i]!; cells[t.cell] = t.convert(cells[t.cell]); }
  return rp.row(id, cells);
}

const cacheKey = (key: SeriesKey): string => `${key.source}\u0000${key.entity}`;
/** A series this process holds nothing for. */
const NO_CACHE: SeriesCache = { version: -1, baseE: null, windows: [] };

export class OnlineFeatureStore {
  /**
   * Reads whose inner parts the backend resolved in the first round trip, and those it had to read again (a
   * mismatch); middle states read, and written back (or failed to be: only a slower next read).
   */
  readonly stats = { innerResolved: 0, innerReread: 0, middlesRead: 0, middlesWritten: 0, middleWritesFailed: 0 };
  private readonly cache = new Map<string, SeriesCache>();
  private readonly readPlans = new NamesCache<ReadPlan>((names) => readPlanOf(this.plan, [...names]));
  private queue: Promise<unknown> = Promise.resolve();
  /** Background write-backs in flight (never rejecting): `close()` waits for them. */
  private readonly writeBacks = new Set<Promise<void>>();
  /** Whether the manifest names the store's format (else the first reset or push writes it). */
  private formatWritten = false;

  private constructor(
    readonly backend: OnlineStore, readonly plan: OnlinePlan, private readonly marginUs: number, private readonly cacheLimit: number, private readonly denseDay: number,
    /** Event key column by served source name (sources whose table declares one). */
    private readonly keyed: ReadonlyMap<string, string>,
  ) {}

  /**
   * Opens the engine over a backend.
   * @example const online = await OnlineFeatureStore.open(EmbeddedOnlineStore.open(file), project.config.features);
   */
  static async open(backend: OnlineStore, definitions: readonly unknown[], opts: OnlineFeatureStoreOptions = {}): Promise<OnlineFeatureStore> {
    const manifest = await backend.manifest();
    checkFormat(manifest[MANIFEST_FORMAT]);
    const stored = manifest[MANIFEST_FEATURES];
    const selection = opts.features ?? (stored ? (JSON.parse(stored) as string[]) : undefined);
    let plan: OnlinePlan;
    try {
      plan = buildPlan(loadFeatureRegistry(definitions), selection);
    } catch (e) {
      if (opts.features !== undefined || !(e instanceof KilnError)) throw e;
      throw new KilnError(e.code, `${e.message}\n(the online store was materialised for ${stored ?? ''}; materialize again, or pass the features to serve)`, { cause: e });
    }
    const margin = opts.retentionMarginMs ?? DAY_MS;
    if (!(margin >= 0)) throw new KilnError('INVALID_ARGUMENT', `retentionMarginMs must be >= 0; got ${margin}`);
    const denseDay = opts.denseDay ?? DENSE_DAY;
    if (!Number.isInteger(denseDay) || denseDay < 1) throw new KilnError('INVALID_ARGUMENT', `denseDay must be a whole number >= 1; got ${denseDay}`);
    for (const sp of plan.sources.values()) backend.useCodec?.(sp.hash, tileCodecOf(sp));
    const keyed = new Map<string, string>();
    for (const sp of plan.sources.values()) { const k = opts.eventKeys?.[sp.source.table]; if (k) keyed.set(sp.source.name, k); }
    const store = new OnlineFeatureStore(backend, plan, margin * 1000, Math.max(0, Math.floor(opts.cacheSeries ?? 10_000)), denseDay, keyed);
    store.formatWritten = manifest[MANIFEST_FORMAT] !== undefined;
    return store;
  }

  /** The event key column of a served source, when its table declares one. */
  eventKeyColumn(source: string): string | undefined {
    return this.keyed.get(source);
  }

  /**
   * Validates events and updates their series' tiles. A table target updates every served source that
   * reads the table (as the offline store would see a new row).
   * @example await online.push({ source: 'transactions' }, [{ borrower_id: 7, ts: '2025-03-01T10:00:00Z', amount: 12.5, ... }])
   */
  async push(target: PushTarget, rows: readonly unknown[], opts: ValidateOptions = {}): Promise<PushSummary> {
    const started = performance.now();
    const sources = targetSources(this.plan, target);
    const { bySource, skipped } = validateEvents(sources, rows, opts, this.keyed);
    return this.exclusive(async () => {
      // Deduplicated in the writer's queue: no other push of this process runs between the look-up and the write.
      const { duplicates, digests } = await dedupeSources(this.backend, this.plan, this.keyed, bySource, rows, opts.label);
      let events = 0;
      let series = 0;
      for (const byEntity of bySource.values()) { series += byEntity.size; for (const l of byEntity.values()) events += l.length; }
      for (const [name, byEntity] of bySource) if (byEntity.size) await this.writeSource(this.plan.sources.get(name)!, byEntity, {}, digests.get(name));
      return { events, duplicates, skipped, series, seconds: (performance.now() - started) / 1000 };
    });
  }

  /**
   * Pushes batches in order (e.g. the chunks of a file), reporting totals after each; between batches it
   * honours `signal`, and an interruption or a failure says how many events were written, and whether
   * re-running the same push is safe (it is when every target source has an event key).
   * @example await online.pushAll({ source: 'transactions' }, [{ rows: first }, { rows: second }], { signal });
   */
  async pushAll(target: PushTarget, batches: AsyncIterable<PushBatch> | Iterable<PushBatch>, opts: PushAllOptions = {}): Promise<PushTotals> {
    const keyed = targetSources(this.plan, target).every((sp) => this.keyed.has(sp.source.name));
    return pushAll({ push: (t, rows, o) => this.push(t as PushTarget, rows, o), flush: () => this.flush() }, target, keyed, batches, opts);
  }


  /** Writes trusted events of one source (materialisation); `clock` is the time the store has reached. */
  async ingest(source: string, byEntity: ReadonlyMap<string, RawEvent[]>, clock?: number): Promise<void> {
    const sp = this.plan.sources.get(source);
    if (!sp) throw new Error(`internal: source ${source} is not planned`);
    await this.exclusive(() => this.writeSource(sp, byEntity, clock === undefined ? {} : { clock }));
  }

  /** Tells the backend that these entities' series of a source are complete for now (see `OnlineStore.release`). */
  async release(source: string, entities: readonly string[]): Promise<void> {
    const release = this.backend.release;
    if (!release || entities.length === 0) return;
    await this.exclusive(() => release.call(this.backend, entities.map((entity) => ({ source, entity }))));
  }

  /** Removes every series of the served sources (before a materialisation) and records what is served (and `record`, when given). */
  async reset(record?: MaterializationRecord): Promise<void> {
    await this.exclusive(async () => {
      await this.backend.reset([...this.plan.sources.keys()], {
        [MANIFEST_FEATURES]: JSON.stringify(this.plan.selection), [MANIFEST_FORMAT]: ONLINE_FORMAT,
        ...(record ? { [MANIFEST_MATERIALIZED]: JSON.stringify(record) } : {}),
      });
      this.formatWritten = true;
      this.cache.clear();
    });
  }

  /** Records the materialisation in the manifest (materialize, when it finishes). */
  async recordMaterialization(record: MaterializationRecord): Promise<void> {
    await this.exclusive(() => this.backend.reset([], { [MANIFEST_MATERIALIZED]: JSON.stringify(record) }));
  }

  /** The last materialisation the manifest records: null when none was recorded (none, or made before kiln recorded them). */
  async materialization(): Promise<MaterializationRecord | null> {
    const text = (await this.backend.manifest())[MANIFEST_MATERIALIZED];
    if (!text) return null;
    try {
      return JSON.parse(text) as MaterializationRecord;
    } catch {
      return null;
    }
  }

  /**
   * Feature values for each entity at `asOf` (default now), computed at request time from tiles and raw
   * edge events: equal to the offline training set at that time for the same events.
   * @example const [row] = await online.getOnlineFeatures([42], 'credit_v1');
   */
  async getOnlineFeatures(entityIds: readonly EntityId[], features?: string | readonly string[], opts: ReadOptions = {}): Promise<OnlineRow[]> {
    return this.rowsOf(entityIds, features, opts, null);
  }

  /**
   * As `getOnlineFeatures`, and per entity whether it is known: whether any served source has ever stored an
   * event or a materialised value for it (and which), so a borrower the store never saw is not mistaken for
   * one without activity. Sources the features do not read cost one more round trip, for meta only.
   * @example const [{ known, row }] = await online.lookup([42], 'credit_v1');
   */
  async lookup(entityIds: readonly EntityId[], features?: string | readonly string[], opts: ReadOptions = {}): Promise<OnlineLookup[]> {
    const seen: string[][] = entityIds.map(() => []);
    const rows = await this.rowsOf(entityIds, features, opts, seen);
    const touched = new Set(this.readPlan(features).sources.map((s) => s.plan.source.name));
    const others = [...this.plan.sources.keys()].filter((s) => !touched.has(s));
    if (others.length) {
      const metas = await this.backend.read(entityIds.flatMap((id) => others.map((source) => ({ key: { source, entity: String(id) } }))));
      entityIds.forEach((_, n) => others.forEach((source, j) => { if (metas[n * others.length + j]!.meta) seen[n]!.push(source); }));
    }
    return rows.map((row, n) => ({ entity: entityIds[n]!, known: seen[n]!.length > 0, sources: seen[n]!.sort(), row }));
  }

  /** The rows; with `seen`, also the sources (of the read) that hold each entity's series. */
  private async rowsOf(entityIds: readonly EntityId[], features: string | readonly string[] | undefined, opts: ReadOptions, seen: string[][] | null): Promise<OnlineRow[]> {
    const rp = this.readPlan(features);
    const at = opts.asOf === undefined ? Date.now() * 1000 : parseUtc(opts.asOf, 'asOf');
    const bound = opts.eventTimeBound ?? 'strict';
    if (bound !== 'strict' && bound !== 'inclusive') throw new KilnError('INVALID_ARGUMENT', `eventTimeBound must be 'strict' or 'inclusive'; got '${String(bound)}'`);
    const E = bound === 'strict' ? at : at + 1;
    const ids = entityIds.map((id, i) => {
      if ((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id))) return String(id);
      throw new KilnError('INVALID_ARGUMENT', `entity id ${i} (${JSON.stringify(id)}) must be text or a number`);
    });

    interface Job {
      readonly key: SeriesKey; readonly sp: SourcePlan; readonly windows: ReadPlan['sources'][number]['windows']; readonly tails: number[];
      cache: SeriesCache | null; finisher: WindowFinisher | null; readonly values: unknown[][];
    }
    const jobs: Job[] = [];
    const first: SeriesRequest[] = [];
    const resolves = this.backend.readResolved !== undefined;
    for (const entity of ids) {
      for (const src of rp.sources) {
        const key = { source: src.plan.source.name, entity };
        const { request, tails } = edgeRequest(key, src.plan, src.windows, E);
        jobs.push({ key, sp: src.plan, windows: src.windows, tails, cache: null, finisher: null, values: [] });
        // A series this process holds nothing for has every window stale: a backend that can resolve the inner
        // parts against the meta it reads gets them in the same request (one round trip instead of two).
        first.push(resolves && !this.cache.has(cacheKey(key)) ? { key, raw: request.raw!, inner: innerSpec(src.plan, staleWindows(src.plan, NO_CACHE, src.windows, E), E) } : request);
      }
    }
    const edges = resolves ? await this.backend.readResolved!(first) : await this.backend.read(first);
    const finisherOf = (job: Job, i: number): WindowFinisher => (job.finisher ??= windowFinisher(job.sp, edges[i]!, job.tails, E, at));
    const stale: { job: Job; at: number; plan: InnerPlan; keep: boolean; data: SeriesData | null; middlesOut: MiddleWrite[] | undefined }[] = [];
    jobs.forEach((job, i) => {
      const got = edges[i]!;
      const meta = got.meta;
      if (!meta) return;
      checkPlan(job.sp, meta);
      const { cache, known } = this.cacheFor(job.key, meta.version);
      job.cache = cache;
      const missing = staleWindows(job.sp, cache, job.windows, E);
      if (!missing.length) return;
      // A series read for the first time since its last write is finished straight from the merge; its inner
      // parts are kept (copied per window) from the second read on, so one-off reads copy nothing.
      // The middle states the backend found stand in for their links' 16- and 64-day tiles.
      const middles = got.inner ? new Set(got.inner.fields.filter((f) => f.startsWith('m:'))) : undefined;
      if (middles?.size) this.stats.middlesRead += middles.size;
      const plan = innerRequest(job.key, job.sp, meta, missing, E, middles);
      // What the backend resolved is used only when it holds everything this plan reads.
      const data = got.inner && !got.tilesMissing && resolvedMatches(plan, got.inner) ? got.inner.data : null;
      if (got.inner) this.stats[data ? 'innerResolved' : 'innerReread']++;
      stale.push({ job, at: i, plan, keep: known, data, middlesOut: data && this.backend.putMiddles ? [] : undefined });
    });
    const unread = stale.filter((s) => s.data === null);
    if (unread.length) {
      const got = await this.withTiles(unread.map((s) => s.job.sp), unread.map((s) => s.plan.request), await this.backend.read(unread.map((s) => s.plan.request)));
      unread.forEach((s, j) => { s.data = got[j]!; });
    }
    stale.forEach((s) => {
      const { job } = s;
      const data = s.data!;
      if (s.keep) fillInner(job.sp, job.cache!, s.plan, data, undefined, s.middlesOut);
      else {
        const wanted = new Map(job.windows.map((w) => [w.index, w.views]));
        const finish = finisherOf(job, s.at);
        fillInner(job.sp, job.cache!, s.plan, data, (index, entry) => {
          const views = wanted.get(index);
          if (views) job.values[index] = finish(index, views, entry);
        }, s.middlesOut);
      }
      // Written back without waiting, after this read has answered (encoding them is not the reader's latency):
      // the next reader of the series (any process) merges one state per long link.
      const middles = s.middlesOut;
      if (middles?.length) this.writeBack(() => this.backend.putMiddles!(job.key, job.sp.hash, middles), middles.length);
    });

    return ids.map((entity, n) => {
      const values = rp.sources.map((_, si) => {
        const i = n * rp.sources.length + si;
        const job = jobs[i]!;
        const data = edges[i]!;
        if (seen && data.meta) seen[n]!.push(job.key.source);
        if (!data.meta || !job.cache) return emptyValues(job.sp, job.windows, at);
        checkReadable(job.sp, job.windows, data.meta, job.cache, E, entity);
        for (const { index, views } of job.windows) job.values[index] ??= finisherOf(job, i)(index, views, job.cache.windows[index]!);
        return job.values;
      });
      return assemble(rp, entityIds[n]!, values);
    });
  }

  /** Makes every write durable (the embedded backend writes behind). */
  async flush(): Promise<void> {
    await this.exclusive(() => this.backend.flush());
  }

  /** Waits for the background write-backs (middle states), then closes the backend. */
  async close(): Promise<void> {
    while (this.writeBacks.size) await Promise.all([...this.writeBacks]);
    await this.exclusive(() => this.backend.close());
  }

  /**
   * Runs a write-back after the current read has answered (encoding is not the reader's latency), tracked so
   * that `close()` waits for it; a failure is only counted (a lost middle state is a slower next read).
   */
  private writeBack(write: () => Promise<void>, n: number): void {
    const done: Promise<void> = new Promise<void>((resolve) => { setImmediate(resolve); })
      .then(write)
      .then(() => { this.stats.middlesWritten += n; }, () => { this.stats.middleWritesFailed += n; })
      .finally(() => { this.writeBacks.delete(done); });
    this.writeBacks.add(done);
  }

  private readPlan(features: string | readonly string[] | undefined): ReadPlan {
    return this.readPlans.get(features === undefined ? this.plan.selection : typeof features === 'string' ? [features] : features);
  }

  /** The series' cache entry; `known` when it was there already (read before since its last write). */
  private cacheFor(key: SeriesKey, version: number): { cache: SeriesCache; known: boolean } {
    const k = cacheKey(key);
    let c = this.cache.get(k);
    const known = c !== undefined && c.version === version;
    if (known) {
      this.cache.delete(k); // most recently used last
    } else {
      c = { version, baseE: null, windows: [] };
    }
    if (this.cacheLimit > 0) {
      this.cache.set(k, c!);
      if (this.cache.size > this.cacheLimit) this.cache.delete(this.cache.keys().next().value!);
    }
    return { cache: c!, known };
  }

  /** `digests`: of keyed events, by entity, when the push computed them (else computed here). */
  private async writeSource(sp: SourcePlan, byEntity: ReadonlyMap<string, RawEvent[]>, extra: { clock?: number }, digests?: ReadonlyMap<string, number[]>): Promise<void> {
    if (!this.formatWritten) { await this.backend.reset([], { [MANIFEST_FORMAT]: ONLINE_FORMAT }); this.formatWritten = true; }
    const opts: RetentionOptions = { marginUs: this.marginUs, denseDay: this.denseDay, ...extra };
    const keyed = this.keyed.has(sp.source.name);
    const entities = [...byEntity.keys()];
    for (let start = 0; start < entities.length; start += WRITE_CHUNK) {
      const chunk = entities.slice(start, start + WRITE_CHUNK);
      const keys = chunk.map((entity) => ({ source: sp.source.name, entity }));
      const events = chunk.map((e) => byEntity.get(e)!);
      const requests = keys.map((k, j) => writeRequest(k, events[j]!));
      const data = await this.withTiles(requests.map(() => sp), requests, await this.backend.read(requests));
      const upkeep = data.map((d, j) => { checkPlan(sp, d.meta); return upkeepOf(sp, d.meta, events[j]!, opts); });
      const extraAt: number[] = [];
      const extraReqs: SeriesRequest[] = [];
      data.forEach((d, j) => {
        const req = upkeepRequest(sp, keys[j]!, d, events[j]!, upkeep[j]!, opts);
        if (req) { extraAt[j] = extraReqs.length; extraReqs.push(req); }
      });
      const extra: SeriesData[] = extraReqs.length ? await this.withTiles(extraReqs.map(() => sp), extraReqs, await this.backend.read(extraReqs)) : [];
      // From here to the write call nothing awaits: a backend that shares its objects sees the change at once.
      const writes = chunk.map((_, j) => applyEvents(sp, keys[j]!, data[j]!, extraAt[j] === undefined ? null : extra[extraAt[j]!]!, events[j]!, upkeep[j]!, opts));
      // Keys of keyed events, remembered with the series in the same write (so a write and its keys land together).
      if (keyed) writes.forEach((w, j) => { (w as { eventKeys?: EventKeys }).eventKeys = keysOf(events[j]!, digests?.get(chunk[j]!)); });
      if (this.cache.size) writes.forEach((w, j) => {
        const k = cacheKey(keys[j]!);
        const c = this.cache.get(k);
        if (!c) return;
        if (c.version === (data[j]!.meta?.version ?? 0)) advanceCache(sp, c, events[j]!, w.meta.version, w.base?.lastVisibleAt);
        else this.cache.delete(k);
      });
      await this.backend.write(writes);
    }
  }

  /** Rebuilds the tiles of series whose backend did not keep them (after a restart), then reads them again. */
  private async withTiles(plans: readonly SourcePlan[], requests: readonly SeriesRequest[], data: SeriesData[], depth = 0): Promise<SeriesData[]> {
    // A series of another plan is refused later (checkPlan), never rebuilt with this plan's slots.
    const missing = data.flatMap((d, i) => (d.tilesMissing && d.meta?.plan === plans[i]!.hash ? [i] : []));
    if (!missing.length) return data;
    const logs = await this.backend.read(missing.map((i) => ({ key: requests[i]!.key, raw: [[-Infinity, Infinity]] })));
    await this.backend.write(missing.map((i, j) => rebuildWrite(plans[i]!, requests[i]!.key, logs[j]!.meta!, logs[j]!.raw[0]!, this.denseDay)));
    const again = await this.backend.read(missing.map((i) => requests[i]!));
    const out = [...data];
    missing.forEach((i, j) => { out[i] = again[j]!; });
    // A backend bounding its memory may have dropped a series again in between (a concurrent read of many others).
    if (again.some((d) => d.tilesMissing)) {
      if (depth >= 3) throw new Error('internal: series tiles went missing again after three rebuilds (maxSeriesInMemory too small for one request?)');
      return this.withTiles(plans, requests, out, depth + 1);
    }
    return out;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
