import { KilnError, isKilnError } from '../core/errors.js';
import { Progress, formatCount } from '../core/progress.js';
import { ColumnarAppender, quoteIdent, type ColumnSchema, type OfflineStore } from '../store/index.js';
import { driveInline, driveWorker, interrupted, type DriveContext } from './driver.js';
import { buildMerchantIndex, writeMerchants } from './merchants.js';
import { makeCalendar } from './model.js';
import { parseSimOptions, type SimOptions, type SimOptionsInput } from './options.js';
import {
  APPLICATIONS_SCHEMA, BORROWERS_SCHEMA, EARLY_LABELS_SCHEMA, LATENTS_SCHEMA, LOANS_SCHEMA, LOAN_LABELS_SCHEMA, MERCHANTS_SCHEMA,
  REPAYMENTS_SCHEMA, SIM_TABLES, TRANSACTIONS_SCHEMA, type SimTableName,
} from './schema.js';
import { SimCounters, type SinkName } from './sinks.js';

export interface SimTableSummary {
  name: SimTableName;
  rows: number;
  timestampColumn?: string;
  keyColumn?: string;
  description: string;
}

export interface SimStats {
  applications: number;
  /** Approved / applications. */
  approvalRate: number;
  fundedLoans: number;
  /** Loans whose 12-month label window closed within the horizon. */
  maturedLoans: number;
  /** default_12m rate among matured loans (the unbiased cohort). */
  defaultRate12m: number;
  /** Loans with an observable label at the end of the horizon (matured, or defaulted earlier). */
  labelledLoans: number;
  /** First instant of the horizon and the instant after its last (ISO, UTC). */
  start: string;
  end: string;
}

export interface SimSummary {
  options: SimOptions;
  tables: SimTableSummary[];
  /** transactions + applications + repayments. */
  totalEvents: number;
  seconds: number;
  eventsPerSecond: number;
  stats: SimStats;
}

/** Anything with the shape of core's Progress. */
export interface ProgressLike {
  update(done: number, note?: string): void;
  finish(note?: string): unknown;
  abort?(): void;
}

export interface SimHooks {
  /** true: a progress bar on stderr (unless quiet); or a Progress-like object to report to. */
  progress?: boolean | ProgressLike;
  /** Checked between borrower batches; an aborted run throws KilnError('INTERRUPTED') and changes nothing. */
  signal?: AbortSignal;
  quiet?: boolean;
  /**
   * Generate in a worker thread while the calling thread appends to DuckDB (about twice as fast on two
   * or more cores). Default: when there are at least 20,000 borrowers. The output is identical either way.
   */
  worker?: boolean;
}

/** Below this many borrowers the worker thread's start-up costs more than it saves. */
const WORKER_MIN_BORROWERS = 20_000;

const STAGED: { name: SimTableName; schema: ColumnSchema; sink: SinkName | 'merchants' }[] = [
  { name: 'borrowers', schema: BORROWERS_SCHEMA, sink: 'borrowers' },
  { name: 'borrower_latents', schema: LATENTS_SCHEMA, sink: 'latents' },
  { name: 'merchants', schema: MERCHANTS_SCHEMA, sink: 'merchants' },
  { name: 'transactions', schema: TRANSACTIONS_SCHEMA, sink: 'transactions' },
  { name: 'applications', schema: APPLICATIONS_SCHEMA, sink: 'applications' },
  { name: 'loans', schema: LOANS_SCHEMA, sink: 'loans' },
  { name: 'repayments', schema: REPAYMENTS_SCHEMA, sink: 'repayments' },
  { name: 'loan_labels', schema: LOAN_LABELS_SCHEMA, sink: 'labels' },
  { name: 'early_labels', schema: EARLY_LABELS_SCHEMA, sink: 'early' },
];

/**
 * Generates the synthetic lending world into `store`. Every table is written to a staging table first;
 * the old tables are replaced by the new ones in one transaction at the end, so a failed or interrupted
 * run leaves the previous world as it was (and drops its staging tables).
 */
export async function simulate(store: OfflineStore, options: SimOptionsInput = {}, hooks: SimHooks = {}): Promise<SimSummary> {
  const opts = parseSimOptions(options);
  const t0 = performance.now();
  const cal = makeCalendar(opts);
  const merchantIdx = buildMerchantIndex(opts.borrowers);
  const counters = new SimCounters();
  const progress: ProgressLike | undefined = hooks.progress === true
    ? new Progress({ label: 'sim', total: opts.borrowers, unit: 'borrowers', quiet: hooks.quiet ?? false })
    : hooks.progress || undefined;

  const staging = new Map<SimTableName, string>();
  const appenders: ColumnarAppender<ColumnSchema>[] = [];
  try {
    checkAbort(hooks.signal);
    const sinks: Record<string, ColumnarAppender<ColumnSchema>> = {};
    for (const t of STAGED) {
      const stage = store.stagingName(`sim_${t.name}`);
      staging.set(t.name, stage);
      const w = await ColumnarAppender.create(await store.ready(), stage, t.schema);
      appenders.push(w);
      sinks[t.sink] = w;
    }
    writeMerchants(sinks.merchants as unknown as ColumnarAppender<typeof MERCHANTS_SCHEMA>, merchantIdx, opts.seed);

    const ctx: DriveContext = {
      opts, cal, merchants: merchantIdx, counters, progress, signal: hooks.signal,
      appenders: sinks as Record<SinkName, ColumnarAppender<ColumnSchema>>,
    };
    if (hooks.worker ?? opts.borrowers >= WORKER_MIN_BORROWERS) await driveWorker(ctx);
    else await driveInline(ctx);
    checkAbort(hooks.signal);

    const rows = new Map<SimTableName, number>();
    for (let k = 0; k < STAGED.length; k++) rows.set(STAGED[k]!.name, appenders[k]!.close());
    // Labels that are not observable at the end of the horizon are NULL (the appender has no NULL bool).
    await store.run(`UPDATE ${quoteIdent(staging.get('loan_labels')!)} SET default_12m = NULL WHERE label_available_at IS NULL`);
    await store.run(`UPDATE ${quoteIdent(staging.get('early_labels')!)} SET
      dpd60_3m = CASE WHEN dpd60_3m_available_at IS NULL THEN NULL ELSE dpd60_3m END,
      dpd30_3m = CASE WHEN dpd30_3m_available_at IS NULL THEN NULL ELSE dpd30_3m END
      WHERE dpd60_3m_available_at IS NULL OR dpd30_3m_available_at IS NULL`);
    checkAbort(hooks.signal);

    await store.transaction(async () => {
      for (const t of STAGED) {
        await store.run(`DROP TABLE IF EXISTS ${quoteIdent(t.name)}`);
        await store.run(`ALTER TABLE ${quoteIdent(staging.get(t.name)!)} RENAME TO ${quoteIdent(t.name)}`);
      }
    });
    staging.clear();

    const seconds = (performance.now() - t0) / 1000;
    progress?.finish(`${formatCount(counters.events)} events`);
    const tables: SimTableSummary[] = SIM_TABLES.map((t) => ({
      name: t.name,
      rows: rows.get(t.name) ?? 0,
      ...(t.timestampColumn ? { timestampColumn: t.timestampColumn } : {}),
      ...(t.keyColumn ? { keyColumn: t.keyColumn } : {}),
      description: t.description,
    }));
    const totalEvents = counters.events;
    return {
      options: opts,
      tables,
      totalEvents,
      seconds,
      eventsPerSecond: totalEvents / Math.max(seconds, 1e-9),
      stats: {
        applications: counters.applications,
        approvalRate: counters.applications > 0 ? counters.approved / counters.applications : 0,
        fundedLoans: counters.loans,
        maturedLoans: counters.matured,
        defaultRate12m: counters.matured > 0 ? counters.maturedDefaults / counters.matured : 0,
        labelledLoans: counters.labelled,
        start: new Date(cal.startUs / 1000).toISOString(),
        end: new Date(cal.endUs / 1000).toISOString(),
      },
    };
  } catch (e) {
    progress?.abort?.();
    for (const w of appenders) {
      try { w.close(); } catch { /* the table is dropped below */ }
    }
    for (const stage of staging.values()) await store.dropIfExists(stage);
    if (isKilnError(e)) throw e;
    throw new KilnError('INTERNAL', `simulation failed: ${(e as Error).message}`, { cause: e });
  }
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw interrupted();
}
