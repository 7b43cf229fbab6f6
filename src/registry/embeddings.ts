import type { SqlDb } from '../store/sql/index.js';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError, didYouMean } from '../core/errors.js';
import { currentActor, nowIso } from './context.js';

/** What a version was trained from and how: kept with it, never changed. */
export interface EmbeddingLineage {
  /** Source tables (and for `model` sources the model version) the version read. */
  sources: { kind: string; name: string; version?: string | null; rows?: number }[];
  /** Hash of kiln.config.ts when it was trained. */
  configHash: string | null;
  /** The space spec it was trained with. */
  spec: unknown;
  /** Version this one was rotated onto (align), with the entities both hold and the residual. */
  alignedTo?: { version: number; shared: number; residual: number } | null;
  /** The queue job that trained it (`kiln embeddings train --on-workers`), '<job id>#<cut>'. */
  job?: string;
}

export interface EmbeddingVersion {
  space: string;
  version: number;
  entity: string;
  trainer: string;
  dim: number;
  metric: 'cos' | 'ip' | 'l2';
  /** Vectors in the version (entities embedded). */
  size: number;
  /** Time range of the training data (ISO, UTC); null when the source has no time. */
  dataFrom: string | null;
  dataTo: string | null;
  /** The cut it was trained at: only data strictly before it (null: all the data there was). */
  trainedUntil: string | null;
  params: Record<string, unknown>;
  metrics: Record<string, number | string | null>;
  lineage: EmbeddingLineage;
  /** Folder of its files (vectors, ids, index). */
  path: string;
  /** sha256 of the vectors file. */
  checksum: string;
  createdAt: string;
  createdBy: string;
  aliases: string[];
}

export interface EmbeddingSpaceSummary {
  space: string;
  versions: number;
  latestVersion: number | null;
  aliases: Record<string, number>;
}

export interface EmbeddingAuditEntry {
  id: number;
  at: string;
  actor: string;
  action: 'register_version' | 'set_alias' | 'remove_alias';
  space: string;
  version: number | null;
  alias: string | null;
  previousVersion: number | null;
  reason: string | null;
}

const ALIAS = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * The versions of embedding spaces: immutable, numbered per space, with lineage and metrics; aliases
 * that move atomically with a reason; an append-only audit. Files live in `<dataDir>/embeddings/<space>/v<N>`.
 */
export class EmbeddingRegistry {
  constructor(private readonly db: SqlDb, readonly root: string) {}

  spaceDir(space: string): string {
    return join(this.root, space);
  }

  /**
   * Registers a new version whose files are complete in `staged` (a folder beside the versions): the
   * folder becomes `v<N>` and the row is written in one transaction; a failure leaves neither.
   */
  register(space: string, staged: string, v: Omit<EmbeddingVersion, 'space' | 'version' | 'path' | 'createdAt' | 'createdBy' | 'aliases'>, opts: { reason?: string; actor?: string; expectVersion?: number } = {}): EmbeddingVersion {
    const at = nowIso();
    const actor = opts.actor ?? currentActor();
    const version = this.db.transaction(() => {
      const n = ((this.db.prepare('SELECT max(version) AS v FROM embedding_versions WHERE space = ?').get(space) as { v: number | null }).v ?? 0) + 1;
      if (opts.expectVersion !== undefined && n !== opts.expectVersion) throw new KilnError('STORE_BUSY', `embedding space '${space}': another process registered version ${n - 1} meanwhile; train again`);
      const dir = join(this.spaceDir(space), `v${n}`);
      // A folder with no row is what a killed registration left: nothing refers to it.
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      this.db.prepare(`INSERT INTO embedding_versions (space, version, entity, trainer, dim, metric, size, data_from, data_to, trained_until, params, metrics, lineage, path, checksum, created_at, created_by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        space, n, v.entity, v.trainer, v.dim, v.metric, v.size, v.dataFrom, v.dataTo, v.trainedUntil,
        JSON.stringify(v.params), JSON.stringify(v.metrics), JSON.stringify(v.lineage), dir, v.checksum, at, actor);
      this.audit({ at, actor, action: 'register_version', space, version: n, alias: null, previousVersion: null, reason: opts.reason ?? null });
      renameSync(staged, dir);
      return n;
    })();
    return this.get(space, version);
  }

  spaces(): EmbeddingSpaceSummary[] {
    const rows = this.db.prepare('SELECT space, max(version) AS latest, count(*) AS n FROM embedding_versions GROUP BY space ORDER BY space').all() as { space: string; latest: number; n: number }[];
    return rows.map((r) => ({ space: r.space, versions: r.n, latestVersion: r.latest, aliases: this.aliases(r.space) }));
  }

  aliases(space: string): Record<string, number> {
    return Object.fromEntries((this.db.prepare('SELECT alias, version FROM embedding_aliases WHERE space = ? ORDER BY alias').all(space) as { alias: string; version: number }[]).map((a) => [a.alias, a.version]));
  }

  /** Oldest first; or a page of them (`newestFirst`, `limit`, `offset`: a screen's page, read in SQL). */
  versions(space: string, page: { newestFirst?: boolean; limit?: number; offset?: number } = {}): EmbeddingVersion[] {
    const rows = this.db.prepare(`SELECT version FROM embedding_versions WHERE space = ? ORDER BY version ${page.newestFirst ? 'DESC' : 'ASC'} LIMIT ? OFFSET ?`)
      .all(space, page.limit ?? Number.MAX_SAFE_INTEGER, page.offset ?? 0) as { version: number }[];
    return rows.map((r) => this.get(space, r.version));
  }

  has(space: string): boolean {
    return this.db.prepare('SELECT 1 FROM embedding_versions WHERE space = ? LIMIT 1').get(space) !== undefined;
  }

  get(space: string, version: number): EmbeddingVersion {
    const r = this.db.prepare('SELECT * FROM embedding_versions WHERE space = ? AND version = ?').get(space, version) as Record<string, unknown> | undefined;
    if (!r) {
      this.requireSpace(space);
      const latest = (this.db.prepare('SELECT max(version) AS v FROM embedding_versions WHERE space = ?').get(space) as { v: number }).v;
      throw new KilnError('VERSION_NOT_FOUND', `embedding space '${space}' has no version ${version} (versions: 1..${latest})`);
    }
    const aliases = (this.db.prepare('SELECT alias FROM embedding_aliases WHERE space = ? AND version = ? ORDER BY alias').all(space, version) as { alias: string }[]).map((a) => a.alias);
    return {
      space, version, entity: r.entity as string, trainer: r.trainer as string, dim: r.dim as number, metric: r.metric as EmbeddingVersion['metric'], size: r.size as number,
      dataFrom: (r.data_from as string | null) ?? null, dataTo: (r.data_to as string | null) ?? null, trainedUntil: (r.trained_until as string | null) ?? null,
      params: JSON.parse(r.params as string) as Record<string, unknown>, metrics: JSON.parse(r.metrics as string) as EmbeddingVersion['metrics'],
      lineage: JSON.parse(r.lineage as string) as EmbeddingLineage, path: r.path as string, checksum: r.checksum as string,
      createdAt: r.created_at as string, createdBy: r.created_by as string, aliases,
    };
  }

  /** Resolves 'space@alias', 'space@3' or 'space' (the latest version). */
  resolve(ref: string): EmbeddingVersion {
    const at = ref.lastIndexOf('@');
    const space = at > 0 ? ref.slice(0, at) : ref;
    const sel = at > 0 ? ref.slice(at + 1) : undefined;
    this.requireSpace(space);
    if (sel === undefined) return this.get(space, (this.db.prepare('SELECT max(version) AS v FROM embedding_versions WHERE space = ?').get(space) as { v: number }).v);
    if (/^\d+$/.test(sel)) return this.get(space, Number(sel));
    const row = this.db.prepare('SELECT version FROM embedding_aliases WHERE space = ? AND alias = ?').get(space, sel) as { version: number } | undefined;
    if (!row) {
      const known = Object.keys(this.aliases(space));
      const hint = didYouMean(sel, known);
      throw new KilnError('ALIAS_NOT_FOUND', `embedding space '${space}' has no alias '${sel}'${hint ? `; did you mean '${hint}'?` : ''} (aliases: ${known.length ? known.join(', ') : 'none'})`);
    }
    return this.get(space, row.version);
  }

  /**
   * The version a row at `timeMs` may read without leakage: the one whose training data ended last,
   * strictly before the row's time (for a source without time: created before it). Null when none had.
   */
  usableAt(versions: readonly EmbeddingVersion[], timeMs: number): EmbeddingVersion | null {
    let best: EmbeddingVersion | null = null;
    let bestEnd = -Infinity;
    for (const v of versions) {
      const end = knownFrom(v);
      if (end < timeMs && (end > bestEnd || (end === bestEnd && best !== null && v.version > best.version))) { best = v; bestEnd = end; }
    }
    return best;
  }

  setAlias(space: string, alias: string, version: number, opts: { reason: string; actor?: string }): { previousVersion: number | null } {
    if (!ALIAS.test(alias) || /^\d+$/.test(alias)) throw new KilnError('NAME_INVALID', `alias '${alias}' is not allowed: start with a letter; letters, digits, '_' or '-'`);
    requireReason(opts.reason);
    return this.db.transaction(() => {
      this.get(space, version);
      const prev = this.db.prepare('SELECT version FROM embedding_aliases WHERE space = ? AND alias = ?').get(space, alias) as { version: number } | undefined;
      const at = nowIso();
      this.db.prepare('INSERT INTO embedding_aliases (space, alias, version, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (space, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at')
        .run(space, alias, version, at);
      this.audit({ at, actor: opts.actor ?? currentActor(), action: 'set_alias', space, version, alias, previousVersion: prev?.version ?? null, reason: opts.reason });
      return { previousVersion: prev?.version ?? null };
    })();
  }

  removeAlias(space: string, alias: string, opts: { reason: string; actor?: string }): { previousVersion: number } {
    requireReason(opts.reason);
    return this.db.transaction(() => {
      const prev = this.db.prepare('SELECT version FROM embedding_aliases WHERE space = ? AND alias = ?').get(space, alias) as { version: number } | undefined;
      if (!prev) {
        this.requireSpace(space);
        throw new KilnError('ALIAS_NOT_FOUND', `embedding space '${space}' has no alias '${alias}'`);
      }
      this.db.prepare('DELETE FROM embedding_aliases WHERE space = ? AND alias = ?').run(space, alias);
      this.audit({ at: nowIso(), actor: opts.actor ?? currentActor(), action: 'remove_alias', space, version: null, alias, previousVersion: prev.version, reason: opts.reason });
      return { previousVersion: prev.version };
    })();
  }

  auditLog(space?: string): EmbeddingAuditEntry[] {
    const rows = (space
      ? this.db.prepare('SELECT * FROM embedding_audit WHERE space = ? ORDER BY id').all(space)
      : this.db.prepare('SELECT * FROM embedding_audit ORDER BY id').all()) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: r.id as number, at: r.at as string, actor: r.actor as string, action: r.action as EmbeddingAuditEntry['action'], space: r.space as string,
      version: (r.version as number | null) ?? null, alias: (r.alias as string | null) ?? null, previousVersion: (r.previous_version as number | null) ?? null, reason: (r.reason as string | null) ?? null,
    }));
  }

  requireSpace(space: string): void {
    if (this.has(space)) return;
    const names = this.spaces().map((s) => s.space);
    const hint = didYouMean(space, names);
    throw new KilnError('EMBEDDING_NOT_FOUND', `embedding space '${space}' has no versions${hint ? `; did you mean '${hint}'?` : ''} (trained spaces: ${names.length ? names.join(', ') : 'none yet'}); train one with 'kiln embeddings train ${space}'`);
  }

  private audit(e: Omit<EmbeddingAuditEntry, 'id'>): void {
    this.db.prepare('INSERT INTO embedding_audit (at, actor, action, space, version, alias, previous_version, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(e.at, e.actor, e.action, e.space, e.version, e.alias, e.previousVersion, e.reason);
  }
}

/** When a version's content could first have been known (ms): the end of its data, else its creation. */
export function knownFrom(v: Pick<EmbeddingVersion, 'dataTo' | 'createdAt'>): number {
  return Date.parse(v.dataTo ?? v.createdAt);
}

function requireReason(reason: string | undefined): void {
  if (!reason || !reason.trim()) throw new KilnError('USAGE', 'an alias change needs a reason (--reason "..."); it is kept in the audit log');
}
