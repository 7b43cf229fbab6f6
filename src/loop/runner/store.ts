import type { SqlDb } from '../../store/sql/index.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { KilnError } from '../../core/errors.js';
import { processAlive } from '../../core/process.js';
import type { LoopRunRecord, RunStatus, RunTrigger, StepRecord, StepStatus } from './types.js';

/**
 * Persisted loop state in meta.sqlite (migration 3): `loop_runs` (status, triggers, input, the owner
 * host:pid and its lease) and `loop_steps` (one row per step of the loop, by position). Every transition
 * is one transaction, writers taking the lock up front (BEGIN IMMEDIATE); a step's output, its 'done'
 * status and what it decides (skip to a later step, end the run) are written together, so a process
 * killed at any instant leaves either the step running (it re-runs) or done (it never runs again).
 */

const nowIso = (): string => new Date().toISOString();

/** host:pid of this process: the owner written on the runs and steps it drives. */
export function thisOwner(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * Whether the owner of a run can no longer drive it: on this host, its process is gone; on another
 * host (whose processes cannot be checked), its lease ran out. No owner: nobody drives it.
 */
export function ownerIsDead(owner: string | null, leaseUntil: string | null, nowMs = Date.now()): boolean {
  if (owner === null) return true;
  const i = owner.lastIndexOf(':');
  const host = owner.slice(0, i);
  const pid = Number(owner.slice(i + 1));
  if (host === hostname() && Number.isInteger(pid) && pid > 0) return !processAlive(pid);
  return leaseUntil === null || Date.parse(leaseUntil) < nowMs;
}

export interface StepClaim {
  attempt: number;
  input: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/** What a finished step decided: go on with the next step, skip to a later one, or end the run. */
export interface StepDecision {
  skipTo?: string;
  end?: string;
}

export class LoopStore {
  constructor(private readonly db: SqlDb) {}

  /** A new run with every step pending; with `coalesce`, a pending or running run of the loop takes the trigger instead. */
  createRun(r: { loop: string; steps: readonly string[]; input: Record<string, unknown>; trigger: { kind: string; detail?: unknown }; runner: string; coalesce?: boolean; owner?: { name: string; leaseMs: number } }): { id: string; coalesced: boolean } {
    if (r.steps.length === 0) throw new KilnError('INVALID_ARGUMENT', `loop '${r.loop}': a loop needs at least one step`);
    const trigger: RunTrigger = { kind: r.trigger.kind, ...(r.trigger.detail === undefined ? {} : { detail: r.trigger.detail }), at: nowIso() };
    return this.db.transaction(() => {
      if (r.coalesce) {
        const open = this.db.prepare(`SELECT id, triggers FROM loop_runs WHERE loop = ? AND status IN ('pending', 'running') ORDER BY created_at LIMIT 1`).get(r.loop) as { id: string; triggers: string } | undefined;
        if (open) {
          const triggers = JSON.parse(open.triggers) as RunTrigger[];
          this.db.prepare('UPDATE loop_runs SET triggers = ? WHERE id = ?').run(JSON.stringify([...triggers, trigger]), open.id);
          return { id: open.id, coalesced: true };
        }
      }
      const id = `lr-${Date.now().toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
      this.db
        .prepare('INSERT INTO loop_runs (id, loop, status, runner, triggers, input, created_at, owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, r.loop, 'pending', r.runner, JSON.stringify([trigger]), JSON.stringify(r.input), trigger.at, r.owner?.name ?? null, r.owner ? new Date(Date.now() + r.owner.leaseMs).toISOString() : null);
      const step = this.db.prepare(`INSERT INTO loop_steps (run_id, position, name, status) VALUES (?, ?, ?, 'pending')`);
      r.steps.forEach((name, i) => step.run(id, i, name));
      return { id, coalesced: false };
    })();
  }

  findRun(id: string): LoopRunRecord | undefined {
    const r = this.db.prepare('SELECT * FROM loop_runs WHERE id = ?').get(id) as Record<string, string | null> | undefined;
    if (!r) return undefined;
    const steps = (this.db.prepare('SELECT * FROM loop_steps WHERE run_id = ? ORDER BY position').all(id) as Record<string, unknown>[]).map(toStep);
    const triggers = JSON.parse(r.triggers!) as RunTrigger[];
    return {
      id: r.id!, loop: r.loop!, status: r.status as RunStatus, trigger: triggers[0]!, triggers, input: JSON.parse(r.input!) as Record<string, unknown>,
      steps, createdAt: r.created_at!, startedAt: r.started_at ?? null, endedAt: r.ended_at ?? null, error: r.error ?? null, outcome: r.outcome ?? null, runner: r.runner!,
    };
  }

  getRun(id: string): LoopRunRecord {
    const r = this.findRun(id);
    if (!r) throw new KilnError('RUN_NOT_FOUND', `no loop run '${id}' in this project (list them with LoopStore.listRuns)`);
    return r;
  }

  /** Newest first. */
  listRuns(opts: { loop?: string; status?: RunStatus; limit?: number } = {}): LoopRunRecord[] {
    const ids = this.db
      .prepare('SELECT id FROM loop_runs WHERE (CAST(@loop AS TEXT) IS NULL OR loop = @loop) AND (CAST(@status AS TEXT) IS NULL OR status = @status) ORDER BY created_at DESC, id DESC LIMIT @limit')
      .all({ loop: opts.loop ?? null, status: opts.status ?? null, limit: opts.limit ?? 50 }) as { id: string }[];
    return ids.map((r) => this.getRun(r.id));
  }

  /** The pending or running runs of `runner` whose owner is dead (see ownerIsDead). */
  orphanRuns(runner: string, nowMs = Date.now()): string[] {
    const rows = this.db.prepare(`SELECT id, owner, lease_until FROM loop_runs WHERE runner = ? AND status IN ('pending', 'running') ORDER BY created_at`).all(runner) as { id: string; owner: string | null; lease_until: string | null }[];
    return rows.filter((r) => ownerIsDead(r.owner, r.lease_until, nowMs)).map((r) => r.id);
  }

  /** Makes `owner` the driver of the run (pending or running, and its owner dead or `owner` itself), leased for `leaseMs`. */
  claimRun(id: string, owner: string, leaseMs: number): boolean {
    return this.db.transaction(() => {
      const r = this.db.prepare('SELECT status, owner, lease_until FROM loop_runs WHERE id = ?').get(id) as { status: RunStatus; owner: string | null; lease_until: string | null } | undefined;
      if (!r || (r.status !== 'pending' && r.status !== 'running')) return false;
      if (r.owner !== owner && !ownerIsDead(r.owner, r.lease_until)) return false;
      const now = nowIso();
      this.db
        .prepare(`UPDATE loop_runs SET status = 'running', owner = ?, lease_until = ?, started_at = coalesce(started_at, ?) WHERE id = ?`)
        .run(owner, new Date(Date.now() + leaseMs).toISOString(), now, id);
      return true;
    })();
  }

  /** Extends the lease of a run `owner` drives; returns the run's status (the caller stops when it is no longer 'running' or no longer its own). */
  renewLease(id: string, owner: string, leaseMs: number): { status: RunStatus; owned: boolean } {
    this.db.prepare(`UPDATE loop_runs SET lease_until = ? WHERE id = ? AND owner = ? AND status = 'running'`).run(new Date(Date.now() + leaseMs).toISOString(), id, owner);
    const r = this.db.prepare('SELECT status, owner FROM loop_runs WHERE id = ?').get(id) as { status: RunStatus; owner: string | null };
    return { status: r.status, owned: r.owner === owner };
  }

  /** Lets go of a run this owner drives, so that another runner (even in this process) may take it over. */
  releaseRun(id: string, owner: string): void {
    this.db.prepare('UPDATE loop_runs SET owner = NULL, lease_until = NULL WHERE id = ? AND owner = ?').run(id, owner);
  }

  /** The run's status, or undefined when there is no such run. */
  runStatus(id: string): RunStatus | undefined {
    return (this.db.prepare('SELECT status FROM loop_runs WHERE id = ?').get(id) as { status: RunStatus } | undefined)?.status;
  }

  /** The first step of the run neither done nor skipped (undefined: none left). */
  nextStep(id: string): { name: string; status: StepStatus; attempts: number; retryAt: string | null } | undefined {
    const r = this.db.prepare(`SELECT name, status, attempts, retry_at FROM loop_steps WHERE run_id = ? AND status NOT IN ('done', 'skipped') ORDER BY position LIMIT 1`).get(id) as { name: string; status: StepStatus; attempts: number; retry_at: string | null } | undefined;
    return r && { name: r.name, status: r.status, attempts: r.attempts, retryAt: r.retry_at };
  }

  /**
   * Starts the next attempt of `step` as `owner`: the run must be pending or running and the step its
   * next one. A step found 'running' was left by a dead owner (the caller holds the run or the job) and
   * runs again. Past `maxAttempts` the step and the run fail instead ('exhausted').
   */
  claimStep(runId: string, step: string, owner: string, maxAttempts: number): { ok: true; claim: StepClaim } | { ok: false; reason: 'not-next' | 'not-active' | 'exhausted' } {
    return this.db.transaction(() => {
      const run = this.db.prepare('SELECT status, input FROM loop_runs WHERE id = ?').get(runId) as { status: RunStatus; input: string } | undefined;
      if (!run || (run.status !== 'pending' && run.status !== 'running')) return { ok: false as const, reason: 'not-active' as const };
      const next = this.nextStep(runId);
      if (!next || next.name !== step || next.status === 'failed') return { ok: false as const, reason: 'not-next' as const };
      const now = nowIso();
      if (next.attempts >= maxAttempts) {
        const why = `step '${step}' gave up after ${next.attempts} attempt(s)${next.status === 'running' ? ' (the last one did not finish: its process died)' : ''}`;
        this.db.prepare(`UPDATE loop_steps SET status = 'failed', ended_at = ?, error = coalesce(error, ?) WHERE run_id = ? AND name = ?`).run(now, why, runId, step);
        this.db.prepare(`UPDATE loop_runs SET status = 'failed', ended_at = ?, error = ?, owner = NULL WHERE id = ?`).run(now, why, runId);
        return { ok: false as const, reason: 'exhausted' as const };
      }
      this.db.prepare(`UPDATE loop_runs SET status = 'running', started_at = coalesce(started_at, ?) WHERE id = ?`).run(now, runId);
      this.db.prepare(`UPDATE loop_steps SET status = 'running', attempts = attempts + 1, started_at = ?, ended_at = NULL, owner = ?, retry_at = NULL WHERE run_id = ? AND name = ?`).run(now, owner, runId, step);
      const outputs: Record<string, unknown> = {};
      for (const s of this.db.prepare(`SELECT name, output FROM loop_steps WHERE run_id = ? AND status = 'done' ORDER BY position`).all(runId) as { name: string; output: string | null }[]) {
        outputs[s.name] = s.output === null ? null : JSON.parse(s.output);
      }
      return { ok: true as const, claim: { attempt: next.attempts + 1, input: JSON.parse(run.input) as Record<string, unknown>, outputs } };
    })();
  }

  /**
   * Records a finished step: its output, 'done', and what it decided (the steps it skips over, or the
   * end of the run), in one transaction. False (nothing written) when `owner` no longer holds the step.
   */
  completeStep(runId: string, step: string, owner: string, output: unknown, decision: StepDecision = {}): boolean {
    return this.db.transaction(() => {
      const s = this.db.prepare('SELECT position, status, owner FROM loop_steps WHERE run_id = ? AND name = ?').get(runId, step) as { position: number; status: StepStatus; owner: string | null } | undefined;
      if (!s || s.status !== 'running' || s.owner !== owner) return false;
      const now = nowIso();
      this.db.prepare(`UPDATE loop_steps SET status = 'done', output = ?, error = NULL, ended_at = ? WHERE run_id = ? AND name = ?`).run(JSON.stringify(output ?? null), now, runId, step);
      const skip = this.db.prepare(`UPDATE loop_steps SET status = 'skipped' WHERE run_id = ? AND position > ? AND position < ? AND status = 'pending'`);
      const active = this.runStatus(runId) === 'running';
      if (decision.end !== undefined) {
        skip.run(runId, s.position, 2_147_483_647); // the largest position (INTEGER on PostgreSQL)
        if (active) this.finishRun(runId, 'succeeded', { outcome: decision.end });
      } else {
        if (decision.skipTo !== undefined) {
          const target = this.db.prepare('SELECT position FROM loop_steps WHERE run_id = ? AND name = ?').get(runId, decision.skipTo) as { position: number } | undefined;
          if (!target || target.position <= s.position) throw new KilnError('INVALID_ARGUMENT', `step '${step}' returned goto '${decision.skipTo}': expected the name of a later step of the loop`);
          skip.run(runId, s.position, target.position);
        }
        if (active && this.nextStep(runId) === undefined) this.finishRun(runId, 'succeeded', { outcome: 'completed' });
      }
      return true;
    })();
  }

  /** Records a failed attempt: the step waits for `retryAt` (pending), or, with `retryAt` null, the step and the run fail. */
  failStep(runId: string, step: string, owner: string, error: string, retryAt: Date | null): boolean {
    return this.db.transaction(() => {
      const s = this.db.prepare('SELECT status, owner FROM loop_steps WHERE run_id = ? AND name = ?').get(runId, step) as { status: StepStatus; owner: string | null } | undefined;
      if (!s || s.status !== 'running' || s.owner !== owner) return false;
      const now = nowIso();
      if (retryAt) {
        this.db.prepare(`UPDATE loop_steps SET status = 'pending', error = ?, ended_at = ?, retry_at = ? WHERE run_id = ? AND name = ?`).run(error, now, retryAt.toISOString(), runId, step);
      } else {
        this.db.prepare(`UPDATE loop_steps SET status = 'failed', error = ?, ended_at = ? WHERE run_id = ? AND name = ?`).run(error, now, runId, step);
        if (this.runStatus(runId) === 'running') this.finishRun(runId, 'failed', { error: `step '${step}' failed: ${error}` });
      }
      return true;
    })();
  }

  /** Ends the run as failed without running further steps (e.g. a step that the runner does not know). */
  failRun(id: string, error: string): boolean {
    return this.db.transaction(() => {
      const st = this.runStatus(id);
      if (st !== 'pending' && st !== 'running') return false;
      this.finishRun(id, 'failed', { error });
      return true;
    })();
  }

  /** Cancels a pending or running run; a step running now finishes or sees its signal aborted, and nothing further starts. */
  cancelRun(id: string, reason = 'cancelled'): boolean {
    return this.db.transaction(() => {
      const st = this.runStatus(id);
      if (st === undefined) throw new KilnError('RUN_NOT_FOUND', `no loop run '${id}' to cancel`);
      if (st !== 'pending' && st !== 'running') return false;
      this.finishRun(id, 'cancelled', { error: reason });
      return true;
    })();
  }

  private finishRun(id: string, status: RunStatus, r: { outcome?: string; error?: string }): void {
    this.db
      .prepare('UPDATE loop_runs SET status = ?, ended_at = ?, outcome = ?, error = ?, owner = NULL, lease_until = NULL WHERE id = ?')
      .run(status, nowIso(), r.outcome ?? null, r.error ?? null, id);
  }
}

function toStep(r: Record<string, unknown>): StepRecord {
  return {
    name: r.name as string, status: r.status as StepStatus, attempts: r.attempts as number, output: r.output === null ? null : JSON.parse(r.output as string),
    error: (r.error as string | null) ?? null, startedAt: (r.started_at as string | null) ?? null, endedAt: (r.ended_at as string | null) ?? null, owner: (r.owner as string | null) ?? null,
  };
}
