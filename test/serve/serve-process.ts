/**
 * Helpers of the end-to-end tests of `kiln serve` as a child process (serve-process.test.ts): a small
 * real world on disk (the demo's simulated lending world, credit versions 1 and 2 trained on `credit_v1`,
 * a version 3 whose smoke sample was tampered with, the embedded online store materialised, a config with
 * `serve.pollMs` 100), the server started with `node bin/kiln.js serve --port 0` (its URL read from the
 * start line), and a load driver: N concurrent fetch loops posting predict requests by entity id, each
 * outcome (status, decision ids, version, the times it was sent and answered) kept for the assertions.
 * The test process holds no connection to the project while servers run: it is closed after the build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { materialize, openOnlineStore } from '../../src/online/index.js';
import { bundleText, importModel, trainModel, type ModelBundleJson } from '../../src/pipelines/index.js';
import { decisionLogOf, readDecisions, type DecisionLogRef } from '../../src/serve/index.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { kiln, tempDir } from '../helpers.js';
import { creditConfigText } from './http-helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'kiln.js');

/** The buffered log's flush window in the world's config (ms). */
export const FLUSH_MS = 200;

const configText = (params: Record<string, number>, extra = ''): string => creditConfigText('serve-e2e', params, `serve: { pollMs: 100, flushMs: ${FLUSH_MS} }, ${extra}`);

export interface ServeWorld {
  readonly dir: string;
  /** The decision log: its directory, or the PostgreSQL schema it is in. */
  readonly logDir: DecisionLogRef;
  /** Entity ids the online store knows. */
  readonly entities: number[];
  /** The version whose smoke sample was edited (checksum recomputed): it fails validation. */
  readonly tampered: number;
  cleanup(): void;
}

/**
 * Builds the world (~10 s); no alias is set. Everything is closed on return. `extra`: more config fields
 * (the replicas' test: metadata on PostgreSQL, the online store on Redis).
 */
export async function buildServeWorld(extra = ''): Promise<ServeWorld> {
  const { dir, cleanup } = tempDir('kiln-serve-e2e-');
  writeFileSync(join(dir, 'kiln.config.ts'), configText({ max_depth: 3, learning_rate: 0.1, n_estimators: 30 }, extra));
  await initProject(dir);
  let project = await Project.open({ project: dir });
  const s = await simulate(project.offline, { borrowers: 3000, seed: 5 });
  for (const t of s.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
  await trainModel(project, 'credit', { quiet: true, force: true });
  project.close();
  writeFileSync(join(dir, 'kiln.config.ts'), configText({ max_depth: 4, learning_rate: 0.05, n_estimators: 40 }, extra));
  project = await Project.open({ project: dir });
  try {
    await trainModel(project, 'credit', { quiet: true, force: true });
    const online = await openOnlineStore(project, { features: 'credit_v1' });
    try { await materialize(project, { store: online, quiet: true }); } finally { await online.close(); }
    const ids = await project.offline.all<{ id: number }>('SELECT DISTINCT borrower_id::INT AS id FROM transactions ORDER BY 1 LIMIT 200');
    project.releaseOffline();
    // Version 3: version 2's bundle with one smoke probability changed (a valid file that does not reproduce its training scores).
    const json = JSON.parse(readFileSync(project.registry.getVersion('credit', 2).artifactPath!, 'utf8')) as ModelBundleJson;
    json.smoke!.probability[0] = 0.999;
    const { format: _f, checksum: _c, ...body } = json;
    const file = join(dir, 'tampered.kiln.json');
    writeFileSync(file, bundleText(body));
    const tampered = importModel(project, file, { name: 'credit' }).version.version;
    if (project.registry.listModels().some((m) => Object.keys(m.aliases).length)) throw new Error('training set an alias; the tests expect none');
    return { dir, logDir: decisionLogOf(project), entities: ids.map((r) => r.id), tampered, cleanup };
  } finally {
    project.close();
  }
}

/** Runs the CLI on the world's project; throws with its output on a non-zero exit. */
export async function cli(world: ServeWorld, ...args: string[]): Promise<string> {
  const r = await kiln([...args, '--project', world.dir], world.dir);
  if (r.code !== 0) throw new Error(`kiln ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

export interface Serve {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

/** Starts `kiln serve --port 0 ...` on the world's project and waits for its start line (it listens once models and store are open). */
export async function startServe(world: ServeWorld, args: string[] = []): Promise<Serve> {
  const child = spawn(process.execPath, [BIN, 'serve', '--project', world.dir, '--port', '0', '--models', 'credit@champion', ...args], {
    env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`kiln serve did not start within 60 s:\n${err}`)); }, 60_000);
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      err += c;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`kiln serve exited (${code}) before it listened:\n${err}`)); });
  });
  return { child, url, stderr: () => err, exited };
}

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function getJson(url: string): Promise<{ status: number; body: Json }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.json() as Json };
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: Json }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json() as Json };
}

/** One predict request: its status (null: no response), what it returned, when it was sent and answered. */
export interface Outcome {
  readonly status: number | null;
  readonly error: string | null;
  readonly ids: readonly string[];
  readonly version: number | null;
  readonly sentAt: number;
  readonly at: number;
}

/**
 * `concurrency` loops, each posting predict requests (by entity id, reasons on, `rows` rows a request)
 * one after the other until `stop()`; `onOutcome` sees each outcome as it comes.
 */
export class Load {
  readonly outcomes: Outcome[] = [];
  private stopped = false;
  private next = 0;
  private readonly loops: Promise<void>[];

  constructor(private readonly url: string, private readonly entities: readonly number[], opts: { concurrency: number; rows?: number }) {
    this.loops = Array.from({ length: opts.concurrency }, () => this.loop(opts.rows ?? 1));
  }

  private async loop(rows: number): Promise<void> {
    while (!this.stopped) {
      const batch = Array.from({ length: rows }, () => ({ entityId: this.entities[this.next++ % this.entities.length]! }));
      const sentAt = Date.now();
      try {
        const r = await fetch(`${this.url}/v1/models/credit/predict`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: batch, reasons: true }), signal: AbortSignal.timeout(20_000),
        });
        const body = await r.json() as Json;
        const results = (r.status === 200 ? body.results : []) as { decisionId: string; version: number }[];
        this.outcomes.push({ status: r.status, error: r.status === 200 ? null : `${body.code}: ${body.message}`, ids: results.map((x) => x.decisionId), version: results[0]?.version ?? null, sentAt, at: Date.now() });
      } catch (e) {
        this.outcomes.push({ status: null, error: String((e as Error).cause ?? e), ids: [], version: null, sentAt, at: Date.now() });
        if (this.stopped) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }

  /** Resolves once `cond` holds for the outcomes so far (checked every 10 ms). */
  async until(cond: (outcomes: readonly Outcome[]) => boolean, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond(this.outcomes)) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms with ${this.outcomes.length} outcomes`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Stops issuing requests; resolves once every loop has its last answer. */
  async stop(): Promise<readonly Outcome[]> {
    this.stopped = true;
    await Promise.all(this.loops);
    return this.outcomes;
  }

  /** Stops issuing requests at once (requests in flight still complete). */
  halt(): void { this.stopped = true; }

  /** Resolves when every loop has finished. */
  done(): Promise<void> { return Promise.all(this.loops).then(() => {}); }
}

/** The ids in the decision log (read without a lock, as `kiln decisions` does). */
export async function loggedIds(world: ServeWorld): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const r of readDecisions(world.logDir)) ids.add(r.id);
  return ids;
}

/** A Prometheus sample's value (NaN when absent), e.g. metric(text, 'kiln_model_events_total', { kind: 'swap_failed' }). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return NaN;
}
