/**
 * Pieces the Models screens share: paths of a model, a version and a loop run; page numbers from the
 * query; a pager; the loop run named by an automatic promotion's audit reason.
 */
import { KilnError } from '../../../../core/errors.js';
import { html, raw, type Html } from '../../html.js';
import { href, type UiContext } from '../../layout.js';

export const modelPath = (name: string): string => `/models/${encodeURIComponent(name)}`;
export const versionPath = (name: string, version: number): string => `${modelPath(name)}/versions/${version}`;
export const loopRunPath = (name: string, id: string): string => `${modelPath(name)}/loop-runs/${encodeURIComponent(id)}`;
export const runPath = (id: string): string => `/runs/${encodeURIComponent(id)}`;

/** Rows per page of the versions and audit tables. */
export const PAGE_ROWS = 25;

export type Query = Record<string, string | undefined>;

/** A 1-based page number from the query (`?vpage=2`); anything else is page 1. */
export function pageOf(q: Query, key: string): number {
  const v = q[key];
  return v !== undefined && /^\d{1,6}$/.test(v) && Number(v) >= 1 ? Number(v) : 1;
}

/** A version number from a path or form: a whole number >= 1, else a 404 naming what was asked for. */
export function versionParam(name: string, v: string): number {
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1) throw new KilnError('VERSION_NOT_FOUND', `model '${name}' has no version '${v}': versions are numbered 1, 2, ...`);
  return Number(v);
}

/**
 * Previous / next links of a paged table; `key` is the page parameter, `keep` the rest of the query
 * (the other tables' pages), `anchor` the table's section.
 */
export function pager(ctx: UiContext, path: string, opts: { key: string; page: number; total: number; keep: Query; anchor: string; noun: string }): Html {
  const pages = Math.max(1, Math.ceil(opts.total / PAGE_ROWS));
  if (pages <= 1) return raw('');
  const to = (p: number): string => `${href(ctx, path, { ...opts.keep, [opts.key]: p === 1 ? undefined : p })}#${opts.anchor}`;
  const first = (opts.page - 1) * PAGE_ROWS + 1;
  const last = Math.min(opts.total, opts.page * PAGE_ROWS);
  const where = first > opts.total ? `page ${opts.page} is past the last (${pages})` : `${first.toLocaleString('en-US')}–${last.toLocaleString('en-US')}`;
  return html`<nav class="pager" aria-label="Pages of ${opts.noun}">${opts.page > 1 ? html`<a href="${to(Math.min(opts.page - 1, pages))}" rel="prev">← newer</a>` : ''}
<span>${where} of ${opts.total.toLocaleString('en-US')} ${opts.noun}</span>${opts.page < pages ? html`<a href="${to(opts.page + 1)}" rel="next">older →</a>` : ''}</nav>`;
}

/** The loop run an automatic promotion names: the retrain loop's audit reasons start 'loop run <id>: '. */
export function loopRunOf(reason: string | null): string | null {
  const m = /^loop run (lr-[A-Za-z0-9-]+):/.exec(reason ?? '');
  return m ? m[1]! : null;
}

/** 'v3', linked to the version's card. */
export function versionLink(ctx: UiContext, name: string, version: number | null): Html {
  return version === null ? raw('–') : html`<a href="${href(ctx, versionPath(name, version))}">v${version}</a>`;
}

/** Colours of the versions in charts: light tints, so the dark version labels on them stay readable. */
export const VERSION_COLOURS = ['#93c5fd', '#fca5a5', '#86efac', '#fcd34d', '#c4b5fd', '#67e8f9', '#f9a8d4', '#bef264', '#fdba74', '#a5b4fc'];

/** A summary as a sentence: ends with a full stop. */
export function sentence(s: string | null | undefined): string {
  const t = (s ?? '').trim();
  return t === '' ? '' : /[.!?]$/.test(t) ? `${t} ` : `${t}. `;
}
