import { html } from '../html.js';
import { page } from '../layout.js';
import type { Screen } from './types.js';

export const screen: Screen = {
  id: 'runs',
  register(site, ctx) {
    site.get('/runs', async (req, reply) => reply.type('text/html; charset=utf-8').send(page(ctx, req, { title: 'Runs', section: 'runs', body: html`<p class="empty">Coming soon.</p>` })));
  },
};
