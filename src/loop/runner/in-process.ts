import { KilnError } from '../../core/errors.js';
import { checkLoopDef, executeNextStep, type ExecuteOptions } from './execute.js';
import { type LoopStore, thisOwner } from './store.js';
import type { BackoffOptions, LoopDef, LoopRunner, LoopRunRecord, SubmitOptions } from './types.js';

/**
 * Drives runs in this process. A run is claimed (owner host:pid, lease renewed by a heartbeat), then its
 * next step is executed until none is left, a step fails for good, or the run is cancelled; a failed
 * attempt waits out its backoff (renewing the lease). `resume` claims the runs whose owner died (same
 * host: the pid is gone; other host: the lease ran out) and goes on from their first step not done.
 */

export interface InProcessRunnerOptions extends BackoffOptions {
  /** How long a claim on a run lasts without a heartbeat (default 30000 ms); matters across hosts. */
  leaseMs?: number;
  /** Heartbeat period: lease renewal and the check for a cancel from another process (default min(1000, leaseMs / 3)). */
  heartbeatMs?: number;
  /** How often runToEnd looks at a run that another process drives (default 100 ms). */
  pollMs?: number;
  /** Where steps' log lines go (default: nowhere). */
  log?: (line: string) => void;
  /** Called right after a step's end is committed (see ExecuteOptions.onStepEnd). */
  onStepEnd?: ExecuteOptions['onStepEnd'];
}

export const IN_PROCESS = 'in-process';

export class InProcessRunner implements LoopRunner {
  private readonly owner = thisOwner();
  private readonly active = new Map<string, { done: Promise<LoopRunRecord>; cancel: AbortController }>();
  private readonly shutdown = new AbortController();
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;

  constructor(private readonly store: LoopStore, private readonly loops: Record<string, LoopDef>, private readonly opts: InProcessRunnerOptions = {}) {
    for (const def of Object.values(loops)) checkLoopDef(def);
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.heartbeatMs = opts.heartbeatMs ?? Math.min(1000, this.leaseMs / 3);
  }

  async submit(loop: string, input: Record<string, unknown>, trigger: { kind: string; detail?: unknown }, opts: SubmitOptions = {}): Promise<string> {
    const def = this.loopDef(loop);
    this.assertOpen();
    const { id, coalesced } = this.store.createRun({
      loop, steps: def.steps.map((s) => s.name), input, trigger, runner: IN_PROCESS, owner: { name: this.owner, leaseMs: this.leaseMs }, ...(opts.coalesce ? { coalesce: true } : {}),
    });
    if (!coalesced) this.start(id);
    return id;
  }

  async runToEnd(id: string, opts: { timeoutMs?: number } = {}): Promise<LoopRunRecord> {
    const deadline = Date.now() + (opts.timeoutMs ?? Number.POSITIVE_INFINITY);
    for (;;) {
      const mine = this.active.get(id);
      if (mine) return mine.done;
      const run = this.store.getRun(id);
      if (run.status !== 'pending' && run.status !== 'running') return run;
      if (this.loops[run.loop] && !this.shutdown.signal.aborted && this.start(id)) continue;
      if (Date.now() > deadline) throw new KilnError('STORE_BUSY', `loop run '${id}' is still ${run.status} after ${opts.timeoutMs} ms (driven by another process); wait longer or cancel it`);
      await sleep(this.opts.pollMs ?? 100);
    }
  }

  async resume(): Promise<string[]> {
    this.assertOpen();
    return this.store.orphanRuns(IN_PROCESS).filter((id) => this.loops[this.store.getRun(id).loop] !== undefined && this.start(id));
  }

  async cancel(id: string, reason = 'cancelled'): Promise<boolean> {
    const done = this.store.cancelRun(id, reason);
    this.active.get(id)?.cancel.abort();
    return done;
  }

  /** Stops driving runs: running steps see their signal aborted, and the runs are let go of (another runner resumes them). */
  async close(): Promise<void> {
    this.shutdown.abort();
    await Promise.allSettled([...this.active.values()].map((a) => a.done));
  }

  private loopDef(loop: string): LoopDef {
    const def = this.loops[loop];
    if (!def) throw new KilnError('INVALID_ARGUMENT', `no loop '${loop}' in this runner (known: ${Object.keys(this.loops).join(', ') || 'none'})`);
    return def;
  }

  private assertOpen(): void {
    if (this.shutdown.signal.aborted) throw new KilnError('INVALID_ARGUMENT', 'this loop runner was closed; create a new one');
  }

  /** Claims the run and drives it in the background; false when another live owner holds it. */
  private start(id: string): boolean {
    if (this.active.has(id)) return true;
    if (!this.store.claimRun(id, this.owner, this.leaseMs)) return false;
    const cancel = new AbortController();
    const done = this.drive(id, cancel.signal).finally(() => this.active.delete(id));
    done.catch(() => { /* seen by runToEnd */ });
    this.active.set(id, { done, cancel });
    return true;
  }

  private async drive(id: string, cancel: AbortSignal): Promise<LoopRunRecord> {
    const def = this.loopDef(this.store.getRun(id).loop);
    const heartbeat = (): boolean => {
      const r = this.store.renewLease(id, this.owner, this.leaseMs);
      return r.owned && r.status === 'running';
    };
    try {
      for (;;) {
        if (this.shutdown.signal.aborted || cancel.aborted) break;
        const r = await executeNextStep(this.store, def, id, this.owner, {
          ...this.opts, heartbeatMs: this.heartbeatMs, heartbeat, shutdown: this.shutdown.signal, cancel,
        });
        if (r.kind === 'stopped') break;
        if (r.kind === 'wait') {
          const until = Date.now() + r.delayMs;
          while (Date.now() < until && !this.shutdown.signal.aborted && !cancel.aborted) {
            await sleep(Math.min(this.heartbeatMs, until - Date.now()), this.shutdown.signal, cancel);
            if (!heartbeat()) return this.store.getRun(id);
          }
        }
      }
    } finally {
      this.store.releaseRun(id, this.owner);
    }
    return this.store.getRun(id);
  }
}

/** Resolves after `ms`, or as soon as one of the signals is aborted. */
export function sleep(ms: number, ...signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => { clearTimeout(t); for (const s of signals) s.removeEventListener('abort', done); resolve(); };
    const t = setTimeout(done, Math.max(0, ms));
    for (const s of signals) { if (s.aborted) { done(); return; } s.addEventListener('abort', done); }
  });
}
