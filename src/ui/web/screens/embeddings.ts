/**
 * Embedding spaces: every space with its versions (/embeddings); one space's versions, aliases and
 * audit, a 2-D projection of a seeded sample of one version coloured by one of its attributes, and the
 * nearest neighbours of an entity in two versions side by side (/embeddings/:space). Read through the
 * embedding registry and the versions' own files and HNSW indexes, as `kiln embeddings` does.
 */
import type { FastifyInstance } from 'fastify';
import { KilnError } from '../../../core/errors.js';
import { EmbeddingLookup, type EmbeddingVersion, type Neighbor } from '../../../embeddings/index.js';
import type { Project } from '../../../store/index.js';
import { badge, chart, facts, html, num, raw, section, table, when, type Content, type Html } from '../html.js';
import { href, link, page, type UiContext } from '../layout.js';
import type { Screen } from './types.js';
import { PROJECTION_SAMPLE, projectSample, type Projection } from './embeddings/projection.js';

const VERSIONS_ON_LIST = 20;
const VERSIONS_PER_PAGE = 50;
const AUDIT_ROWS = 100;

/**
 * One lookup per project, so that a version's files (vectors checked against their checksum, the index
 * memory-mapped) are opened once, not on every page; versions are immutable, so nothing goes stale.
 * Past a handful of versions it starts over, so browsing a long backfill does not pin every version.
 */
const lookups = new WeakMap<Project, { lookup: EmbeddingLookup; opened: Set<string> }>();
const KEEP_OPEN = 6;
function lookupFor(project: Project, v: EmbeddingVersion): EmbeddingLookup {
  let entry = lookups.get(project);
  if (!entry) lookups.set(project, (entry = { lookup: new EmbeddingLookup(project.embeddings), opened: new Set() }));
  const key = `${v.space}@${v.version}`;
  if (!entry.opened.has(key) && entry.opened.size >= KEEP_OPEN) { entry.lookup.clear(); entry.opened.clear(); }
  entry.opened.add(key);
  return entry.lookup;
}

const spacePath = (space: string): string => `/embeddings/${encodeURIComponent(space)}`;
const aliasText = (v: EmbeddingVersion): Content => (v.aliases.length ? v.aliases.join(', ') : '–');
const f4 = (x: unknown): string => (typeof x === 'number' && Number.isFinite(x) ? (Number.isInteger(x) ? String(x) : x.toFixed(4)) : '–');

function listBody(ctx: UiContext): Html {
  const reg = ctx.project.embeddings;
  const trained = new Map(reg.spaces().map((s) => [s.space, s]));
  const names = [...new Set([...Object.keys(ctx.project.config.embeddings), ...trained.keys()])].sort();
  if (!names.length) return html`<p class="empty">No embedding spaces: declare one under embeddings: { ... } in kiln.config.ts, then kiln embeddings train NAME.</p>`;
  const versions: Content[][] = [];
  const spaces = names.map((name) => {
    const spec = ctx.project.config.embeddings[name];
    const t = trained.get(name);
    const recent = t ? reg.versions(name, { newestFirst: true, limit: VERSIONS_ON_LIST }) : [];
    for (const v of recent) versions.push([link(ctx, spacePath(name), name), link(ctx, spacePath(name), `v${v.version}`, { version: v.version }), v.entity, v.trainer, num(v.dim), num(v.size), when(v.createdAt), aliasText(v)]);
    if (t && t.versions > recent.length) versions.push([name, html`${link(ctx, spacePath(name), `${t.versions - recent.length} older versions`)}`, '', '', '', '', '', '']);
    const latest = recent[0];
    return [
      link(ctx, spacePath(name), name), spec ? 'yes' : badge('not in the config', 'warn'), spec?.entity ?? latest?.entity ?? '–', spec?.trainer ?? latest?.trainer ?? '–',
      latest ? num(latest.dim) : spec?.dim !== undefined ? num(spec.dim) : '–', t ? num(t.versions) : badge('not trained', 'info'), t?.latestVersion ? `v${t.latestVersion}` : '–',
      t && Object.keys(t.aliases).length ? Object.entries(t.aliases).map(([a, v]) => `${a} → v${v}`).join(', ') : '–',
    ] as Content[];
  });
  return html`${section('Spaces', table(['space', 'declared', 'entity', 'trainer', 'dim', 'versions', 'latest', 'aliases'], spaces, { numeric: [4, 5], id: 'spaces' }), 'spaces')}
${section('Versions', table(['space', 'version', 'entity', 'trainer', 'dim', 'size', 'created', 'aliases'], versions, { numeric: [4, 5], id: 'versions', caption: `The newest ${VERSIONS_ON_LIST} versions of each space, newest first`, empty: 'No space has a trained version yet (kiln embeddings train NAME).' }), 'versions')}`;
}

interface SpaceQuery { version?: string; color?: string; entity?: string; a?: string; b?: string; k?: string; vpage?: string }

function versionParam(text: string | undefined, field: string, latest: number): number | undefined {
  if (text === undefined || text === '') return undefined;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1 || v > latest) throw new KilnError('USAGE', `${field} '${text}': expected a version of the space, 1..${latest}`, { path: [field] });
  return v;
}

function intParam(text: string | undefined, field: string, def: number, max: number): number {
  if (text === undefined || text === '') return def;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1 || v > max) throw new KilnError('USAGE', `${field} '${text}': expected a whole number 1..${max}`, { path: [field] });
  return v;
}

/** A number to 5 significant digits (keeps the chart's data small). */
const short = (x: number): number => Number(x.toPrecision(5));

/** The scatter of the projection, coloured (and for few categories shaped) by an attribute. */
export function projectionSpec(v: EmbeddingVersion, p: Projection, ids: readonly string[], color: { name: string; values: readonly (string | number | boolean | null)[] } | null): Record<string, unknown> {
  const numeric = color !== null && p.rows.every((r) => color.values[r] === null || typeof color.values[r] === 'number');
  const categories = color && !numeric ? new Set(p.rows.map((r) => String(color.values[r]))).size : 0;
  const values = p.rows.map((r, i) => ({ id: ids[r]!, x: short(p.x[i]!), y: short(p.y[i]!), ...(color ? { value: numeric ? color.values[r] : String(color.values[r]) } : {}) }));
  const pc = (i: number): string => `PC${i + 1} (${(100 * p.explained[i]!).toFixed(1)}% of the variance)`;
  return {
    title: `${v.space} v${v.version}: ${p.sampled} of ${p.size} ${v.entity} vectors on their first two principal components`,
    height: 380,
    data: { values },
    mark: { type: 'point', filled: true, size: 36, opacity: 0.75 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: pc(0) },
      y: { field: 'y', type: 'quantitative', title: pc(1) },
      ...(color ? { color: { field: 'value', type: numeric ? 'quantitative' : 'nominal', title: color.name } } : {}),
      ...(color && !numeric && categories <= 8 ? { shape: { field: 'value', type: 'nominal', title: color.name } } : {}),
      tooltip: [{ field: 'id', title: v.entity }, ...(color ? [{ field: 'value', title: color.name }] : []), { field: 'x', title: 'PC1', format: '.4f' }, { field: 'y', title: 'PC2', format: '.4f' }],
    },
  };
}

function versionOptions(latest: number, selected: number, aliases: Record<string, number>): Html {
  const byVersion = new Map<number, string[]>();
  for (const [a, v] of Object.entries(aliases)) (byVersion.get(v) ?? byVersion.set(v, []).get(v)!).push(a);
  return html`${Array.from({ length: latest }, (_, i) => latest - i).map((v) => html`<option value="${v}"${v === selected ? raw(' selected') : ''}>v${v}${byVersion.has(v) ? ` (${byVersion.get(v)!.join(', ')})` : ''}</option>`)}`;
}

function hidden(pairs: Record<string, string | number | undefined>): Html {
  return html`${Object.entries(pairs).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => html`<input type="hidden" name="${k}" value="${String(v)}">`)}`;
}

function neighbourPanel(title: string, id: string, r: { neighbors: Neighbor[] } | { error: string }, other: Set<string>): Html {
  if ('error' in r) return html`<div><h3>${title}</h3><p class="empty">${r.error}</p></div>`;
  return html`<div><h3>${title}</h3>${table(['rank', 'neighbour', 'similarity', 'also in the other version'], r.neighbors.map((n, i) => [num(i + 1), n.id, n.score.toFixed(4), other.has(n.id) ? 'yes' : 'no']), { numeric: [0, 2], id, empty: 'No neighbours.' })}</div>`;
}

function spaceBody(ctx: UiContext, space: string, q: SpaceQuery): Html {
  const reg = ctx.project.embeddings;
  const spec = ctx.project.config.embeddings[space];
  const summary = reg.spaces().find((s) => s.space === space);
  const specFacts = spec ? section('Declaration', facts([
    ['entity', spec.entity], ['trainer', spec.trainer], ['dimension', spec.dim === undefined ? '–' : num(spec.dim)], ['metric', spec.metric],
    ['source', `${spec.source.kind}${'table' in spec.source && spec.source.table ? ` ${spec.source.table}` : ''}${'model' in spec.source ? ` ${String(spec.source.model)}` : ''}`],
    ['attributes', spec.attributes ? `${spec.attributes.columns.join(', ')} (from ${spec.attributes.table})` : '–'],
  ]), 'declaration') : html`<p class="note">${space} is not declared in kiln.config.ts any more; its versions are kept.</p>`;
  if (!summary) {
    return html`${specFacts}<p class="empty">No versions of ${space} yet: kiln embeddings train ${space}.</p>`;
  }
  const latest = summary.latestVersion!;
  const aliases = summary.aliases;
  const shown = versionParam(q.version, 'version', latest) ?? aliases.current ?? latest;
  const vA = versionParam(q.a, 'a', latest) ?? Math.max(1, latest - 1);
  const vB = versionParam(q.b, 'b', latest) ?? latest;
  const k = intParam(q.k, 'k', 10, 100);
  const vpages = Math.max(1, Math.ceil(summary.versions / VERSIONS_PER_PAGE));
  const vpage = Math.min(intParam(q.vpage, 'vpage', 1, 1_000_000), vpages);
  const keep = { version: q.version, color: q.color, entity: q.entity, a: q.a, b: q.b, k: q.k };

  // Versions, newest first, a page of them.
  const versions = reg.versions(space, { newestFirst: true, limit: VERSIONS_PER_PAGE, offset: (vpage - 1) * VERSIONS_PER_PAGE });
  const versionsTable = html`${table(['version', 'aliases', 'entity', 'trainer', 'dim', 'metric', 'size', 'data from', 'data to', 'trained until', 'index recall@10', 'aligned to', 'created', 'by'], versions.map((v) => [
    link(ctx, spacePath(space), `v${v.version}`, { ...keep, version: v.version }), aliasText(v), v.entity, v.trainer, num(v.dim), v.metric, num(v.size), when(v.dataFrom), when(v.dataTo), when(v.trainedUntil),
    f4(v.metrics.index_recall_at_10), v.lineage.alignedTo ? `v${v.lineage.alignedTo.version} over ${v.lineage.alignedTo.shared} (residual ${v.lineage.alignedTo.residual.toFixed(3)})` : '–', when(v.createdAt), v.createdBy,
  ]), { numeric: [4, 6, 10], id: 'space-versions' })}
${vpages > 1 ? html`<nav class="pager" aria-label="Version pages">${vpage > 1 ? link(ctx, spacePath(space), '← newer', { ...keep, vpage: vpage - 1 }) : ''}<span>page ${vpage} of ${vpages}</span>${vpage < vpages ? link(ctx, spacePath(space), 'older →', { ...keep, vpage: vpage + 1 }) : ''}</nav>` : ''}`;

  // The projection of one version.
  const v = reg.get(space, shown);
  const files = lookupFor(ctx.project, v).files(v);
  const attrs = files.attributes ? Object.keys(files.attributes) : [];
  if (q.color && !attrs.includes(q.color)) throw new KilnError('USAGE', `color '${q.color}': ${space} v${v.version} keeps ${attrs.length ? `the attributes ${attrs.join(', ')}` : 'no attributes'}`, { path: ['color'] });
  const colorBy = q.color ?? (attrs[0] ?? '');
  const t0 = performance.now();
  const p = projectSample(files.vectors, files.dim, { sample: PROJECTION_SAMPLE, seed: 7 });
  const ms = performance.now() - t0;
  const scatter = projectionSpec(v, p, files.ids, colorBy ? { name: colorBy, values: files.attributes![colorBy]! } : null);
  const projection = section('Projection', html`<form class="filters" method="get" action="${href(ctx, spacePath(space))}">${hidden({ entity: q.entity, a: q.a, b: q.b, k: q.k })}
<label>Version <select name="version">${versionOptions(latest, shown, aliases)}</select></label>
<label>Colour by <select name="color"><option value=""${colorBy ? '' : raw(' selected')}>nothing</option>${attrs.map((a) => html`<option value="${a}"${a === colorBy ? raw(' selected') : ''}>${a}</option>`)}</select></label>
<button type="submit">Show</button></form>
${chart(scatter, `${space} v${v.version}: a seeded sample of ${p.sampled} vectors projected on their first two principal components${colorBy ? `, coloured by ${colorBy}` : ''}`)}
<p class="note">Principal components by power iteration on the centred sample (seed 7, the same ${p.sampled} rows every time): they explain ${(100 * p.explained[0]).toFixed(1)}% and ${(100 * p.explained[1]).toFixed(1)}% of its variance${p.converged ? '' : ' (the iterations stopped before settling: the leading components explain about as much as each other, so other directions in their plane would show the same spread)'}; computed in ${ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`}.${attrs.length ? '' : ' This version keeps no attributes to colour by (declare attributes: { table, key, columns } in the space).'}</p>`, 'projection');

  // Neighbours of an entity in two versions.
  const entity = q.entity?.trim() ?? '';
  let panels: Html = html`<p class="note">Enter an ${v.entity} id to see its ${k} nearest neighbours in both versions${files.ids[0] !== undefined ? `, e.g. ${files.ids[0]}` : ''}.</p>`;
  if (entity) {
    const search = (ver: number): { neighbors: Neighbor[] } | { error: string } => {
      const at = reg.get(space, ver);
      try {
        return lookupFor(ctx.project, at).neighbors(at, { id: entity, k });
      } catch (e) {
        if (e instanceof KilnError && e.code === 'EMBEDDING_NOT_FOUND') return { error: e.message };
        throw e;
      }
    };
    const a = search(vA), b = search(vB);
    const ids = (r: typeof a): Set<string> => new Set('neighbors' in r ? r.neighbors.map((n) => n.id) : []);
    const shared = [...ids(a)].filter((x) => ids(b).has(x)).length;
    panels = html`${'neighbors' in a && 'neighbors' in b ? html`<p>${shared} of ${k} neighbours in common (overlap ${(shared / k).toFixed(2)}).</p>` : ''}
<div class="grid">${neighbourPanel(`v${vA}`, 'neighbors-a', a, ids(b))}${neighbourPanel(`v${vB}`, 'neighbors-b', b, ids(a))}</div>`;
  }
  const neighbours = section('Nearest neighbours in two versions', html`<form class="filters" method="get" action="${href(ctx, spacePath(space))}">${hidden({ version: q.version, color: q.color })}
<label>${v.entity} id <input type="text" name="entity" value="${entity}" required></label>
<label>Version A <select name="a">${versionOptions(latest, vA, aliases)}</select></label>
<label>Version B <select name="b">${versionOptions(latest, vB, aliases)}</select></label>
<label>Neighbours <input type="number" name="k" min="1" max="100" value="${k}"></label>
<button type="submit">Find</button></form>
${panels}
<p class="note">From each version's own HNSW index, as kiln embeddings neighbors ${space}@VERSION ID -k ${k}.</p>`, 'neighbours');

  const audit = reg.auditLog(space).reverse();
  const auditTable = table(['at', 'actor', 'action', 'version', 'alias', 'was', 'reason'], audit.slice(0, AUDIT_ROWS).map((e) => [when(e.at), e.actor, e.action, e.version === null ? '–' : `v${e.version}`, e.alias ?? '–', e.previousVersion === null ? '–' : `v${e.previousVersion}`, e.reason ?? '–']),
    { id: 'audit', caption: audit.length > AUDIT_ROWS ? `The newest ${AUDIT_ROWS} of ${audit.length} entries (kiln embeddings history ${space} lists all)` : 'Newest first', empty: 'Nothing recorded.' });

  return html`${specFacts}
${section('Versions', versionsTable, 'versions')}
${section('Aliases', Object.keys(aliases).length ? table(['alias', 'version'], Object.entries(aliases).map(([a, n]) => [a, link(ctx, spacePath(space), `v${n}`, { ...keep, version: n })]), { id: 'aliases' }) : html`<p class="empty">No aliases (kiln embeddings alias ${space}@N current --reason ...).</p>`, 'aliases')}
${projection}
${neighbours}
${section('Audit', auditTable, 'audit')}`;
}

export const screen: Screen = {
  id: 'embeddings',
  register(site: FastifyInstance, ctx: UiContext) {
    site.get('/embeddings', async (req, reply) => reply.type('text/html; charset=utf-8').send(page(ctx, req, { title: 'Embeddings', section: 'embeddings', body: listBody(ctx) })));
    site.get<{ Params: { space: string }; Querystring: SpaceQuery }>('/embeddings/:space', async (req, reply) => {
      const space = req.params.space;
      if (!(space in ctx.project.config.embeddings)) ctx.project.embeddings.requireSpace(space); // 404 for a space neither declared nor trained
      return reply.type('text/html; charset=utf-8').send(page(ctx, req, { title: `Embedding space ${space}`, section: 'embeddings', crumbs: [['Embeddings', '/embeddings']], body: spaceBody(ctx, space, req.query) }));
    });
  },
};
