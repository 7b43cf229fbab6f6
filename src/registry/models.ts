import type { SqlDb } from '../store/sql/index.js';
import { KilnError, didYouMean } from '../core/errors.js';
import { currentActor, nowIso } from './context.js';

/** What a model version takes as input, enforced when the version is loaded for scoring. */
export interface ModelSignature {
  features: { name: string; type: string; version?: string | null }[];
  /** What the model outputs, e.g. 'probability_of_default'. */
  output?: string;
}

export interface ModelVersion {
  model: string;
  version: number;
  runId: string | null;
  signature: ModelSignature;
  artifactPath: string | null;
  description: string | null;
  createdAt: string;
  createdBy: string;
  aliases: string[];
}

export interface ModelSummary {
  name: string;
  description: string | null;
  latestVersion: number | null;
  versions: number;
  aliases: Record<string, number>;
  createdAt: string;
}

const ALIAS = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: 'register_version' | 'set_alias' | 'remove_alias' | 'set_traffic';
  model: string | null;
  version: number | null;
  alias: string | null;
  previousVersion: number | null;
  reason: string | null;
  /** What changed, when the action has more to say (set_traffic: the traffic spec); absent otherwise. */
  details?: unknown;
}

/** The model registry: versions with signatures, aliases that move atomically, and an append-only audit log. */
export class ModelRegistry {
  constructor(private readonly db: SqlDb) {}

  /** Runs `fn` in one transaction: every registry change it makes is kept, or none (when it throws). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Registers a new version (1, 2, ...) of `name`, creating the model on first use. */
  registerVersion(name: string, opts: { signature: ModelSignature; runId?: string | null; artifactPath?: string | null; description?: string | null; reason?: string; actor?: string }): ModelVersion {
    if (!NAME.test(name)) throw new KilnError('NAME_INVALID', `model name '${name}' is not allowed: start with a letter; use letters, digits, '.', '_' or '-'`);
    if (opts.signature.features.length === 0) throw new KilnError('INVALID_ARGUMENT', `model '${name}': a signature needs at least one feature`);
    const at = nowIso();
    const actor = opts.actor ?? currentActor();
    const version = this.db.transaction(() => {
      this.db.prepare('INSERT INTO models (name, description, created_at) VALUES (?, NULL, ?) ON CONFLICT (name) DO NOTHING').run(name, at);
      const v = ((this.db.prepare('SELECT max(version) AS v FROM model_versions WHERE model_name = ?').get(name) as { v: number | null }).v ?? 0) + 1;
      this.db
        .prepare('INSERT INTO model_versions (model_name, version, run_id, signature, artifact_path, description, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(name, v, opts.runId ?? null, JSON.stringify(opts.signature), opts.artifactPath ?? null, opts.description ?? null, at, actor);
      this.audit({ at, actor, action: 'register_version', model: name, version: v, alias: null, previousVersion: null, reason: opts.reason ?? null });
      return v;
    })();
    return this.getVersion(name, version);
  }

  listModels(): ModelSummary[] {
    const models = this.db.prepare('SELECT name, description, created_at FROM models ORDER BY name').all() as { name: string; description: string | null; created_at: string }[];
    return models.map((m) => this.summary(m));
  }

  /** One model as `listModels` shows it: latest version, how many versions, its aliases. */
  getModel(name: string): ModelSummary {
    this.requireModel(name);
    return this.summary(this.db.prepare('SELECT name, description, created_at FROM models WHERE name = ?').get(name) as { name: string; description: string | null; created_at: string });
  }

  private summary(m: { name: string; description: string | null; created_at: string }): ModelSummary {
    const agg = this.db.prepare('SELECT max(version) AS latest, count(*) AS n FROM model_versions WHERE model_name = ?').get(m.name) as { latest: number | null; n: number };
    const aliases = Object.fromEntries((this.db.prepare('SELECT alias, version FROM model_aliases WHERE model_name = ? ORDER BY alias').all(m.name) as { alias: string; version: number }[]).map((a) => [a.alias, a.version]));
    return { name: m.name, description: m.description, latestVersion: agg.latest, versions: agg.n, aliases, createdAt: m.created_at };
  }

  listVersions(name: string): ModelVersion[] {
    this.requireModel(name);
    const rows = this.db.prepare('SELECT version FROM model_versions WHERE model_name = ? ORDER BY version').all(name) as { version: number }[];
    return rows.map((r) => this.getVersion(name, r.version));
  }

  getVersion(name: string, version: number): ModelVersion {
    this.requireModel(name);
    const r = this.db.prepare('SELECT * FROM model_versions WHERE model_name = ? AND version = ?').get(name, version) as Record<string, unknown> | undefined;
    if (!r) {
      const latest = (this.db.prepare('SELECT max(version) AS v FROM model_versions WHERE model_name = ?').get(name) as { v: number | null }).v;
      throw new KilnError('VERSION_NOT_FOUND', `model '${name}' has no version ${version} (versions: 1..${latest ?? 0})`);
    }
    const aliases = (this.db.prepare('SELECT alias FROM model_aliases WHERE model_name = ? AND version = ? ORDER BY alias').all(name, version) as { alias: string }[]).map((a) => a.alias);
    return {
      model: name, version, runId: (r.run_id as string | null) ?? null, signature: JSON.parse(r.signature as string) as ModelSignature,
      artifactPath: (r.artifact_path as string | null) ?? null, description: (r.description as string | null) ?? null,
      createdAt: r.created_at as string, createdBy: r.created_by as string, aliases,
    };
  }

  /** Resolves 'name@alias', 'name@3' or 'name' (the latest version). */
  resolve(ref: string): ModelVersion {
    const at = ref.lastIndexOf('@');
    const name = at > 0 ? ref.slice(0, at) : ref;
    const sel = at > 0 ? ref.slice(at + 1) : undefined;
    this.requireModel(name);
    if (sel === undefined) {
      const v = (this.db.prepare('SELECT max(version) AS v FROM model_versions WHERE model_name = ?').get(name) as { v: number | null }).v;
      if (v === null) throw new KilnError('VERSION_NOT_FOUND', `model '${name}' has no versions yet`);
      return this.getVersion(name, v);
    }
    if (/^\d+$/.test(sel)) return this.getVersion(name, Number(sel));
    const row = this.db.prepare('SELECT version FROM model_aliases WHERE model_name = ? AND alias = ?').get(name, sel) as { version: number } | undefined;
    if (!row) {
      const known = (this.db.prepare('SELECT alias FROM model_aliases WHERE model_name = ?').all(name) as { alias: string }[]).map((a) => a.alias);
      const hint = didYouMean(sel, known);
      throw new KilnError('ALIAS_NOT_FOUND', `model '${name}' has no alias '${sel}'${hint ? `; did you mean '${hint}'?` : ''} (aliases: ${known.length ? known.join(', ') : 'none'})`);
    }
    return this.getVersion(name, row.version);
  }

  /** Points `alias` at `version`, moving it atomically from where it was, and records who and why. */
  setAlias(name: string, alias: string, version: number, opts: { reason: string; actor?: string }): { previousVersion: number | null } {
    if (!ALIAS.test(alias) || /^\d+$/.test(alias)) throw new KilnError('NAME_INVALID', `alias '${alias}' is not allowed: start with a letter; letters, digits, '_' or '-'`);
    requireReason(opts.reason);
    return this.db.transaction(() => {
      this.getVersion(name, version);
      const prev = this.db.prepare('SELECT version FROM model_aliases WHERE model_name = ? AND alias = ?').get(name, alias) as { version: number } | undefined;
      const at = nowIso();
      this.db
        .prepare('INSERT INTO model_aliases (model_name, alias, version, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (model_name, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at')
        .run(name, alias, version, at);
      this.audit({ at, actor: opts.actor ?? currentActor(), action: 'set_alias', model: name, version, alias, previousVersion: prev?.version ?? null, reason: opts.reason });
      return { previousVersion: prev?.version ?? null };
    })();
  }

  removeAlias(name: string, alias: string, opts: { reason: string; actor?: string }): { previousVersion: number } {
    requireReason(opts.reason);
    return this.db.transaction(() => {
      const prev = this.db.prepare('SELECT version FROM model_aliases WHERE model_name = ? AND alias = ?').get(name, alias) as { version: number } | undefined;
      if (!prev) {
        this.requireModel(name);
        throw new KilnError('ALIAS_NOT_FOUND', `model '${name}' has no alias '${alias}'`);
      }
      this.db.prepare('DELETE FROM model_aliases WHERE model_name = ? AND alias = ?').run(name, alias);
      this.audit({ at: nowIso(), actor: opts.actor ?? currentActor(), action: 'remove_alias', model: name, version: null, alias, previousVersion: prev.version, reason: opts.reason });
      return { previousVersion: prev.version };
    })();
  }

  /**
   * One page of `name`'s versions, newest first, with how many there are (the web UI's versions table):
   * read in SQL, so a model with thousands of versions costs one page.
   */
  versionsPage(name: string, page: { limit: number; offset?: number }): { versions: ModelVersion[]; total: number } {
    this.requireModel(name);
    const total = (this.db.prepare('SELECT count(*) AS n FROM model_versions WHERE model_name = ?').get(name) as { n: number }).n;
    const rows = this.db.prepare('SELECT version FROM model_versions WHERE model_name = ? ORDER BY version DESC LIMIT ? OFFSET ?')
      .all(name, pageLimit(page.limit), Math.max(0, page.offset ?? 0)) as { version: number }[];
    return { versions: rows.map((r) => this.getVersion(name, r.version)), total };
  }

  /** The newest `limit` version numbers of `name` with when each was registered, newest first (no signatures read: a picker's options). */
  versionNumbers(name: string, limit: number): { version: number; createdAt: string }[] {
    this.requireModel(name);
    return (this.db.prepare('SELECT version, created_at FROM model_versions WHERE model_name = ? ORDER BY version DESC LIMIT ?').all(name, pageLimit(limit)) as { version: number; created_at: string }[])
      .map((r) => ({ version: r.version, createdAt: r.created_at }));
  }

  /** One page of `name`'s audit log, newest first, with how many entries it has (the web UI's audit table). */
  auditPage(name: string, page: { limit: number; offset?: number }): { entries: AuditEntry[]; total: number } {
    this.requireModel(name);
    const total = (this.db.prepare('SELECT count(*) AS n FROM audit_log WHERE model_name = ?').get(name) as { n: number }).n;
    const rows = this.db.prepare('SELECT * FROM audit_log WHERE model_name = ? ORDER BY id DESC LIMIT ? OFFSET ?')
      .all(name, pageLimit(page.limit), Math.max(0, page.offset ?? 0)) as Record<string, unknown>[];
    return { entries: rows.map(auditEntry), total };
  }

  auditLog(name?: string): AuditEntry[] {
    const rows = (name
      ? this.db.prepare('SELECT * FROM audit_log WHERE model_name = ? ORDER BY id').all(name)
      : this.db.prepare('SELECT * FROM audit_log ORDER BY id').all()) as Record<string, unknown>[];
    return rows.map(auditEntry);
  }

  /**
   * Records a change of a served model's traffic (a challenger set, changed or removed; `kiln serve`
   * keeps the traffic itself): `version` is the challenger's (null when removed), `details` the spec.
   */
  recordTraffic(name: string, change: { version: number | null; previousVersion: number | null; details: unknown; reason: string; actor?: string }): AuditEntry {
    if (!change.reason || !change.reason.trim()) throw new KilnError('USAGE', 'a traffic change needs a reason; it is kept in the audit log');
    this.requireModel(name);
    const e = { at: nowIso(), actor: change.actor ?? currentActor(), action: 'set_traffic' as const, model: name, version: change.version, alias: null, previousVersion: change.previousVersion, reason: change.reason };
    const id = this.audit(e, change.details);
    return { id, ...e, details: change.details };
  }

  requireModel(name: string): void {
    if (this.db.prepare('SELECT 1 FROM models WHERE name = ?').get(name)) return;
    const names = (this.db.prepare('SELECT name FROM models').all() as { name: string }[]).map((m) => m.name);
    const hint = didYouMean(name, names);
    throw new KilnError('MODEL_NOT_FOUND', `no model '${name}'${hint ? `; did you mean '${hint}'?` : ''} (models: ${names.length ? names.join(', ') : 'none yet'})`);
  }

  private audit(e: Omit<AuditEntry, 'id' | 'details'>, details?: unknown): number {
    return (this.db
      .prepare('INSERT INTO audit_log (at, actor, action, model_name, version, alias, previous_version, reason, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id')
      .get(e.at, e.actor, e.action, e.model, e.version, e.alias, e.previousVersion, e.reason, details === undefined ? null : JSON.stringify(details)) as { id: number }).id;
  }
}

function auditEntry(r: Record<string, unknown>): AuditEntry {
  return {
    id: r.id as number, at: r.at as string, actor: r.actor as string, action: r.action as AuditEntry['action'], model: (r.model_name as string | null) ?? null,
    version: (r.version as number | null) ?? null, alias: (r.alias as string | null) ?? null, previousVersion: (r.previous_version as number | null) ?? null,
    reason: (r.reason as string | null) ?? null,
    ...(typeof r.details === 'string' ? { details: JSON.parse(r.details) as unknown } : {}),
  };
}

function pageLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw new KilnError('INVALID_ARGUMENT', `a page holds a whole number of rows >= 1; got ${limit}`);
  return limit;
}

function requireReason(reason: string | undefined): void {
  if (!reason || !reason.trim()) throw new KilnError('USAGE', 'an alias change needs a reason (--reason "..."); it is kept in the audit log');
}
