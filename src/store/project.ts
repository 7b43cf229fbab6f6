import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { KilnError } from '../core/errors.js';
import { EmbeddingRegistry, ModelRegistry, Tracker } from '../registry/index.js';
import { configFileIn, loadConfigFile, resolveProjectRoot, type KilnConfig } from '../config/index.js';
import { MetaStore } from './meta.js';
import { pgLocation, type PgLocation } from './sql/index.js';
import { assertReadableFile, fsError } from './fs-errors.js';
import { OfflineStore, type OfflineAccess } from './offline.js';
import { repairMeta, type RepairReport } from './repair.js';

export interface ProjectPaths {
  root: string;
  configFile: string;
  dataDir: string;
  offlineDb: string;
  metaDb: string;
  artifactsDir: string;
}

export function projectPaths(root: string, configFile: string, dataDir = '.kiln'): ProjectPaths {
  const data = resolve(root, dataDir);
  return {
    root,
    configFile,
    dataDir: data,
    offlineDb: join(data, 'offline.duckdb'),
    metaDb: join(data, 'meta.sqlite'),
    artifactsDir: join(data, 'artifacts'),
  };
}

export interface OpenProjectOptions {
  project?: string;
  cwd?: string;
  threads?: number;
  /** How the offline store is opened when first used: 'write' (default) or 'read' (several readers at once). */
  offline?: OfflineAccess;
  /** Seconds to wait for another process that holds the offline store (default 30). */
  waitTimeoutSeconds?: number;
  /** Keep the metadata in meta.sqlite even when the config or KILN_DATABASE_URL names PostgreSQL (a backtest's sandbox). */
  embeddedMetadata?: boolean;
}

/** The shared metadata database a project uses: KILN_DATABASE_URL, else the config's `metadata`, else none (embedded). */
export function sharedMetadata(config: KilnConfig, env: NodeJS.ProcessEnv = process.env): PgLocation | undefined {
  const url = env.KILN_DATABASE_URL?.trim();
  if (url) return pgLocation(url, env.KILN_DATABASE_SCHEMA?.trim() || undefined, 'KILN_DATABASE_URL');
  if (config.metadata) return pgLocation(config.metadata.url, config.metadata.schema ?? (env.KILN_DATABASE_SCHEMA?.trim() || undefined));
  return undefined;
}

/**
 * An open project: its validated config, the metadata store (SQLite) and the offline store (DuckDB).
 * The offline store opens on first use and `releaseOffline` lets go of it, so a command holds DuckDB's
 * single-writer lock only while it needs the data; commands that read only metadata never take it.
 */
export class Project {
  private constructor(
    readonly paths: ProjectPaths,
    readonly config: KilnConfig,
    private readonly store: OfflineStore,
    readonly meta: MetaStore,
  ) {}

  private registryHandle: ModelRegistry | undefined;
  private trackerHandle: Tracker | undefined;
  private embeddingsHandle: EmbeddingRegistry | undefined;

  /** The versions and aliases of this project's embedding spaces (files under `<dataDir>/embeddings`). */
  get embeddings(): EmbeddingRegistry {
    return (this.embeddingsHandle ??= new EmbeddingRegistry(this.meta.db, join(this.paths.dataDir, 'embeddings')));
  }

  /** The model registry of this project (versions, aliases, the audit log). */
  get registry(): ModelRegistry {
    return (this.registryHandle ??= new ModelRegistry(this.meta.db));
  }

  /** Experiment tracking of this project (runs, their metrics and artifacts); runs a crashed process left 'running' are marked failed when it is first used. */
  get tracker(): Tracker {
    return (this.trackerHandle ??= new Tracker(this.meta.db, this.paths.artifactsDir));
  }

  /** The offline store, opened on first use (waiting for another process that holds it). */
  get offline(): OfflineStore {
    return this.store;
  }

  /** Closes the offline store now so that other processes may use it; a later use opens it again. */
  releaseOffline(): void {
    this.store.close();
  }

  /** Opens the project at `--project` or the nearest one above the working directory. */
  static async open(opts: OpenProjectOptions = {}): Promise<Project> {
    const root = resolveProjectRoot(opts.project, opts.cwd);
    const configFile = configFileIn(root)!;
    assertReadableFile(configFile, 'the project config');
    const config = await loadConfigFile(configFile);
    const paths = projectPaths(root, configFile, config.dataDir);
    ensureDataDir(paths);
    await refuseMissingMeta(paths, opts.waitTimeoutSeconds);
    const meta = MetaStore.open(paths.metaDb, opts.embeddedMetadata ? undefined : sharedMetadata(config));
    const access = opts.offline ?? 'write';
    const holder: { project?: Project } = {};
    const offline = OfflineStore.lazy(paths.offlineDb, {
      access,
      ...(opts.threads ? { threads: opts.threads } : {}),
      ...(opts.waitTimeoutSeconds !== undefined ? { waitTimeoutSeconds: opts.waitTimeoutSeconds } : {}),
      ...(access === 'write' ? { afterOpen: () => holder.project!.recover() } : {}),
    });
    holder.project = new Project(paths, config, offline, meta);
    return holder.project;
  }

  /**
   * Settles what a killed process left behind: staging tables, and ingests recorded as pending. Runs
   * each time the store is opened for writing, when no other process can be mid-write.
   */
  private async recover(): Promise<void> {
    await this.store.dropStaleStaging();
    const pending = this.meta.pendingBatches();
    if (pending.length === 0) return;
    const committed = new Set<string>();
    if (await this.store.tableExists('__kiln_ingest_batches')) {
      const rows = await this.store.all<{ batch_id: string }>('SELECT batch_id FROM __kiln_ingest_batches');
      for (const r of rows) committed.add(r.batch_id);
    }
    for (const b of pending) this.meta.finishIngest(b, committed.has(b) ? 'done' : 'failed', new Map(), committed.has(b) ? undefined : 'process ended before the ingest committed');
  }

  close(): void {
    try {
      this.store.close();
    } finally {
      this.meta.close();
    }
  }
}

function ensureDataDir(paths: ProjectPaths): void {
  try {
    mkdirSync(paths.artifactsDir, { recursive: true });
    const ignore = join(paths.dataDir, '.gitignore');
    if (!existsSync(ignore)) writeFileSync(ignore, '# kiln data: databases and artifacts, not source\n*\n');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new KilnError('PROJECT_READONLY', `cannot write in ${paths.dataDir} (${code}); kiln keeps its databases and artifacts there. Run kiln as a user who may write there, or fix the permissions (ls -ld ${paths.dataDir})`, { path: [paths.dataDir], cause: e });
    }
    throw fsError(e, paths.dataDir, 'the data directory');
  }
}

/**
 * A project whose meta.sqlite is gone (or empty) while data is there would otherwise get a fresh, empty
 * registry: the tables' keys, the runs and the model versions silently lost. Refuse instead.
 */
async function refuseMissingMeta(paths: ProjectPaths, waitTimeoutSeconds?: number): Promise<void> {
  const state = await metaState(paths, waitTimeoutSeconds);
  if (state.ok) return;
  throw new KilnError(
    'META_MISSING',
    `the metadata store ${paths.metaDb} ${state.why}, but the project has data (${state.data.join('; ')}). kiln will not start an empty registry over it: ` +
      `restore meta.sqlite from a backup (${paths.metaDb}.bak-*), or rebuild what can be recovered (tables, runs, model versions) with 'kiln init --repair${paths.root === process.cwd() ? '' : ` ${paths.root}`}'`,
    { path: [paths.metaDb], details: state.data },
  );
}

/** Whether meta.sqlite may be used or created as it is; if not, why and what data is there. */
export async function metaState(paths: ProjectPaths, waitTimeoutSeconds?: number): Promise<{ ok: true } | { ok: false; why: string; data: string[] }> {
  let size = -1;
  try { size = statSync(paths.metaDb).size; } catch { /* absent */ }
  if (size > 0) return { ok: true };
  const data: string[] = [];
  const runs = existsSync(paths.artifactsDir) ? readdirSync(paths.artifactsDir).filter((d) => !d.startsWith('.')) : [];
  if (runs.length) data.push(`${runs.length} run artifact folder${runs.length > 1 ? 's' : ''} in ${paths.artifactsDir}`);
  const tables = await offlineTables(paths.offlineDb, waitTimeoutSeconds);
  const user = tables.filter((t) => !t.startsWith('__kiln'));
  if (user.length) data.push(`${user.length} table${user.length > 1 ? 's' : ''} in ${paths.offlineDb}: ${user.slice(0, 5).join(', ')}${user.length > 5 ? ', ...' : ''}`);
  else if (tables.length) data.push(`kiln's own tables in ${paths.offlineDb}`);
  if (data.length === 0) return { ok: true };
  return { ok: false, why: size === 0 ? 'is empty' : 'is missing', data };
}

/** The tables of the offline store (kiln's own included), read without taking the write lock. */
export async function offlineTables(path: string, waitTimeoutSeconds?: number): Promise<string[]> {
  if (!existsSync(path)) return [];
  const store = await OfflineStore.open(path, { access: 'read', ...(waitTimeoutSeconds !== undefined ? { waitTimeoutSeconds } : {}) });
  try {
    return (await store.all<{ t: string }>(`SELECT table_name AS t FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name`)).map((r) => r.t);
  } finally {
    store.close();
  }
}

export function configTemplate(name: string): string {
  return `import { defineConfig } from 'kiln';

/**
 * The kiln project config. Tables may declare a schema that ingest enforces; without one, ingest infers
 * the schema from the data. See the README for every field.
 */
export default defineConfig({
  name: ${JSON.stringify(name)},
  tables: {
    // loans: {
    //   key: 'loan_id',              // unique, never NULL
    //   timestamp: 'funded_at',      // parsed as UTC
    //   columns: { loan_id: 'bigint', funded_at: 'timestamp', amount: { type: 'double', nullable: false } },
    // },
  },
});
`;
}

/**
 * Creates a project in `dir`: kiln.config.ts and the data directory with offline.duckdb, meta.sqlite
 * and artifacts/. Re-running it on a project only creates what is missing; it refuses to create an empty
 * meta.sqlite beside existing data (META_MISSING) unless `repair` is set, which rebuilds it from the
 * offline store and the run artifacts (see repair.ts).
 */
export async function initProject(dir: string, opts: { name?: string; repair?: boolean; waitTimeoutSeconds?: number } = {}): Promise<{ paths: ProjectPaths; created: string[]; repair?: RepairReport }> {
  const root = resolve(dir);
  const created: string[] = [];
  let configFile = configFileIn(root);
  try {
    mkdirSync(root, { recursive: true });
    if (!configFile) {
      configFile = join(root, 'kiln.config.ts');
      const name = (opts.name ?? basename(root)).replace(/[^A-Za-z0-9_.-]/g, '-') || 'kiln-project';
      writeFileSync(configFile, configTemplate(name), { flag: 'wx' });
      created.push(configFile);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new KilnError('PROJECT_READONLY', `cannot create the project in ${root} (${code}); choose a directory you may write to`, { path: [root], cause: e });
    }
    throw fsError(e, root, 'the project directory');
  }
  assertReadableFile(configFile, 'the project config');
  const config = await loadConfigFile(configFile).catch((e: unknown) => {
    throw e instanceof KilnError ? e : new KilnError('CONFIG_INVALID', String(e));
  });
  const paths = projectPaths(root, configFile, config.dataDir);
  for (const p of [paths.offlineDb, paths.metaDb, paths.artifactsDir]) if (!existsSync(p)) created.push(p);
  ensureDataDir(paths);
  if (opts.repair) {
    const report = await repairMeta(paths, config, opts.waitTimeoutSeconds);
    if (!existsSync(paths.offlineDb)) (await OfflineStore.open(paths.offlineDb)).close();
    return { paths, created: created.filter((p) => p !== paths.metaDb), repair: report };
  }
  await refuseMissingMeta(paths, opts.waitTimeoutSeconds);
  MetaStore.open(paths.metaDb).close();
  if (!existsSync(paths.offlineDb)) (await OfflineStore.open(paths.offlineDb, opts.waitTimeoutSeconds !== undefined ? { waitTimeoutSeconds: opts.waitTimeoutSeconds } : {})).close();
  return { paths, created };
}
