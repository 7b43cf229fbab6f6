import type { UiContext } from '../layout.js';
import { href } from '../layout.js';
import { html, num, type Html } from '../html.js';

/** The overview: how much of each stage the project holds, each a link to its screen. */
export async function homeBody(ctx: UiContext): Promise<Html> {
  const db = ctx.project.meta.db;
  const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
  const kpi = (n: number, label: string, path: string): Html => html`<a class="kpi" href="${href(ctx, path)}"><b>${num(n)}</b><span>${label}</span></a>`;
  const features = ctx.project.config.features?.filter((f) => (f as { kind?: string }).kind === 'feature' || (f as { kind?: string }).kind === undefined).length ?? 0;
  return html`<div class="kpis">
${kpi(count('SELECT count(*) AS n FROM runs'), 'runs', '/runs')}
${kpi(count('SELECT count(*) AS n FROM models'), 'models', '/models')}
${kpi(count('SELECT count(*) AS n FROM model_versions'), 'model versions', '/models')}
${kpi(features, 'feature definitions', '/features')}
${kpi(count('SELECT count(DISTINCT space) AS n FROM embedding_versions'), 'embedding spaces', '/embeddings')}
</div>`;
}
