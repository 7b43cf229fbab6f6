/**
 * The page frame of the web UI: header with the project's name, the navigation between screens, a skip
 * link, the main landmark, and who is signed in. One stylesheet and one script (assets.ts), both served
 * by kiln itself: nothing comes from the network.
 */
import type { FastifyRequest } from 'fastify';
import type { Project } from '../../store/index.js';
import { esc, html, raw, type Content, type Html } from './html.js';

/** What every screen gets: the project (read through the same code as the CLI) and where the site is mounted. */
export interface UiContext {
  readonly project: Project;
  /** URL prefix of the site: '' for `kiln ui`, '/ui' under `kiln serve --ui`. */
  readonly base: string;
  /** Where the Jobs screen reads the queue: Redis and the BullMQ key prefix. */
  readonly queue?: { readonly redisUrl: string; readonly prefix: string };
}

/** Who is looking: with API keys configured, the key's holder and whether it may change things (scope admin). */
export interface Viewer {
  readonly name: string | null;
  readonly admin: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    uiViewer?: Viewer;
  }
}

export const NAV: readonly { id: string; title: string; path: string }[] = [
  { id: 'runs', title: 'Runs', path: '/runs' },
  { id: 'models', title: 'Models', path: '/models' },
  { id: 'features', title: 'Features', path: '/features' },
  { id: 'decisions', title: 'Decisions', path: '/decisions' },
  { id: 'monitoring', title: 'Monitoring', path: '/monitoring' },
  { id: 'embeddings', title: 'Embeddings', path: '/embeddings' },
  { id: 'jobs', title: 'Jobs', path: '/jobs' },
];

/** A link inside the site, with query parameters (undefined and '' dropped). */
export function href(ctx: UiContext, path: string, query: Record<string, string | number | undefined | null> = {}): string {
  const q = Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return `${ctx.base}${path}${q.length ? `?${q.join('&')}` : ''}`;
}

export function link(ctx: UiContext, path: string, text: Content, query: Record<string, string | number | undefined | null> = {}): Html {
  return html`<a href="${href(ctx, path, query)}">${text}</a>`;
}

export interface PageOptions {
  title: string;
  /** The NAV id to mark current. */
  section?: string;
  /** Breadcrumbs before the title: [text, path]. */
  crumbs?: [string, string][];
  body: Content;
}

export function page(ctx: UiContext, req: FastifyRequest | null, opts: PageOptions): string {
  const viewer = req?.uiViewer;
  const nav = NAV.map((n) => `<li><a href="${ctx.base}${n.path}"${n.id === opts.section ? ' aria-current="page"' : ''}>${n.title}</a></li>`).join('');
  const crumbs = opts.crumbs?.length
    ? `<nav aria-label="Breadcrumb" class="crumbs"><ol>${opts.crumbs.map(([t, p]) => `<li><a href="${ctx.base}${p}">${esc(t)}</a></li>`).join('')}<li aria-current="page">${esc(opts.title)}</li></ol></nav>`
    : '';
  const who = viewer?.name ? html`<span class="who">${viewer.name}${viewer.admin ? ' (admin)' : ' (read-only)'} · <a href="${ctx.base}/logout">sign out</a></span>` : raw('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(opts.title)} · ${esc(ctx.project.config.name)} · kiln</title>
<link rel="stylesheet" href="${ctx.base}/assets/kiln.css"><link rel="icon" href="data:,">
</head><body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="${ctx.base}/">kiln · ${esc(ctx.project.config.name)}</a>${who.html}
<nav aria-label="Screens"><ul>${nav}</ul></nav></header>
<main id="main" tabindex="-1">${crumbs}<h1>${esc(opts.title)}</h1>
${esc(opts.body)}
</main>
<script src="${ctx.base}/assets/kiln.js" data-base="${ctx.base}" defer></script>
</body></html>`;
}
