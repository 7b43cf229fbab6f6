/**
 * Alerts persisted in meta.sqlite with their evidence, de-duplicated: an alert is one row per (model,
 * version, kind, subject, window); raising it again (the same window computed again) updates its value,
 * severity and evidence and counts it, and keeps when it was first seen. New alerts are what callers act
 * on (a drift trigger of the loop): `record` says which rows are new.
 */
import type { SqlDb } from '../store/sql/index.js';
import type { AlertDraft, AlertKind, AlertSeverity } from './alert-rules.js';

export interface StoredAlert extends AlertDraft {
  readonly id: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly timesSeen: number;
  readonly acknowledgedAt: string | null;
}

interface Row {
  id: number; model: string; version: number; kind: string; subject: string; window: string; severity: string; value: number; threshold: number;
  message: string; evidence: string; first_seen: string; last_seen: string; times_seen: number; acknowledged_at: string | null;
}

const fromRow = (r: Row): StoredAlert => ({
  id: r.id, model: r.model, version: r.version, kind: r.kind as AlertKind, subject: r.subject, window: r.window, severity: r.severity as AlertSeverity,
  value: r.value, threshold: r.threshold, message: r.message, evidence: JSON.parse(r.evidence) as Record<string, unknown>,
  firstSeen: r.first_seen, lastSeen: r.last_seen, timesSeen: r.times_seen, acknowledgedAt: r.acknowledged_at,
});

export interface AlertSummary {
  readonly model: string;
  readonly alerts: number;
  readonly critical: number;
  /** Not acknowledged. */
  readonly open: number;
  readonly latestWindow: string;
  readonly lastSeen: string;
}

function filterSql(opts: { model?: string; severity?: AlertSeverity }): [string, unknown[]] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (opts.model) { where.push('model = ?'); args.push(opts.model); }
  if (opts.severity) { where.push('severity = ?'); args.push(opts.severity); }
  return [where.length ? `WHERE ${where.join(' AND ')}` : '', args];
}

export class AlertStore {
  constructor(private readonly db: SqlDb) {}

  /** Stores the alerts in one transaction; returns those not seen before. */
  record(alerts: readonly AlertDraft[], now = new Date()): StoredAlert[] {
    const at = now.toISOString();
    const find = this.db.prepare('SELECT id FROM monitor_alerts WHERE model = ? AND version = ? AND kind = ? AND subject = ? AND window = ?');
    const insert = this.db.prepare(`INSERT INTO monitor_alerts (model, version, kind, subject, window, severity, value, threshold, message, evidence, first_seen, last_seen)
      VALUES (@model, @version, @kind, @subject, @window, @severity, @value, @threshold, @message, @evidence, @at, @at) RETURNING id`);
    const update = this.db.prepare(`UPDATE monitor_alerts SET severity = @severity, value = @value, threshold = @threshold, message = @message, evidence = @evidence,
      last_seen = @at, times_seen = times_seen + 1 WHERE id = @id`);
    const fresh: number[] = [];
    this.db.transaction(() => {
      for (const a of alerts) {
        const row = { model: a.model, version: a.version, kind: a.kind, subject: a.subject, window: a.window, severity: a.severity,
          value: Number.isFinite(a.value) ? a.value : 0, threshold: Number.isFinite(a.threshold) ? a.threshold : 0, message: a.message, evidence: JSON.stringify(a.evidence), at };
        const had = find.get(a.model, a.version, a.kind, a.subject, a.window) as { id: number } | undefined;
        if (had) update.run({ ...row, id: had.id });
        else fresh.push((insert.get(row) as { id: number }).id);
      }
    })();
    return fresh.map((id) => fromRow(this.db.prepare('SELECT * FROM monitor_alerts WHERE id = ?').get(id) as Row));
  }

  /** Newest window first; `offset` skips that many (pages of a screen). */
  list(opts: { model?: string; severity?: AlertSeverity; limit?: number; offset?: number } = {}): StoredAlert[] {
    const [where, args] = filterSql(opts);
    const sql = `SELECT * FROM monitor_alerts ${where} ORDER BY window DESC, id DESC LIMIT ? OFFSET ?`;
    return (this.db.prepare(sql).all(...args, opts.limit ?? 1000, opts.offset ?? 0) as Row[]).map(fromRow);
  }

  /** How many alerts `list` would page through with these filters. */
  count(opts: { model?: string; severity?: AlertSeverity } = {}): number {
    const [where, args] = filterSql(opts);
    return (this.db.prepare(`SELECT count(*) AS n FROM monitor_alerts ${where}`).get(...args) as { n: number }).n;
  }

  /** Per model: alerts stored, the critical ones, those not acknowledged, the latest window and when last raised. */
  summary(): AlertSummary[] {
    return (this.db.prepare(`SELECT model, count(*) AS alerts, sum(CASE WHEN severity = 'critical' THEN 1 ELSE 0 END) AS critical, sum(CASE WHEN acknowledged_at IS NULL THEN 1 ELSE 0 END) AS open,
      max(window) AS latest_window, max(last_seen) AS last_seen FROM monitor_alerts GROUP BY model ORDER BY model`).all() as
      { model: string; alerts: number; critical: number; open: number; latest_window: string; last_seen: string }[])
      .map((r) => ({ model: r.model, alerts: r.alerts, critical: r.critical, open: r.open, latestWindow: r.latest_window, lastSeen: r.last_seen }));
  }

  acknowledge(id: number, now = new Date()): boolean {
    return this.db.prepare('UPDATE monitor_alerts SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL').run(now.toISOString(), id).changes > 0;
  }
}
