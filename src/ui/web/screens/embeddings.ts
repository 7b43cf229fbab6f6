import { html } from '../html.js';
import { page } from '../layout.js';
import type { Screen } from './types.js';

/** Placeholder until the embeddings screens land (work in progress this session). */
export const screen: Screen = {
  id: 'embeddings',
  register(site, ctx) {
    site.get('/embeddings', async (req, reply) => reply.type('text/html; charset=utf-8').send(page(ctx, req, { title: 'EMBEDDINGSmbeddings', section: 'embeddings', body: html`<p class="empty">Coming soon.</p>` })));
  },
};
