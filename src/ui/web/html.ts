/**
 * Building blocks of the web UI's pages: escaped text (`esc`), trusted HTML (`Html`), tables, key-value
 * lists, pagers and Vega-Lite charts (rendered in the page by assets/kiln.js with vega, tooltips on).
 * Every value from the project passes through `esc`; only `Html` is inserted as is.
 */
import { escapeHtml } from '../html.js';

/** HTML that is already safe (built here or escaped). */
export class Html {
  constructor(readonly html: string) {}
  toString(): string { return this.html; }
}

export type Content = Html | string | number | null | undefined | readonly Content[];

/** Escapes text; passes Html through; joins arrays. null/undefined render as nothing. */
export function esc(c: Content): string {
  if (c === null || c === undefined) return '';
  if (c instanceof Html) return c.html;
  if (Array.isArray(c)) return c.map(esc).join('');
  return escapeHtml(String(c));
}

/** A tagged template: interpolated values are escaped unless Html. */
export function html(strings: TemplateStringsArray, ...values: Content[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += esc(values[i]) + strings[i + 1]!;
  return new Html(out);
}

export const raw = (s: string): Html => new Html(s);

/** A number for a table cell: integers with separators, others to 4 significant decimals. */
export function num(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return Math.abs(v) >= 1000 ? v.toLocaleString('en-US', { maximumFractionDigits: 1 }) : v.toFixed(digits);
}

export interface TableOptions {
  caption?: string;
  /** Indexes of numeric columns (right-aligned). */
  numeric?: number[];
  /** An id for tests and links. */
  id?: string;
  empty?: string;
}

/** A table; a table wider than the screen scrolls inside its own box (phones). */
export function table(header: Content[], rows: Content[][], opts: TableOptions = {}): Html {
  const n = new Set(opts.numeric ?? []);
  const cls = (i: number): string => (n.has(i) ? ' class="num"' : '');
  if (rows.length === 0 && opts.empty) return html`<p class="empty">${opts.empty}</p>`;
  return raw(`<div class="scroll"><table${opts.id ? ` id="${escapeHtml(opts.id)}"` : ''}>${opts.caption ? `<caption>${escapeHtml(opts.caption)}</caption>` : ''}`
    + `<thead><tr>${header.map((h, i) => `<th scope="col"${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead>`
    + `<tbody>${rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table></div>`);
}

/** A definition list of label -> value. */
export function facts(pairs: [string, Content][]): Html {
  return raw(`<dl class="facts">${pairs.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${esc(v) || '–'}</dd>`).join('')}</dl>`);
}

export function section(title: string, body: Content, id?: string): Html {
  const sid = id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return raw(`<section aria-labelledby="h-${sid}"><h2 id="h-${sid}">${escapeHtml(title)}</h2>${esc(body)}</section>`);
}

/**
 * A Vega-Lite chart, rendered in the page (SVG, tooltips on). `label` is its accessible name; `table`
 * (optional) is a fallback shown to screen readers and when scripts are off.
 */
export function chart(spec: Record<string, unknown>, label: string, fallback?: Html): Html {
  const json = JSON.stringify({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', width: 'container', ...spec }).replace(/</g, '\\u003c');
  return raw(`<figure class="chart"><div class="vl" role="img" aria-label="${escapeHtml(label)}" data-spec="${escapeHtml(json)}"></div>`
    + `<figcaption>${escapeHtml(label)}</figcaption>${fallback ? `<details><summary>Data</summary>${fallback.html}</details>` : ''}</figure>`);
}

/** A status badge: ok / warn / bad / info. */
export function badge(text: string, tone: 'ok' | 'warn' | 'bad' | 'info' = 'info'): Html {
  return raw(`<span class="badge ${tone}">${escapeHtml(text)}</span>`);
}

/** An ISO time shortened for tables: 2026-12-07 10:42:13 (UTC). */
export function when(iso: string | null | undefined): Html {
  if (!iso) return raw('–');
  const short = iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
  return raw(`<time datetime="${escapeHtml(iso)}">${escapeHtml(short)}</time>`);
}
