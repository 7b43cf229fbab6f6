import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { KilnError } from '../core/errors.js';
import { configFileIn, loadConfigFile, resolveProjectRoot, type KilnConfig } from '../config/index.js';
import { MetaStore } from './meta.js';
import { OfflineStore } from './offline.js';

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

/** An open project: its validated config, the offline store (DuckDB) and the metadata store (SQLite). */
export class Project {
  private constructor(
    readonly paths: ProjectPaths,
    readonly config: KilnConfig,
    readonly offline: OfflineStore,
    readonly meta: MetaStore,
  ) {}

  /** Opens the project at `--project` or the nearest one above the working directory. */
  static async open(opts: { project?: string; cwd?: string; threads?: number } = {}): Promise<Project> {
    const root = resolveProjectRoot(opts.project, opts.cwd);
    const configFile = configFileIn(root)!;
    const config = await loadConfigFile(configFile);
    const paths = projectPaths(root, configFile, config.dataDir);
    ensureDataDir(paths);
    const meta = MetaStore.open(paths.metaDb);
    let offline: OfflineStore;
    try {
      offline = await OfflineStore.open(paths.offlineDb, opts.threads ? { threads: opts.threads } : {});
    } catch (e) {
      meta.close();
      throw e;
    }
    const project = new Project(paths, config, offline, meta);
    await project.recover();
    return project;
  }

  /** Settles what a killed process left behind: staging tables, and ingests recorded as pending. */
  private async recover(): Promise<void> {
    await this.offline.dropStaleStaging();
    const pending = this.meta.pendingBatches();
    if (pending.length === 0) return;
    const committed = new Set<string>();
    if (await this.offline.tableExists('__kiln_ingest_batches')) {
      const rows = await this.offline.all<{ batch_id: string }>('SELECT batch_id FROM __kiln_ingest_batches');
      for (const r of rows) committed.add(r.batch_id);
    }
    for (const b of pending) this.meta.finishIngest(b, committed.has(b) ? 'done' : 'failed', new Map(), committed.has(b) ? undefined : 'process ended before the ingest committed');
  }

  close(): void {
    this.offline.close();
    this.meta.close();
  }
}

function ensureDataDir(paths: ProjectPaths): void {
  mkdirSync(paths.artifactsDir, { recursive: true });
  const ignore = join(paths.dataDir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# kiln data: databases and artifacts, not source\n*\n');
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
 * and artifacts/. Re-running it on a project only creates what is missing.
 */
export async function initProject(dir: string, opts: { name?: string } = {}): Promise<{ paths: ProjectPaths; created: string[] }> {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  const created: string[] = [];
  let configFile = configFileIn(root);
  if (!configFile) {
    configFile = join(root, 'kiln.config.ts');
    const name = (opts.name ?? basename(root)).replace(/[^A-Za-z0-9_.-]/g, '-') || 'kiln-project';
    writeFileSync(configFile, configTemplate(name), { flag: 'wx' });
    created.push(configFile);
  }
  const config = await loadConfigFile(configFile).catch((e: unknown) => {
    throw e instanceof KilnError ? e : new KilnError('CONFIG_INVALID', String(e));
  });
  const paths = projectPaths(root, configFile, config.dataDir);
  for (const p of [paths.offlineDb, paths.metaDb, paths.artifactsDir]) if (!existsSync(p)) created.push(p);
  ensureDataDir(paths);
  MetaStore.open(paths.metaDb).close();
  (await OfflineStore.open(paths.offlineDb)).close();
  return { paths, created };
}
