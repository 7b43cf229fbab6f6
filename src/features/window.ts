/** Window strings: `<n><unit>` with unit s, m, h, d or w, or `lifetime`. Months and years vary in length. */
export type WindowUnit = 's' | 'm' | 'h' | 'd' | 'w';
export type WindowString = `${number}${WindowUnit}` | 'lifetime';

const UNIT_SECONDS: Readonly<Record<WindowUnit, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const WINDOW_RE = /^([1-9][0-9]*)([smhdw])$/;
/** Longer than any plausible history (about 1000 years), and far below the µs range of DuckDB timestamps. */
export const MAX_WINDOW_SECONDS = 1000 * 365 * 86_400;

/** Window length in seconds, null for lifetime; or a problem text for a window that does not parse. */
export function parseWindow(text: unknown): { seconds: number | null } | { problem: string } {
  if (text === 'lifetime') return { seconds: null };
  const hint = "write it as <n><unit> with unit s, m, h, d or w (e.g. '7d', '1h', '365d'), or 'lifetime'";
  if (typeof text !== 'string') return { problem: `window must be a string; ${hint}` };
  const m = WINDOW_RE.exec(text);
  if (!m) {
    const months = /^\s*\d+\s*(mo|months?|y|years?)\s*$/i.test(text) ? ' (months and years vary in length: use days, e.g. 30d or 365d)' : '';
    return { problem: `window '${text}' does not parse${months}; ${hint}` };
  }
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] as WindowUnit];
  if (seconds > MAX_WINDOW_SECONDS) return { problem: `window '${text}' is longer than 1000 years; use 'lifetime'` };
  return { seconds };
}

/** The shortest string for a window length: 604800 → '7d', 5400 → '90m', null → 'lifetime'. */
export function formatWindow(seconds: number | null): string {
  if (seconds === null) return 'lifetime';
  for (const unit of ['d', 'h', 'm'] as const) {
    const u = UNIT_SECONDS[unit];
    if (seconds % u === 0) return `${seconds / u}${unit}`;
  }
  return `${seconds}s`;
}
