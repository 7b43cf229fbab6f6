import type { UiContext } from '../layout.js';
import { href } from '../layout.js';
import { html, num, type Html } from '../html.js';
import { loadFeatureRegistry } from '../../../features/index.js';

/** The overview: how much of each stage the project holds, each a link to its screen. */
export async function homeBody(ctx: UiContext): Promise<Html> {
  const db = ctx.project.meta.db;
  const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
  const kpi = (n: number, label: string, path: string): Html => html`<a class="kpi" href="${href(ctx, path)}"><b>${num(n)}</b><span>${label}</span></a>`;
  const features = ctx.project.config.features?.length ? loadFeatureRegistry(ctx.project.config.features).features.size : 0;
  const recs = Object.keys(ctx.project.config.recommenders).length;
  const search = Object.keys(ctx.project.config.search).length;
  return html`<div class="kpis">
${kpi(count('SELECT count(*) AS n FROM runs'), 'runs', '/runs')}
${kpi(count('SELECT count(*) AS n FROM models'), 'models', '/models')}
${kpi(count('SELECT count(*) AS n FROM model_versions'), 'model versions', '/models')}
${kpi(features, 'features', '/features')}
${kpi(count('SELECT count(DISTINCT space) AS n FROM embedding_versions'), 'embedding spaces', '/embeddings')}
</div>
<p class="note">${recs} recommender(s) and ${search} search index(es) declared in the config.</p>`;
}
