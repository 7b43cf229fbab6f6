/**
 * The Models screens: the registry's models (GET /models), one model with its versions, aliases,
 * promotion timeline and audit log (GET /models/:name), the model card of a version
 * (GET /models/:name/versions/:version, linking the run's report.html and model-card.md), a run
 * of the retrain loop (GET /models/:name/loop-runs/:id) and the alias move (POST /models/:name/aliases,
 * admin only). Everything is read through the registry, tracker and loop store the CLI uses.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KilnError } from '../../../core/errors.js';
import { page, href, type UiContext } from '../layout.js';
import { formBody, requireAdmin } from '../forms.js';
import { cardBody } from './models/card.js';
import { modelPath, versionParam, type Query } from './models/common.js';
import { modelsListBody } from './models/list.js';
import { loopRunBody } from './models/loop-run.js';
import { modelBody, type AliasFormState } from './models/model.js';
import type { Screen } from './types.js';

type NameReq = FastifyRequest<{ Params: { name: string }; Querystring: Query }>;

const HTML = 'text/html; charset=utf-8';
const crumbs: [string, string][] = [['Models', '/models']];

/** Why an alias move is refused before the registry is asked (the registry refuses the rest: bad names, unknown versions). */
function formProblem(f: { alias: string; version: string; reason: string }): string | null {
  if (!f.alias) return 'Give the alias a name: pick an existing one or type a new one.';
  if (!/^\d{1,9}$/.test(f.version) || Number(f.version) < 1) return `Choose a version (a whole number); got '${f.version}'.`;
  if (!f.reason) return 'Give a reason: it is kept in the audit log with the move.';
  return null;
}

async function renderModel(ctx: UiContext, req: NameReq, reply: FastifyReply, form?: AliasFormState): Promise<FastifyReply> {
  const { name } = req.params;
  const body = await modelBody(ctx, req, name, form ? {} : req.query, form);
  return reply.type(HTML).send(page(ctx, req, { title: name, section: 'models', crumbs, body }));
}

export const screen: Screen = {
  id: 'models',
  register(site, ctx) {
    site.get('/models', async (req, reply) => reply.type(HTML).send(page(ctx, req, { title: 'Models', section: 'models', body: modelsListBody(ctx) })));

    site.get<{ Params: { name: string }; Querystring: Query }>('/models/:name', async (req, reply) => renderModel(ctx, req, reply));

    site.post<{ Params: { name: string }; Querystring: Query }>('/models/:name/aliases', async (req, reply) => {
      const viewer = requireAdmin(req);
      const { name } = req.params;
      ctx.project.registry.requireModel(name);
      const b = formBody(req);
      const f = { alias: String(b.alias ?? '').trim(), version: String(b.version ?? '').trim(), reason: String(b.reason ?? '').trim() };
      const refuse = (error: string): Promise<FastifyReply> => renderModel(ctx, req, reply.code(400), { error, ...f });
      const problem = formProblem(f);
      if (problem) return refuse(problem);
      const version = Number(f.version);
      const reg = ctx.project.registry;
      const now = reg.getModel(name).aliases[f.alias];
      if (now === version) return refuse(`${f.alias} already points at version ${version}.`);
      let previous: number | null;
      try {
        ({ previousVersion: previous } = reg.setAlias(name, f.alias, version, { reason: f.reason, actor: viewer.name ?? 'ui' }));
      } catch (e) {
        if (e instanceof KilnError && ['NAME_INVALID', 'USAGE', 'VERSION_NOT_FOUND', 'INVALID_ARGUMENT'].includes(e.code)) return refuse(`${e.message.charAt(0).toUpperCase()}${e.message.slice(1)}.`);
        throw e;
      }
      return reply.redirect(href(ctx, modelPath(name), { moved: f.alias, to: version, was: previous ?? undefined }), 303);
    });

    site.get<{ Params: { name: string; version: string } }>('/models/:name/versions/:version', async (req, reply) => {
      const { name } = req.params;
      const version = versionParam(name, req.params.version);
      const body = cardBody(ctx, name, version);
      return reply.type(HTML).send(page(ctx, req, { title: `${name} v${version}`, section: 'models', crumbs: [...crumbs, [name, modelPath(name)]], body }));
    });

    site.get<{ Params: { name: string; id: string } }>('/models/:name/loop-runs/:id', async (req, reply) => {
      const { name, id } = req.params;
      const body = await loopRunBody(ctx, name, id);
      return reply.type(HTML).send(page(ctx, req, { title: `Loop run ${id}`, section: 'models', crumbs: [...crumbs, [name, modelPath(name)]], body }));
    });
  },
};
