/**
 * `kiln ui` and `kiln serve --ui`: the web UI as a Fastify plugin mounted at a prefix. Pages are rendered
 * on the server from the project (the same registry, tracker, feature and decision code as the CLI) with
 * a little script for charts; the site needs nothing from the network.
 *
 * With API keys configured (serve.apiKeys or $KILN_API_KEYS) every page needs a key: sent as a header
 * (`Authorization: Bearer KEY`), or entered once on /login and kept in an HttpOnly, SameSite=Strict
 * cookie. Any scope may look; changes (moving an alias, cancelling a job) need `admin`. Without keys the site is open and,
 * like `kiln serve`, listens on loopback only.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { KilnError } from '../../core/errors.js';
import { httpStatus } from '../../core/error-codes.js';
import type { Project } from '../../store/index.js';
import { asset } from './assets.js';
import { html } from './html.js';
import { page, type UiContext } from './layout.js';
import { formBody } from './forms.js';
import { SCREENS } from './screens/index.js';
import { homeBody } from './screens/home.js';

/** What the site checks keys with (serve's ApiKeys). */
export interface UiKeys {
  readonly enabled: boolean;
  identify(key: string): { name: string; scopes: readonly string[] } | null;
}

export interface UiOptions {
  readonly project: Project;
  /** URL prefix ('' by default; '/ui' under kiln serve). */
  readonly base?: string;
  readonly keys?: UiKeys | null;
  /** The queue of the Jobs screen: Redis (default $KILN_REDIS_URL, else redis://127.0.0.1:6379) and the key prefix (default kiln-backfill). */
  readonly queue?: { readonly redisUrl?: string; readonly prefix?: string };
}

const COOKIE = 'kiln_ui_key';

function cookieKey(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

function headerKey(req: FastifyRequest): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (m) return m[1];
  const alt = req.headers['x-api-key'];
  return typeof alt === 'string' && alt ? alt : undefined;
}

export { requireAdmin, formBody } from './forms.js';

/** Registers the site on `app` under `opts.base`. */
export async function registerUi(app: FastifyInstance, opts: UiOptions): Promise<void> {
  const base = (opts.base ?? '').replace(/\/$/, '');
  const ctx: UiContext = {
    project: opts.project, base,
    queue: { redisUrl: opts.queue?.redisUrl ?? process.env.KILN_REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: opts.queue?.prefix ?? 'kiln-backfill' },
  };
  const keys = opts.keys?.enabled ? opts.keys : null;
  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 65_536 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
  }
  await app.register(async (site) => {
    site.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const path = req.url.slice(base.length).split('?')[0] ?? '';
      if (path.startsWith('/assets/') || path === '/login') return;
      if (!keys) { req.uiViewer = { name: null, admin: true }; return; }
      const key = headerKey(req) ?? cookieKey(req);
      const caller = key ? keys.identify(key) : null;
      if (!caller) {
        if (req.method === 'GET') return reply.redirect(`${base}/login?next=${encodeURIComponent(req.url)}`, 303);
        return reply.code(401).type('text/html; charset=utf-8').send(page(ctx, null, { title: 'Sign in needed', body: html`<p class="error">This needs an API key. <a href="${base}/login">Sign in</a>.</p>` }));
      }
      req.uiViewer = { name: caller.name, admin: caller.scopes.includes('admin') };
    });
    site.setErrorHandler((err, req, reply) => {
      const status = err instanceof KilnError ? httpStatus(err) : (err as { statusCode?: number }).statusCode ?? 500;
      if (status >= 500) req.log.error({ err }, 'ui page failed');
      const message = err instanceof KilnError || status < 500 ? (err as Error).message : 'the page failed; the server log has the details';
      reply.code(status).type('text/html; charset=utf-8').send(page(ctx, req, { title: status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : 'Error', body: html`<p class="error" role="alert">${message}</p>` }));
    });
    site.setNotFoundHandler((req, reply) => {
      reply.code(404).type('text/html; charset=utf-8').send(page(ctx, req, { title: 'Not found', body: html`<p class="error" role="alert">No page at ${req.url}.</p>` }));
    });
    site.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
      const a = asset(req.params.name);
      if (!a) return reply.code(404).send('not found');
      return reply.type(a.type).header('cache-control', 'public, max-age=3600').send(a.body);
    });
    site.get<{ Querystring: { next?: string; failed?: string } }>('/login', async (req, reply) => {
      const next = typeof req.query.next === 'string' && req.query.next.startsWith('/') ? req.query.next : `${base}/`;
      return reply.type('text/html; charset=utf-8').send(page(ctx, null, {
        title: 'Sign in',
        body: html`${req.query.failed ? html`<p class="error" role="alert">That key is not known to this server.</p>` : ''}
<form method="post" action="${base}/login" class="filters"><input type="hidden" name="next" value="${next}">
<label>API key <input type="password" name="key" autocomplete="current-password" required autofocus></label><button type="submit">Sign in</button></form>
<p class="note">A key with scope score or write may look; moving an alias or cancelling a job needs admin. The key is kept in a cookie only this site reads.</p>`,
      }));
    });
    site.post('/login', async (req, reply) => {
      const body = formBody(req);
      const next = typeof body.next === 'string' && body.next.startsWith('/') ? body.next : `${base}/`;
      if (!keys) return reply.redirect(next, 303);
      if (!body.key || !keys.identify(body.key)) return reply.redirect(`${base}/login?failed=1&next=${encodeURIComponent(next)}`, 303);
      return reply.header('set-cookie', `${COOKIE}=${encodeURIComponent(body.key)}; HttpOnly; SameSite=Strict; Path=${base || '/'}`).redirect(next, 303);
    });
    site.get('/logout', async (_req, reply) => reply.header('set-cookie', `${COOKIE}=; HttpOnly; SameSite=Strict; Path=${base || '/'}; Max-Age=0`).redirect(`${base}/login`, 303));
    site.get('/', async (req, reply) => reply.type('text/html; charset=utf-8').send(page(ctx, req, { title: 'Overview', body: await homeBody(ctx) })));
    for (const screen of SCREENS) await screen.register(site, ctx);
  }, { prefix: base });
}

/** A server with the site alone (`kiln ui`). */
export async function createUiServer(opts: UiOptions & { logger?: boolean }): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false });
  await registerUi(app, opts);
  return app;
}

