/** What the site's form handlers share: who may change things, and the parsed form body. */
import type { FastifyRequest } from 'fastify';
import { KilnError } from '../../core/errors.js';
import type { Viewer } from './layout.js';

/** Throws 403 unless the viewer may change things. */
export function requireAdmin(req: FastifyRequest): Viewer {
  const v = req.uiViewer;
  if (!v?.admin) throw new KilnError('FORBIDDEN', `this change needs an API key with scope 'admin'; ${v?.name ? `'${v.name}' may only look` : 'sign in with one'}`);
  return v;
}

/** Parsed urlencoded form body (the site's forms post application/x-www-form-urlencoded). */
export function formBody(req: FastifyRequest): Record<string, string> {
  const b = req.body;
  if (b && typeof b === 'object') return b as Record<string, string>;
  return {};
}
