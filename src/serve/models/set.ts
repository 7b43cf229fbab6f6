/**
 * The models a server serves, from the registry, swapped safely. Each configured reference
 * ('credit@champion', 'credit@3', 'credit') is resolved, loaded (`openLiveVersion`, yielding to the event
 * loop between steps) and validated (`validateLive`) before it serves. Every `pollMs` the set asks
 * SQLite whether the registry changed (`PRAGMA data_version`, which moves when another connection such
 * as `kiln models alias` commits, and the audit log's last id, which moves on every change of this one):
 * two tiny reads, so an idle set costs nothing. On a change each reference is resolved again; a new
 * version is loaded and validated, then its route replaces the old one in one Map assignment, so a request
 * holds a complete route. A version that fails is not swapped in: the old one keeps serving, the failure
 * is logged, emitted (`swap_failed`) and kept in `lastError`, and the version is not tried again until the
 * registry changes. A model that fails at open is 'failed' (not ready) and retried at every poll.
 * Challengers (shadow or canary) are validated the same way before they take traffic, and follow their
 * alias too. All changes run one at a time, in order; `route()` is a Map lookup and never throws. A
 * version swapped out, or failing validation, is retired (`retireLive`: an ONNX version releases its
 * onnxruntime session once the requests still scoring on it are done); `close()` retires every version.
 */
import { KilnError, isKilnError } from '../../core/errors.js';
import type { ModelVersion } from '../../registry/index.js';
import { listenRegistry, type Project } from '../../store/index.js';
import type { LiveVersion, ModelEvent, ModelRoute, ModelSet, ModelStatus, TrafficSpec } from '../types.js';
import { openLiveVersion, retireLive } from './live.js';
import { checkTraffic, refModel } from './spec.js';
import { validateLive, type ServedFeature } from './validate.js';

export interface ModelSetOptions {
  /** How often the registry is checked for moves (ms); default 1000; 0 checks only on `refresh()`. */
  readonly pollMs?: number;
  /** The features the online store serves (`servedFeatures(online.plan)`): signatures are checked against them. */
  readonly definitions?: readonly ServedFeature[];
  /** Challenger per model name (config `serve.traffic`). */
  readonly traffic?: Readonly<Record<string, TrafficSpec>>;
  /** Where loads, swaps and failures are written, one line each; default stderr. */
  readonly log?: (line: string) => void;
  /** GBDT versions explain (reasons) on a thread of their own (default true): the event loop stays free for other requests. */
  readonly shapThreads?: boolean;
}

/** One configured model's bookkeeping (off the request path). */
interface Slot {
  readonly name: string;
  readonly ref: string;
  state: ModelStatus['state'];
  traffic: Required<TrafficSpec> | null;
  lastError: ModelStatus['lastError'];
  lastSwapAt: string | null;
  warnings: readonly string[];
  /** 'ref#version' that failed validation: not tried again until the registry changes. */
  readonly rejected: Set<string>;
  /** The message of the last failure per ref, so a retried failure is logged once. */
  readonly reported: Map<string, string>;
}

const DEFAULT_POLL_MS = 1000;

/**
 * Opens the models `refs` name, loads and validates each, and starts watching the registry.
 * @example const models = await openModelSet(project, ['credit@champion'], { definitions: servedFeatures(online.plan) });
 */
export async function openModelSet(project: Project, refs: readonly string[], opts: ModelSetOptions = {}): Promise<ModelSet> {
  const slots = new Map<string, Slot>();
  for (const ref of refs) {
    const name = refModel(ref, '--models', 'USAGE');
    if (slots.has(name)) throw new KilnError('USAGE', `--models names '${name}' twice (${slots.get(name)!.ref}, ${ref}); serve one reference per model and add a challenger through serve.traffic`, { path: ['models', name] });
    slots.set(name, { name, ref, state: 'loading', traffic: null, lastError: null, lastSwapAt: null, warnings: [], rejected: new Set(), reported: new Map() });
  }
  if (slots.size === 0) throw new KilnError('USAGE', "no models to serve; name at least one, e.g. --models credit@champion");
  for (const [name, spec] of Object.entries(opts.traffic ?? {})) {
    const slot = slots.get(name);
    if (!slot) throw new KilnError('CONFIG_INVALID', `serve.traffic.${name}: '${name}' is not served (served: ${[...slots.keys()].join(', ')}); add it to --models or remove its traffic`, { path: ['serve', 'traffic', name] });
    slot.traffic = checkTraffic(name, spec, `serve.traffic.${name}`, 'CONFIG_INVALID');
  }
  const set = new RegistryModelSet(project, slots, opts);
  await set.refresh();
  set.start(opts.pollMs ?? DEFAULT_POLL_MS);
  return set;
}

/**
 * Retires the versions of route `from` that `to` no longer holds (an ONNX version releases its session
 * once its requests in flight are done; those that start later reopen one).
 */
async function retireReplaced(from: ModelRoute, to: ModelRoute | null): Promise<void> {
  const kept = new Set<LiveVersion>(to ? [to.primary, ...(to.challenger ? [to.challenger.live] : [])] : []);
  for (const v of [from.primary, from.challenger?.live]) if (v && !kept.has(v)) await retireLive(v);
}

class RegistryModelSet implements ModelSet {
  private readonly routes = new Map<string, ModelRoute>();
  private readonly listeners = new Set<(e: ModelEvent) => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private listener: { close: () => Promise<void> } | null = null;
  private closed = false;
  private lastKey = '';
  private readonly log: (line: string) => void;

  constructor(private readonly project: Project, private readonly slots: ReadonlyMap<string, Slot>, private readonly opts: ModelSetOptions) {
    this.log = opts.log ?? ((line) => process.stderr.write(`kiln serve: ${line}\n`));
  }

  route(name: string): ModelRoute | undefined { return this.routes.get(name); }
  names(): string[] { return [...this.slots.keys()]; }
  ready(): boolean { return this.routes.size === this.slots.size; }

  status(): ModelStatus[] {
    return [...this.slots.values()].map((s) => {
      const r = this.routes.get(s.name);
      const c = r?.challenger;
      return {
        name: s.name, ref: s.ref, state: s.state, version: r?.primary.version ?? null, aliases: r ? [...r.primary.info.aliases] : [],
        challenger: c ? { ref: c.live.ref, version: c.live.version, mode: c.mode, share: c.share } : null,
        lastError: s.lastError, lastSwapAt: s.lastSwapAt, warnings: s.warnings,
      };
    });
  }

  onEvent(listener: (e: ModelEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Checks the registry now; resolves once every model is in step with it (or its failure recorded). */
  refresh(): Promise<void> {
    return this.exclusive(() => this.sync());
  }

  setTraffic(name: string, traffic: TrafficSpec | null, opts: { readonly actor?: string; readonly reason: string }): Promise<ModelRoute> {
    return this.exclusive(async () => {
      const slot = this.slots.get(name);
      if (!slot) throw new KilnError('MODEL_NOT_SERVED', `model '${name}' is not served (served: ${this.names().join(', ')})`, { path: ['name'] });
      if (typeof opts.reason !== 'string' || !opts.reason.trim()) throw new KilnError('REQUEST_INVALID', `reason: a traffic change needs a reason (kept in the audit log)`, { path: ['reason'] });
      const spec = traffic === null ? null : checkTraffic(name, traffic, 'traffic', 'REQUEST_INVALID');
      const cur = this.routes.get(name);
      if (!cur) throw new KilnError('NOT_READY', `model '${name}' has no version loaded yet (${slot.lastError?.message ?? 'loading'}); set its traffic once it serves`);
      let challenger: ModelRoute['challenger'] = null;
      if (spec) {
        const info = this.project.registry.resolve(spec.challenger);
        const live = cur.challenger?.live.ref === spec.challenger && cur.challenger.live.version === info.version ? cur.challenger.live : await this.loadValid(spec.challenger, info);
        challenger = Object.freeze({ live, mode: spec.mode, share: spec.share });
      }
      try {
        this.project.registry.recordTraffic(name, {
          version: challenger?.live.version ?? null, previousVersion: cur.challenger?.live.version ?? null,
          details: spec ? { ...spec, version: challenger!.live.version } : null, reason: opts.reason, ...(opts.actor ? { actor: opts.actor } : {}),
        });
      } catch (e) {
        if (challenger && challenger.live !== cur.challenger?.live) await retireLive(challenger.live);
        throw e;
      }
      const latest = this.routes.get(name) ?? cur;
      const route: ModelRoute = Object.freeze({ name, primary: latest.primary, challenger });
      this.routes.set(name, route);
      await retireReplaced(latest, route);
      slot.traffic = spec;
      this.log(`${name}: traffic ${spec ? `${spec.mode} ${spec.challenger} (version ${challenger!.live.version})${spec.mode === 'canary' ? `, share ${spec.share}` : ''}` : 'removed'} (${opts.reason})`);
      this.emit({ kind: 'traffic', name, traffic: spec });
      return route;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const listening = this.listener;
    this.listener = null;
    await listening?.close();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.queue.catch(() => {});
    for (const r of this.routes.values()) await retireReplaced(r, null);
  }

  start(pollMs: number): void {
    if (!(pollMs > 0) || this.closed) return;
    this.timer = setInterval(() => {
      if (this.polling) return;
      this.polling = true;
      this.refresh().catch((e: unknown) => this.log(`registry check failed: ${(e as Error).message}`)).finally(() => { this.polling = false; });
    }, pollMs);
    this.timer.unref();
    // Shared registry (PostgreSQL): a move made by any process is announced at once (LISTEN/NOTIFY);
    // polling stays, so a lost notification costs at most one period.
    const shared = this.project.meta.shared;
    if (shared) {
      this.listener = listenRegistry(shared, (table) => {
        if (table !== 'audit_log' && table !== 'reconnect') return;
        this.refresh().catch((e: unknown) => this.log(`registry check failed: ${(e as Error).message}`));
      }, { log: this.log });
    }
  }

  /** Runs `fn` after every change queued before it; a failure does not stop the ones after. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private emit(e: ModelEvent): void {
    for (const l of this.listeners) {
      try { l(e); } catch (err) { this.log(`a model event listener threw: ${(err as Error).message}`); }
    }
  }

  /** Whether the registry changed since the last call: SQLite's data_version (other connections) and the audit log's last id (this one). */
  private registryChanged(): boolean {
    const db = this.project.meta.db;
    const key = `${String(db.changeToken())}:${String((db.prepare('SELECT max(id) AS id FROM audit_log').get() as { id: number | null }).id)}`;
    const changed = key !== this.lastKey;
    this.lastKey = key;
    return changed;
  }

  private async sync(): Promise<void> {
    if (this.closed) return;
    const changed = this.registryChanged();
    for (const slot of this.slots.values()) {
      if (changed) slot.rejected.clear();
      const route = this.routes.get(slot.name);
      const retry = !route || (slot.traffic !== null && (!route.challenger || route.challenger.live.ref !== slot.traffic.challenger));
      if (changed || retry) await this.syncSlot(slot);
    }
  }

  /** Brings one model in step with the registry: its primary, then its challenger. */
  private async syncSlot(slot: Slot): Promise<void> {
    const cur = this.routes.get(slot.name);
    const primary = await this.follow(slot, slot.ref, cur?.primary ?? null);
    if (!primary) { slot.state = cur ? 'ready' : 'failed'; return; }
    let challenger = cur?.challenger ?? null;
    if (slot.traffic) {
      const t = slot.traffic;
      const live = await this.follow(slot, t.challenger, challenger?.live.ref === t.challenger ? challenger.live : null);
      if (live && live !== challenger?.live) challenger = Object.freeze({ live, mode: t.mode, share: t.share });
    } else challenger = null;
    slot.state = 'ready';
    if (cur && primary === cur.primary && challenger === cur.challenger) return;
    const route: ModelRoute = Object.freeze({ name: slot.name, primary, challenger });
    this.routes.set(slot.name, route);
    if (cur && primary !== cur.primary) slot.lastSwapAt = new Date().toISOString();
    if (cur) await retireReplaced(cur, route);
  }

  /**
   * The version `ref` should serve now: `current` when the registry still points at it, else the newly
   * loaded and validated version, else (it failed) `current`, with the failure recorded.
   */
  private async follow(slot: Slot, ref: string, current: LiveVersion | null): Promise<LiveVersion | null> {
    const isPrimary = ref === slot.ref;
    const t0 = performance.now();
    let info: ModelVersion | null = null;
    try {
      info = this.project.registry.resolve(ref);
      if (current && current.version === info.version) { slot.reported.delete(ref); return current; }
      if (slot.rejected.has(`${ref}#${info.version}`)) return current;
      const live = await this.loadValid(ref, info, slot);
      const ms = performance.now() - t0;
      slot.reported.delete(ref);
      if (current) {
        this.log(`${slot.name}: ${ref} swapped from version ${current.version} to ${live.version} (loaded and validated in ${ms.toFixed(0)} ms)`);
        this.emit({ kind: 'swap', name: slot.name, ref, from: current.version, to: live.version, ms });
      } else {
        this.log(`${slot.name}: ${ref} is version ${live.version} (loaded and validated in ${ms.toFixed(0)} ms)${isPrimary ? '' : ' [challenger]'}`);
        this.emit({ kind: 'load', name: slot.name, ref, version: live.version, ms });
      }
      return live;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (info && isKilnError(e, 'MODEL_VALIDATION_FAILED')) slot.rejected.add(`${ref}#${info.version}`);
      slot.lastError = { time: new Date().toISOString(), version: info?.version ?? null, message };
      // A failure retried at every poll is logged and emitted once, until it changes.
      if (slot.reported.get(ref) === message) return current;
      slot.reported.set(ref, message);
      const kept = current ? `; version ${current.version} keeps serving` : isPrimary ? '; the model is not served until this is fixed (retried at every registry check)' : '; no challenger until this is fixed';
      this.log(`${slot.name}: ${ref}${info ? ` version ${info.version}` : ''} ${current ? 'not swapped in' : 'not loaded'}: ${message}${kept}`);
      this.emit({ kind: current ? 'swap_failed' : 'load_failed', name: slot.name, ref, version: info?.version ?? null, error: message });
      return current;
    }
  }

  /** Loads and validates one version; MODEL_VALIDATION_FAILED (or the load's error) when it may not serve. */
  private async loadValid(ref: string, info: ModelVersion, slot?: Slot): Promise<LiveVersion> {
    const live = await openLiveVersion(ref, info, this.project, { shapThread: this.opts.shapThreads ?? true });
    let result: ReturnType<typeof validateLive>;
    try {
      result = validateLive(live, this.opts.definitions ? { definitions: this.opts.definitions } : {});
    } catch (e) {
      await retireLive(live);
      throw e;
    }
    if (slot && ref === slot.ref) slot.warnings = result.warnings;
    for (const w of result.warnings) this.log(`warning: ${w}`);
    return live;
  }
}
