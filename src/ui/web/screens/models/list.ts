/** GET /models: every registered model with its latest version, aliases, creation time and description (`kiln models list`). */
import { html, table, when, type Html } from '../../html.js';
import { href, type UiContext } from '../../layout.js';
import { modelPath, versionLink } from './common.js';

export function modelsListBody(ctx: UiContext): Html {
  const reg = ctx.project.registry;
  const models = reg.listModels();
  if (models.length === 0) {
    return html`<p class="empty">No models registered yet. <code>kiln train MODEL</code> trains one and registers its first version.</p>`;
  }
  const rows = models.map((m) => {
    // The model row has no description of its own until one is set; the latest version's stands in.
    const latest = m.latestVersion === null ? null : reg.getVersion(m.name, m.latestVersion);
    const aliases = Object.entries(m.aliases);
    return [
      html`<a href="${href(ctx, modelPath(m.name))}">${m.name}</a>`,
      versionLink(ctx, m.name, m.latestVersion),
      m.versions,
      aliases.length ? aliases.map(([a, v], i) => html`${i ? ', ' : ''}${a} → ${versionLink(ctx, m.name, v)}`) : '–',
      when(m.createdAt),
      m.description ?? latest?.description ?? '–',
    ];
  });
  return html`${table(['Model', 'Latest version', 'Versions', 'Aliases', 'Created (UTC)', 'Description'], rows, { id: 'models', numeric: [2], caption: `${models.length} registered model${models.length > 1 ? 's' : ''}` })}`;
}
