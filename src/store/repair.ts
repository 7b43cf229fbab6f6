import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isKilnError } from '../core/errors.js';
import type { KilnConfig } from '../config/index.js';
import { MetaStore } from './meta.js';
import { OfflineStore } from './offline.js';
import type { ProjectPaths } from './project.js';

/**
 * `kiln init --repair`: rebuilds a missing, empty or damaged meta.sqlite from what survives outside it.
 *
 * - tables: every user table of the offline store; key and time columns from the config's `tables`
 *   where declared; one ingest record per batch committed in `__kiln_ingest_batches`.
 * - runs: one per `artifacts/<run-id>/` folder, with its artifacts (size, sha256), its test metrics
 *   (evaluation.json), its GBDT parameters (model.kiln.json, or model.json before bundles) and its
 *   start time (encoded in the run id).
 * - model versions: each run whose model card names `NAME vN` and that has its model bundle
 *   model.kiln.json (or, before bundles, model.json and signature.json) becomes version N of NAME again.
 *   Versions imported with `kiln models import` (bundles in .kiln/imported/) are not: import them again.
 *
 * Not recoverable, and reported as such: aliases and the audit log, run lineage, tags and curves, the
 * ingest log's file names and hashes (so re-ingesting a file is no longer recognised as a repeat), and
 * keys of tables not declared in the config. A damaged file is moved aside, never deleted; the new
 * store is written to a temporary file and renamed into place, so a failed repair changes nothing.
 */
export interface RepairReport {
  /** True when meta.sqlite was present and sound: nothing was changed. */
  healthy: boolean;
  /** Where a damaged meta.sqlite was moved to. */
  movedAside: string | null;
  tables: { name: string; keyColumn: string | null; timestampColumn: string | null }[];
  ingestBatches: number;
  runs: { id: string; experiment: string; status: 'finished' | 'failed' }[];
  versions: { model: string; version: number; runId: string }[];
  notRecovered: string[];
}

const REPAIRED_BY = 'kiln init --repair';

export async function repairMeta(paths: ProjectPaths, config: KilnConfig, waitTimeoutSeconds?: number): Promise<RepairReport> {
  const report: RepairReport = { healthy: false, movedAside: null, tables: [], ingestBatches: 0, runs: [], versions: [], notRecovered: [] };
  if (existsSync(paths.metaDb) && statSync(paths.metaDb).size > 0) {
    try {
      MetaStore.open(paths.metaDb).close();
      return { ...report, healthy: true };
    } catch (e) {
      if (!isKilnError(e, 'META_CORRUPT')) throw e;
    }
  }

  const offline = await readOffline(paths.offlineDb, waitTimeoutSeconds);
  const runs = readRuns(paths.artifactsDir, report);

  const tmp = `${paths.metaDb}.repair-${process.pid}`;
  for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  const meta = MetaStore.open(tmp);
  try {
    const db = meta.db;
    db.transaction(() => {
      for (const name of offline.tables) {
        const spec = config.tables[name];
        const keyColumn = spec?.key ?? null;
        const timestampColumn = spec?.timestamp ?? null;
        meta.upsertTable({ name, keyColumn, timestampColumn, source: offline.batches.some((b) => b.table === name) ? 'ingest' : 'repair', description: `rebuilt by ${REPAIRED_BY}` });
        report.tables.push({ name, keyColumn, timestampColumn });
        if (!spec) report.notRecovered.push(`table '${name}': key and time columns (not declared in the config; re-declare them under tables: { ${name}: { key, timestamp } })`);
      }
      const ingest = db.prepare(`INSERT INTO ingests (table_name, mode, file_path, file_hash, file_bytes, rows, status, batch_id, started_at, finished_at, error)
        VALUES (?, 'append', ?, 'unknown', 0, NULL, 'done', ?, ?, ?, ?)`);
      for (const b of offline.batches) {
        ingest.run(b.table, '(unknown: rebuilt)', b.batchId, b.at, b.at, `rebuilt by ${REPAIRED_BY}: file names and hashes were lost`);
        report.ingestBatches++;
      }
      for (const r of runs) insertRun(db, r, report);
    })();
    meta.local.raw.pragma('wal_checkpoint(TRUNCATE)');
    meta.local.raw.pragma('journal_mode = DELETE');
  } finally {
    meta.close();
  }

  if (existsSync(paths.metaDb)) {
    const aside = `${paths.metaDb}.damaged-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
    renameSync(paths.metaDb, aside);
    report.movedAside = aside;
  }
  // A journal left by the old file must never be replayed into the new one.
  for (const suffix of ['-wal', '-shm']) {
    const f = `${paths.metaDb}${suffix}`;
    if (existsSync(f)) { if (report.movedAside) renameSync(f, `${report.movedAside}${suffix}`); else rmSync(f, { force: true }); }
  }
  renameSync(tmp, paths.metaDb);
  report.notRecovered.push('model aliases and the audit log', 'run lineage, tags and metric curves', 'the ingest log\'s file names and hashes (re-ingesting a file will not be recognised as a repeat)');
  const imported = join(paths.dataDir, 'imported');
  const bundles = existsSync(imported) ? readdirSync(imported).filter((f) => f.endsWith('.kiln.json')).length : 0;
  if (bundles) report.notRecovered.push(`versions imported with 'kiln models import' (${bundles} bundle${bundles > 1 ? 's' : ''} in ${imported}: import them again)`);
  return report;
}

async function readOffline(path: string, waitTimeoutSeconds?: number): Promise<{ tables: string[]; batches: { batchId: string; table: string; at: string }[] }> {
  if (!existsSync(path)) return { tables: [], batches: [] };
  const store = await OfflineStore.open(path, { access: 'read', ...(waitTimeoutSeconds !== undefined ? { waitTimeoutSeconds } : {}) });
  try {
    const all = (await store.all<{ t: string }>(`SELECT table_name AS t FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name`)).map((r) => r.t);
    const batches = all.includes('__kiln_ingest_batches')
      ? await store.all<{ batchId: string; table: string; at: string | null }>(
        'SELECT batch_id AS batchId, table_name AS "table", committed_at AS at FROM __kiln_ingest_batches ORDER BY committed_at, batch_id',
      )
      : [];
    return { tables: all.filter((t) => !t.startsWith('__kiln')), batches: batches.map((b) => ({ ...b, at: b.at ? new Date(b.at).toISOString() : new Date(0).toISOString() })) };
  } finally {
    store.close();
  }
}

interface FoundRun {
  id: string;
  dir: string;
  startedAt: string;
  endedAt: string;
  experiment: string | null;
  version: number | null;
  files: { path: string; bytes: number; sha256: string; at: string }[];
  metrics: Record<string, number | null>;
  params: Record<string, unknown>;
  signature: unknown;
  /** The file a model version points at: the bundle, or model.json for runs from before bundles. */
  modelFile: string;
}

const BUNDLE_FILE = 'model.kiln.json';

function readRuns(artifactsDir: string, report: RepairReport): FoundRun[] {
  if (!existsSync(artifactsDir)) return [];
  const runs: FoundRun[] = [];
  for (const id of readdirSync(artifactsDir).sort()) {
    const dir = join(artifactsDir, id);
    if (id.startsWith('.') || !statSync(dir).isDirectory()) continue;
    const files = listFiles(dir).map((f) => {
      const st = statSync(f);
      return { path: relative(dir, f), bytes: st.size, sha256: createHash('sha256').update(readFileSync(f)).digest('hex'), at: st.mtime.toISOString() };
    });
    const card = readText(join(dir, 'model-card.md'));
    const m = card ? /^# Model card: (.+) v(\d+)\s*$/m.exec(card) : null;
    const evaluation = readJson(join(dir, 'evaluation.json')) as { metrics?: Record<string, unknown> } | undefined;
    // A model bundle (model.kiln.json) holds the params and the signature; older runs have model.json and signature.json.
    const bundle = readJson(join(dir, BUNDLE_FILE)) as { booster?: { params?: Record<string, unknown> }; signature?: unknown } | undefined;
    const model = bundle?.booster ?? (readJson(join(dir, 'model.json')) as { params?: Record<string, unknown> } | undefined);
    const sig = bundle ?? (readJson(join(dir, 'signature.json')) as { signature?: unknown } | undefined);
    const fromId = /^[0-9a-z]{9}[0-9a-f]{8}$/.test(id) ? parseInt(id.slice(0, 9), 36) : NaN;
    const mtimes = files.map((f) => f.at).sort();
    const startedAt = Number.isFinite(fromId) && fromId > 0 ? new Date(fromId).toISOString() : (mtimes[0] ?? statSync(dir).mtime.toISOString());
    const metrics: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(evaluation?.metrics ?? {})) if (typeof v === 'number' || v === null) metrics[k] = v;
    runs.push({
      id, dir, startedAt, endedAt: mtimes[mtimes.length - 1] ?? startedAt, experiment: m?.[1] ?? null, version: m ? Number(m[2]) : null,
      files, metrics, params: model?.params ?? {}, signature: sig?.signature, modelFile: bundle ? BUNDLE_FILE : 'model.json',
    });
    if (!m) report.notRecovered.push(`run ${id}: its model (no model-card.md naming it); recorded under experiment 'unknown'`);
  }
  return runs.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

function insertRun(db: MetaStore['db'], r: FoundRun, report: RepairReport): void {
  const experiment = r.experiment ?? 'unknown';
  db.prepare('INSERT INTO experiments (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(experiment, r.startedAt);
  const exp = db.prepare('SELECT id FROM experiments WHERE name = ?').get(experiment) as { id: number };
  const finished = r.files.some((f) => f.path === 'report.html');
  const status = finished ? 'finished' : 'failed';
  db.prepare(`INSERT INTO runs (id, experiment_id, name, status, started_at, ended_at, host, pid, error) VALUES (?, ?, NULL, ?, ?, ?, 'unknown', 0, ?)`)
    .run(r.id, exp.id, status, r.startedAt, r.endedAt, finished ? null : `rebuilt by ${REPAIRED_BY}: the run has no report, so it did not finish`);
  db.prepare('INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?)').run(r.id, 'repaired', REPAIRED_BY);
  const param = db.prepare('INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?)');
  for (const [k, v] of Object.entries(r.params)) param.run(r.id, k, typeof v === 'string' ? v : JSON.stringify(v) ?? String(v));
  const metric = db.prepare('INSERT INTO run_metrics (run_id, key, step, value, logged_at) VALUES (?, ?, 0, ?, ?)');
  for (const [k, v] of Object.entries(r.metrics)) metric.run(r.id, k, v, r.endedAt);
  const art = db.prepare('INSERT INTO run_artifacts (run_id, path, bytes, sha256, logged_at) VALUES (?, ?, ?, ?, ?)');
  for (const f of r.files) art.run(r.id, f.path, f.bytes, f.sha256, f.at);
  report.runs.push({ id: r.id, experiment, status });

  if (r.experiment === null || r.version === null) return;
  if (r.signature === undefined || !r.files.some((f) => f.path === r.modelFile)) {
    report.notRecovered.push(`${r.experiment} version ${r.version} (run ${r.id}): ${BUNDLE_FILE} (or model.json and signature.json) is missing`);
    return;
  }
  const taken = db.prepare('SELECT 1 FROM model_versions WHERE model_name = ? AND version = ?').get(r.experiment, r.version);
  if (taken) {
    report.notRecovered.push(`${r.experiment} version ${r.version} from run ${r.id}: another run already claims that version`);
    return;
  }
  db.prepare('INSERT INTO models (name, description, created_at) VALUES (?, NULL, ?) ON CONFLICT (name) DO NOTHING').run(r.experiment, r.startedAt);
  db.prepare('INSERT INTO model_versions (model_name, version, run_id, signature, artifact_path, description, created_at, created_by) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)')
    .run(r.experiment, r.version, r.id, JSON.stringify(r.signature), join(r.dir, r.modelFile), r.endedAt, REPAIRED_BY);
  db.prepare('INSERT INTO audit_log (at, actor, action, model_name, version, alias, previous_version, reason) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?)')
    .run(r.endedAt, REPAIRED_BY, 'register_version', r.experiment, r.version, `rebuilt from run ${r.id}`);
  report.versions.push({ model: r.experiment, version: r.version, runId: r.id });
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (n.includes('.tmp-')) return [];
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

function readText(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

function readJson(path: string): unknown {
  const text = readText(path);
  if (text === undefined) return undefined;
  try { return JSON.parse(text); } catch { return undefined; }
}
