import { html } from '../html.js';
import { page } from '../layout.js';
import type { Screen } from './types.js';

/** Placeholder until the monitoring screens land (work in progress this session). */
export const screen: Screen = {
  id: 'monitoring',
  register(site, ctx) {
    site.get('/monitoring', async (req, reply) => reply.type('text/html; charset=utf-8').send(page(ctx, req, { title: 'MONITORINGonitoring', section: 'monitoring', body: html`<p class="empty">Coming soon.</p>` })));
  },
};
