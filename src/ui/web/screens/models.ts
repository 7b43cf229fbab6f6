import { html } from '../html.js';
import { page } from '../layout.js';
import type { Screen } from './types.js';

/** Placeholder until the models screens land (work in progress this session). */
export const screen: Screen = {
  id: 'models',
  register(site, ctx) {
    site.get('/models', async (req, reply) => reply.type('text/html; charset=utf-8').send(page(ctx, req, { title: 'MODELSodels', section: 'models', body: html`<p class="empty">Coming soon.</p>` })));
  },
};
