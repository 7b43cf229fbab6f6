import type { FastifyInstance } from 'fastify';
import type { UiContext } from '../layout.js';

/** A screen of the site: registers its pages (GET) and forms (POST) on the site's Fastify scope. */
export interface Screen {
  readonly id: string;
  register(site: FastifyInstance, ctx: UiContext): void | Promise<void>;
}
