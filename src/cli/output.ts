import { KilnError } from '../core/errors.js';

/** Prints an error for a person: the code and the actionable message; a stack only for internal errors. */
export function reportError(e: unknown): number {
  if (e instanceof KilnError) {
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    return e.code === 'INTERRUPTED' ? 130 : 1;
  }
  const err = e as { code?: string; message?: string; stack?: string };
  if (err?.code?.startsWith?.('commander.')) return 2;
  process.stderr.write(`internal error: ${err?.stack ?? String(e)}\nThis is a bug in kiln; please report it with the command you ran.\n`);
  return 70;
}

/** A plain text table with aligned columns. */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
