import { html } from '../html.js';
import { page } from '../layout.js';
import type { Screen } from './types.js';

/** Placeholder until the decisions screens land (work in progress this session). */
export const screen: Screen = {
  id: 'decisions',
  register(site, ctx) {
    site.get('/decisions', async (req, reply) => reply.type('text/html; charset=utf-8').send(page(ctx, req, { title: 'DECISIONSecisions', section: 'decisions', body: html`<p class="empty">Coming soon.</p>` })));
  },
};
