/**
 * Shared by the HTTP tests: a small real world (the demo's simulated lending world, two trained versions
 * of a credit model on `credit_v1`, materialised into a real embedded online store), and `testServer()`,
 * which builds a server over fixed routes and a real decision log in a temporary directory.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../../src/core/errors.js';
import { materialize, openOnlineStore, type OnlineFeatureStore } from '../../src/online/index.js';
import { trainModel } from '../../src/pipelines/index.js';
import { createServer, type KilnServer } from '../../src/serve/http/index.js';
import { fixedModelSet, loadLiveVersion, openDecisionLog, readDecisions, type DecisionLog, type DecisionLogStats, type DecisionRecord, type DecisionWriter, type LiveVersion, type ModelRoute } from '../../src/serve/index.js';
import { SERVE_DEFAULTS, type ServeSettings } from '../../src/serve/settings.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { DEMO_FEATURES_FILE, tempDir } from '../helpers.js';

/**
 * The real decision log (src/serve/decisions/) in a temporary directory, with a count of append calls
 * (one per request) and whether it was closed, for the tests that check how the server uses it.
 */
export class CountingLog implements DecisionWriter {
  appends = 0;
  closed = false;
  private constructor(readonly log: DecisionLog, readonly dir: string, private readonly cleanup: () => void) {}
  static async open(): Promise<CountingLog> {
    const { dir, cleanup } = tempDir('kiln-serve-log-');
    return new CountingLog(await openDecisionLog(dir), dir, cleanup);
  }
  append(records: readonly DecisionRecord[]): Promise<void> { this.appends++; return this.log.append(records); }
  stats(): DecisionLogStats { return this.log.stats(); }
  get(id: string): Promise<DecisionRecord> { return this.log.get(id); }
  flush(): Promise<void> { return this.log.flush(); }
  async close(): Promise<void> { this.closed = true; await this.log.close(); }
  /** Every record on disk, in id order. */
  async records(): Promise<DecisionRecord[]> {
    const out: DecisionRecord[] = [];
    for await (const r of readDecisions(this.dir)) out.push(r);
    return out;
  }
  /** Closes the log if open and removes its directory. */
  async dispose(): Promise<void> { if (!this.closed) await this.close(); this.cleanup(); }
}

const MODEL = {
  spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
  label: { column: 'default_12m', availableAt: 'label_available_at' },
  features: 'credit_v1',
  split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
  minPositives: 3,
  defaultReason: 'Other credit history factors',
};

/**
 * The config of a test world: the demo's features and a credit model on `credit_v1` with these GBDT
 * params; `extra` is more config text (e.g. `serve: {...}, `) placed before `models`.
 */
export function creditConfigText(name: string, params: Record<string, number>, extra = ''): string {
  return `import { defineConfig } from 'kiln';\nimport { DEMO_FEATURES, DEMO_REASONS, DEMO_REASON_GROUPS } from ${JSON.stringify(DEMO_FEATURES_FILE)};\n`
    + `export default defineConfig({ name: '${name}', features: [...DEMO_FEATURES], ${extra}`
    + `models: { credit: { ...${JSON.stringify({ ...MODEL, params })}, reasons: DEMO_REASONS, reasonGroups: DEMO_REASON_GROUPS } } });\n`;
}

export interface World {
  readonly dir: string;
  readonly project: Project;
  readonly online: OnlineFeatureStore;
  readonly v1: LiveVersion;
  readonly v2: LiveVersion;
  /** Entity ids the online store knows. */
  readonly entities: number[];
  cleanup(): Promise<void>;
}

/** Simulates a small world, trains credit v1 and v2 (other params), materialises credit_v1 (~10 s). */
export async function buildWorld(): Promise<World> {
  const { dir, cleanup } = tempDir('kiln-serve-');
  writeFileSync(join(dir, 'kiln.config.ts'), creditConfigText('serve-test', { max_depth: 3, learning_rate: 0.1, n_estimators: 40 }));
  await initProject(dir);
  let project = await Project.open({ project: dir });
  const s = await simulate(project.offline, { borrowers: 3000, seed: 5 });
  for (const t of s.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
  await trainModel(project, 'credit', { quiet: true, force: true });
  project.close();
  writeFileSync(join(dir, 'kiln.config.ts'), creditConfigText('serve-test', { max_depth: 4, learning_rate: 0.05, n_estimators: 60 }));
  project = await Project.open({ project: dir });
  await trainModel(project, 'credit', { quiet: true, force: true });
  const online = await openOnlineStore(project, { features: 'credit_v1' });
  await materialize(project, { store: online, quiet: true });
  const ids = await project.offline.all<{ id: number }>('SELECT DISTINCT borrower_id::INT AS id FROM transactions ORDER BY 1 LIMIT 300');
  project.releaseOffline();
  const v1 = loadLiveVersion(project, 'credit@1');
  const v2 = loadLiveVersion(project, 'credit@2');
  return {
    dir, project, online, v1, v2, entities: ids.map((r) => r.id),
    cleanup: async () => { await online.close(); project.close(); cleanup(); },
  };
}

export function route(primary: LiveVersion, challenger: ModelRoute['challenger'] = null): ModelRoute {
  return { name: primary.name, primary, challenger };
}

export function settings(over: Partial<ServeSettings> = {}): ServeSettings {
  return { ...SERVE_DEFAULTS, models: [], embeddings: [], apiKeys: [], traffic: {}, ...over };
}

export interface TestServer {
  readonly app: KilnServer;
  readonly decisions: CountingLog;
  close(): Promise<void>;
}

/** A server (not listening; use app.inject) over fixed routes and a real decision log in a temporary directory. */
export async function testServer(opts: { routes: readonly ModelRoute[]; online: OnlineFeatureStore | null; settings?: Partial<ServeSettings>; project?: Project; ui?: boolean; uiQueue?: string }): Promise<TestServer> {
  const decisions = await CountingLog.open();
  const app = createServer({
    models: fixedModelSet(opts.routes), decisions, online: opts.online, settings: settings(opts.settings),
    ...(opts.project ? { project: opts.project, loadVersion: (ref: string) => loadLiveVersion(opts.project!, ref) } : {}), ...(opts.ui ? { ui: true } : {}), ...(opts.uiQueue ? { uiQueue: opts.uiQueue } : {}),
  });
  return { app, decisions, close: async () => { await app.close(); await decisions.dispose(); } };
}
