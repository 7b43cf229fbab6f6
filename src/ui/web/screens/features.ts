import { html } from '../html.js';
import { page } from '../layout.js';
import type { Screen } from './types.js';

/** Placeholder until the features screens land (work in progress this session). */
export const screen: Screen = {
  id: 'features',
  register(site, ctx) {
    site.get('/features', async (req, reply) => reply.type('text/html; charset=utf-8').send(page(ctx, req, { title: 'FEATURESeatures', section: 'features', body: html`<p class="empty">Coming soon.</p>` })));
  },
};
