/**
 * The embedding spaces a server serves, from the embedding registry, swapped safely. Each configured
 * reference ('merchants@current', 'merchants@3', 'merchants') must resolve when the set opens (a space
 * with no version, or an alias that is not set, is a startup error); its version's files are opened and
 * its HNSW index memory-mapped before it serves. Every `pollMs` the set asks SQLite whether the registry
 * changed (`PRAGMA data_version` and the embedding audit's last id, as the model set does) and, on a
 * change, resolves each reference again: a new version is opened, then replaces the old one in one Map
 * assignment. A request takes the served version once (`current`) and reads only it, so it sees the old
 * version or the new one, never a mix; the old one stays open while any request holds it, and is kept
 * among the few other versions that shadow look-ups may read. A version that fails to open is not
 * swapped in: the old one keeps serving, the failure is logged once and kept in `lastError`.
 */
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { KilnError, didYouMean, isKilnError } from '../../core/errors.js';
import { VersionFiles, type EmbeddingVersion } from '../../embeddings/index.js';
import { listenRegistry, type Project } from '../../store/index.js';

/** One version of a space, opened: what a request reads from start to end. */
export interface ServedVersion {
  readonly space: string;
  readonly info: EmbeddingVersion;
  readonly files: VersionFiles;
}

export interface EmbeddingSpaceStatus {
  readonly space: string;
  /** The reference followed ('merchants@current'). */
  readonly ref: string;
  readonly state: 'ready' | 'failed';
  readonly version: number | null;
  readonly entity: string | null;
  readonly dim: number | null;
  readonly size: number | null;
  readonly metric: EmbeddingVersion['metric'] | null;
  /** Aliases that point at the served version now. */
  readonly aliases: readonly string[];
  readonly lastError: { readonly time: string; readonly version: number | null; readonly message: string } | null;
  readonly lastSwapAt: string | null;
}

export type EmbeddingEvent =
  | { readonly kind: 'load'; readonly space: string; readonly ref: string; readonly version: number; readonly ms: number }
  | { readonly kind: 'swap'; readonly space: string; readonly ref: string; readonly from: number; readonly to: number; readonly ms: number }
  | { readonly kind: 'swap_failed'; readonly space: string; readonly ref: string; readonly version: number | null; readonly error: string };

/** The served spaces; `current` is the request path (a Map lookup, never throws). */
export interface EmbeddingSet {
  /** The version `space` serves now; undefined when it is not served. */
  current(space: string): ServedVersion | undefined;
  spaces(): string[];
  /** Ready once every configured space has a version open. */
  ready(): boolean;
  status(): EmbeddingSpaceStatus[];
  /**
   * A registered version of a served space by number or alias (undefined: the served one; `where` names
   * the field in errors): the served one, or one opened on demand and kept (a few at a time) for the next
   * look-ups. EMBEDDING_NOT_FOUND when the space is not served.
   */
  version(space: string, selector: string | number | undefined, where: string): ServedVersion;
  /** Checks the registry for alias moves now (the set also does it every `pollMs`). */
  refresh(): Promise<void>;
  onEvent(listener: (e: EmbeddingEvent) => void): () => void;
  close(): Promise<void>;
}

export interface EmbeddingSetOptions {
  /** How often the registry is checked (ms); 0 checks only on `refresh()`. Default 1000. */
  readonly pollMs?: number;
  /** Where loads, swaps and failures are written, one line each; default stderr. */
  readonly log?: (line: string) => void;
  /** Versions other than the served ones kept open for shadow look-ups. Default 4. */
  readonly keepOther?: number;
}

interface Slot {
  readonly space: string;
  /** The configured reference; null: the default ('current' when that alias is set, else the latest version). */
  readonly ref: string | null;
  lastError: EmbeddingSpaceStatus['lastError'];
  lastSwapAt: string | null;
  /** The message of the last failure, so a retried failure is logged once. */
  reported: string | null;
}

const SPACE_REF = /^([A-Za-z][A-Za-z0-9_]*)(?:@([A-Za-z0-9_-]+))?$/;

/**
 * The default references: every space the config declares that has a trained version, at its alias
 * 'current' when set, else its latest version.
 * @example defaultEmbeddingRefs(project) // ['merchants@current', 'titles']
 */
export function defaultEmbeddingRefs(project: Project): string[] {
  const reg = project.embeddings;
  return Object.keys(project.config.embeddings ?? {}).filter((s) => reg.has(s)).map((s) => ('current' in reg.aliases(s) ? `${s}@current` : s));
}

function notServed(space: string, served: readonly string[]): KilnError {
  const hint = didYouMean(space, served);
  return new KilnError('EMBEDDING_NOT_FOUND', `embedding space '${space}' is not served here${hint ? `; did you mean '${hint}'?` : ''} (served: ${served.join(', ') || 'none'}; serve.embeddings or --embeddings names them)`, { path: ['params', 'space'] });
}

/**
 * Opens the spaces `refs` names (null: `defaultEmbeddingRefs`), each at the version its reference
 * resolves to, and starts watching the registry. Throws when a reference does not resolve.
 * @example const embeddings = await openEmbeddingSet(project, ['merchants@current'], { pollMs: 5000 });
 */
export async function openEmbeddingSet(project: Project, refs: readonly string[] | null, opts: EmbeddingSetOptions = {}): Promise<EmbeddingSet> {
  const where = refs === null ? 'the default embedding spaces' : 'serve.embeddings';
  const log = opts.log ?? ((line: string) => process.stderr.write(`kiln serve: ${line}\n`));
  const declared = Object.keys(project.config.embeddings ?? {});
  if (refs === null) {
    for (const s of declared.filter((d) => !project.embeddings.has(d))) log(`embeddings ${s}: declared but never trained, not served (kiln embeddings train ${s})`);
  }
  const slots = new Map<string, Slot>();
  for (const ref of refs ?? declared.filter((s) => project.embeddings.has(s))) {
    const m = SPACE_REF.exec(ref);
    if (!m) throw new KilnError('USAGE', `${where}: '${ref}' is not an embedding space reference; write SPACE@ALIAS or SPACE@VERSION, e.g. merchants@current`, { path: ['serve', 'embeddings'] });
    const space = m[1]!;
    if (slots.has(space)) throw new KilnError('USAGE', `${where} names embedding space '${space}' twice (${slots.get(space)!.ref}, ${ref}); serve one reference per space (other versions are read with ?version=)`, { path: ['serve', 'embeddings'] });
    slots.set(space, { space, ref: refs === null ? null : ref, lastError: null, lastSwapAt: null, reported: null });
  }
  const set = new RegistryEmbeddingSet(project, slots, { ...opts, log });
  try {
    await set.openAll();
  } catch (e) {
    await set.close();
    throw e;
  }
  set.start(opts.pollMs ?? 1000);
  return set;
}

class RegistryEmbeddingSet implements EmbeddingSet {
  private readonly live = new Map<string, ServedVersion>();
  /** Other versions, opened for shadow look-ups, least recently used first. */
  private readonly other = new Map<string, ServedVersion>();
  private readonly listeners = new Set<(e: EmbeddingEvent) => void>();
  private readonly log: (line: string) => void;
  private readonly keepOther: number;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private listener: { close: () => Promise<void> } | null = null;
  private closed = false;
  private lastKey = '';

  constructor(private readonly project: Project, private readonly slots: ReadonlyMap<string, Slot>, opts: EmbeddingSetOptions) {
    this.log = opts.log ?? ((line) => process.stderr.write(`kiln serve: ${line}\n`));
    this.keepOther = opts.keepOther ?? 4;
  }

  current(space: string): ServedVersion | undefined { return this.live.get(space); }
  spaces(): string[] { return [...this.slots.keys()]; }
  ready(): boolean { return this.live.size === this.slots.size; }

  status(): EmbeddingSpaceStatus[] {
    return [...this.slots.values()].map((s) => {
      const v = this.live.get(s.space)?.info;
      const aliases = v ? Object.entries(this.project.embeddings.aliases(s.space)).filter(([, n]) => n === v.version).map(([a]) => a) : [];
      return {
        space: s.space, ref: this.refOf(s), state: v ? 'ready' : 'failed', version: v?.version ?? null, entity: v?.entity ?? null, dim: v?.dim ?? null,
        size: v?.size ?? null, metric: v?.metric ?? null, aliases, lastError: s.lastError, lastSwapAt: s.lastSwapAt,
      };
    });
  }

  version(space: string, selector: string | number | undefined, where: string): ServedVersion {
    const cur = this.live.get(space);
    if (!cur) throw notServed(space, this.spaces());
    if (selector === undefined) return cur;
    const sel = String(selector);
    if (sel === String(cur.info.version) || this.refOf(this.slots.get(space)!) === `${space}@${sel}`) return cur;
    let info: EmbeddingVersion;
    try {
      info = this.project.embeddings.resolve(`${space}@${sel}`);
    } catch (e) {
      if (e instanceof KilnError) throw new KilnError(e.code, `${where}: ${e.message}`, { path: [where], cause: e });
      throw e;
    }
    if (info.version === cur.info.version) return cur;
    const key = `${space}@${info.version}`;
    let v = this.other.get(key);
    if (v) this.other.delete(key);
    else v = openVersion(info);
    this.keep(key, v);
    return v;
  }

  onEvent(listener: (e: EmbeddingEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  refresh(): Promise<void> {
    const run = this.queue.then(() => this.sync());
    this.queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    const listening = this.listener;
    this.listener = null;
    await listening?.close();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.queue.catch(() => {});
    // Requests still holding a version keep it; its memory (and the index's map) goes with the last of them.
    this.live.clear();
    this.other.clear();
  }

  /** Opens every slot at its reference; the first failure is thrown (a startup error). */
  async openAll(): Promise<void> {
    this.registryChanged();
    for (const slot of this.slots.values()) {
      const ref = this.refOf(slot);
      const t0 = performance.now();
      let info: EmbeddingVersion;
      try {
        info = this.project.embeddings.resolve(ref);
      } catch (e) {
        if (!(e instanceof KilnError)) throw e;
        const declared = slot.space in (this.project.config.embeddings ?? {});
        const fix = isKilnError(e, 'ALIAS_NOT_FOUND') ? `set it with 'kiln embeddings alias ${slot.space}@N ${ref.split('@')[1]!} --reason ...', serve another reference,`
          : declared && !this.project.embeddings.has(slot.space) ? `train it with 'kiln embeddings train ${slot.space}'` : 'name a trained space';
        throw new KilnError(e.code, `kiln serve: cannot serve embedding space '${ref}': ${e.message}. ${fix[0]!.toUpperCase()}${fix.slice(1)} or leave it out of serve.embeddings (--embeddings)`, { path: ['serve', 'embeddings', slot.space], cause: e });
      }
      await yieldLoop();
      const v = openVersion(info);
      const ms = performance.now() - t0;
      this.live.set(slot.space, v);
      this.log(`embeddings ${slot.space}: ${ref} is version ${info.version} (${info.size} x ${info.dim}, opened in ${ms.toFixed(0)} ms)`);
      this.emit({ kind: 'load', space: slot.space, ref, version: info.version, ms });
    }
  }

  start(pollMs: number): void {
    if (!(pollMs > 0) || this.closed) return;
    this.timer = setInterval(() => {
      if (this.polling) return;
      this.polling = true;
      this.refresh().catch((e: unknown) => this.log(`embedding registry check failed: ${(e as Error).message}`)).finally(() => { this.polling = false; });
    }, pollMs);
    this.timer.unref();
    // Shared registry (PostgreSQL): a move made by any process is announced at once (LISTEN/NOTIFY);
    // polling stays, so a lost notification costs at most one period.
    const shared = this.project.meta.shared;
    if (shared) {
      this.listener = listenRegistry(shared, (table) => {
        if (table !== 'embedding_audit' && table !== 'reconnect') return;
        this.refresh().catch((e: unknown) => this.log(`embedding registry check failed: ${(e as Error).message}`));
      }, { log: this.log });
    }
  }

  private refOf(slot: Slot): string {
    if (slot.ref !== null) return slot.ref;
    return 'current' in this.project.embeddings.aliases(slot.space) ? `${slot.space}@current` : slot.space;
  }

  private keep(key: string, v: ServedVersion): void {
    this.other.delete(key);
    this.other.set(key, v);
    while (this.other.size > this.keepOther) this.other.delete(this.other.keys().next().value!);
  }

  private emit(e: EmbeddingEvent): void {
    for (const l of this.listeners) {
      try { l(e); } catch (err) { this.log(`an embedding event listener threw: ${(err as Error).message}`); }
    }
  }

  private registryChanged(): boolean {
    const db = this.project.meta.db;
    const key = `${String(db.changeToken())}:${String((db.prepare('SELECT max(id) AS id FROM embedding_audit').get() as { id: number | null }).id)}`;
    const changed = key !== this.lastKey;
    this.lastKey = key;
    return changed;
  }

  private async sync(): Promise<void> {
    if (this.closed || !this.registryChanged()) return;
    for (const slot of this.slots.values()) {
      if (this.closed) return;
      await this.follow(slot);
    }
  }

  /** Brings one space in step with its reference: a new version is opened, then swapped in. */
  private async follow(slot: Slot): Promise<void> {
    const ref = this.refOf(slot);
    const cur = this.live.get(slot.space);
    const t0 = performance.now();
    let info: EmbeddingVersion | null = null;
    try {
      info = this.project.embeddings.resolve(ref);
      if (cur && cur.info.version === info.version) { slot.reported = null; return; }
      await yieldLoop();
      const kept = this.other.get(`${slot.space}@${info.version}`);
      const next = kept ?? openVersion(info);
      if (this.closed) return;
      // One assignment: a request reads the old version or the new one.
      this.live.set(slot.space, next);
      this.other.delete(`${slot.space}@${info.version}`);
      const ms = performance.now() - t0;
      slot.lastSwapAt = new Date().toISOString();
      slot.reported = null;
      if (cur) {
        this.keep(`${slot.space}@${cur.info.version}`, cur);
        this.log(`embeddings ${slot.space}: ${ref} swapped from version ${cur.info.version} to ${info.version} (opened in ${ms.toFixed(0)} ms)`);
        this.emit({ kind: 'swap', space: slot.space, ref, from: cur.info.version, to: info.version, ms });
      } else {
        this.log(`embeddings ${slot.space}: ${ref} is version ${info.version} (opened in ${ms.toFixed(0)} ms)`);
        this.emit({ kind: 'load', space: slot.space, ref, version: info.version, ms });
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      slot.lastError = { time: new Date().toISOString(), version: info?.version ?? null, message };
      if (slot.reported === message) return;
      slot.reported = message;
      this.log(`embeddings ${slot.space}: ${ref}${info ? ` version ${info.version}` : ''} not swapped in: ${message}${cur ? `; version ${cur.info.version} keeps serving` : ''}`);
      this.emit({ kind: 'swap_failed', space: slot.space, ref, version: info?.version ?? null, error: message });
    }
  }
}

/** Opens a version's files and maps its index, so that its first request pays neither. */
function openVersion(info: EmbeddingVersion): ServedVersion {
  const files = VersionFiles.open(info.path, info.checksum);
  if (files.dim !== info.dim || files.size !== info.size) {
    throw new KilnError('FILE_INVALID', `embedding space '${info.space}' version ${info.version}: its files hold ${files.size} x ${files.dim} vectors, the registry says ${info.size} x ${info.dim}`);
  }
  void files.index;
  return Object.freeze({ space: info.space, info, files });
}

/** A set that serves no space (a server of models only): every look-up is EMBEDDING_NOT_FOUND. */
export function noEmbeddings(): EmbeddingSet {
  return {
    current: () => undefined,
    spaces: () => [],
    ready: () => true,
    status: () => [],
    version: (space) => { throw notServed(space, []); },
    refresh: async () => {},
    onEvent: () => () => {},
    close: async () => {},
  };
}
