/**
 * The output of batch scoring. Scores go, chunk by chunk, into a staging table of the offline store
 * (row number, probability, calibrated probability, points, declined, reasons as JSON) through the
 * columnar appender; at the end one DuckDB COPY joins them back to the input rows (key, as-of time) in
 * input order and writes Parquet or CSV to a hidden partial file beside the output, which is then
 * renamed over it: a run that is killed or fails leaves the previous file (or none), never half a file.
 * A partial file left by a killed run (its process gone) is removed by the next run to the same output.
 */
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { BundleScores } from '../pipelines/index.js';
import { ColumnarAppender, quoteIdent, quoteLiteral, type Project } from '../store/index.js';
import type { BatchSource } from './batch-input.js';
import type { LiveVersion } from './types.js';
import { processAlive } from '../core/process.js';

export type OutputFormat = 'parquet' | 'csv';

/** The format an output path asks for, or null when its extension is neither .parquet nor .csv. */
export function outputFormat(path: string): OutputFormat | null {
  const ext = extname(path).toLowerCase();
  return ext === '.parquet' ? 'parquet' : ext === '.csv' ? 'csv' : null;
}

const partialPrefix = (output: string): string => `.${basename(output)}.partial-`;

/** Removes partial files of `output` whose process is gone (a run killed while writing). */
export function removeStalePartials(output: string): string[] {
  const dir = dirname(output);
  const prefix = partialPrefix(output);
  const removed: string[] = [];
  let names: string[];
  try { names = readdirSync(dir); } catch { return removed; }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(join(dir, name));
  }
  return removed;
}

const SCHEMA = { __r: 'int64', probability: 'float64', calibrated: 'float64', points: 'float64', declined: 'bool' } as const;
const REASONS_SCHEMA = { ...SCHEMA, reasons: 'varchar' } as const;
/** The Parquet type of the reasons column: a list of (reason, text, contribution). */
const REASONS_JSON_TYPE = '[{"reason":"VARCHAR","text":"VARCHAR","contribution":"DOUBLE"}]';

/** Scores as they are made, then the output file. */
export class ScoreSink {
  private closed = false;
  declined = 0;

  private constructor(private readonly project: Project, private readonly table: string, private readonly app: ColumnarAppender<typeof REASONS_SCHEMA>, private readonly reasons: boolean) {}

  static async open(project: Project, reasons: boolean): Promise<ScoreSink> {
    const table = project.offline.stagingName('scores');
    const app = await ColumnarAppender.create(await project.offline.ready(), table, reasons ? REASONS_SCHEMA : SCHEMA);
    return new ScoreSink(project, table, app as unknown as ColumnarAppender<typeof REASONS_SCHEMA>, reasons);
  }

  /** Appends the scores of `m` rows numbered `rowIds`. */
  write(rowIds: Float64Array, s: BundleScores, m: number): void {
    const c = this.app.columns;
    const cal = s.calibrated;
    for (let k = 0; k < m; k++) {
      const i = this.app.next();
      c.__r[i] = rowIds[k]!;
      c.probability[i] = s.probability[k]!;
      c.calibrated[i] = cal ? cal[k]! : NaN;
      c.points[i] = s.points[k]!;
      c.declined[i] = s.declined[k]!;
      this.declined += s.declined[k]!;
      if (this.reasons) {
        const r = s.reasons?.[k];
        c.reasons[i] = r ? JSON.stringify(r.map((x) => ({ reason: x.reason, text: x.text, contribution: x.contribution }))) : null;
      }
    }
  }

  /** Writes the output (atomically: a partial file renamed over `output`); returns the rows written. */
  async finish(source: BatchSource, live: LiveVersion, output: string, format: OutputFormat): Promise<number> {
    const written = this.app.close();
    this.closed = true;
    const reasons = !this.reasons ? '' : format === 'parquet' ? `, from_json(s.reasons, ${quoteLiteral(REASONS_JSON_TYPE)}) AS reasons` : ', s.reasons';
    const select = `SELECT ${source.key.sql} AS ${quoteIdent(source.key.name)}, ${source.time ?? 'NULL::TIMESTAMP'} AS as_of,
        ${quoteLiteral(live.name)} AS model, ${live.version}::INTEGER AS version,
        s.probability, s.calibrated, s.points, s.declined${reasons}
      FROM ${source.relation} AS src JOIN ${quoteIdent(this.table)} AS s ON s.__r = ${source.rowId} ORDER BY s.__r`;
    const partial = join(dirname(output), `${partialPrefix(output)}${process.pid}`);
    try {
      await this.project.offline.run(`COPY (${select}) TO ${quoteLiteral(partial)} (${format === 'parquet' ? 'FORMAT parquet' : 'FORMAT csv, HEADER'})`);
      renameSync(partial, output);
    } finally {
      rmSync(partial, { force: true });
    }
    return written;
  }

  /** Drops the staging table (also after a failure). */
  async discard(): Promise<void> {
    if (!this.closed) {
      try { this.app.close(); } catch { /* the table goes anyway */ }
      this.closed = true;
    }
    await this.project.offline.dropIfExists(this.table);
  }
}
