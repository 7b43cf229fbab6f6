/**
 * Features: the catalogue of the config's definitions (what each computes, its version, owner, sets,
 * which models use it, and how fresh each source is offline and online), and one feature's page: its
 * full definition and its value for an entity as of any time, point in time from the offline store beside
 * the online store's. Definitions are read by the same code as `kiln features list|describe`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KilnError, didYouMean } from '../../../core/errors.js';
import { describeDefinition, formatFeature, loadFeatureRegistry, shortVersion, type FeatureRegistry } from '../../../features/index.js';
import { quoteIdent } from '../../../store/index.js';
import { badge, facts, html, num, raw, section, table, when, type Content, type Html } from '../html.js';
import { href, link, page, type UiContext } from '../layout.js';
import { openOnline } from './features/online.js';
import { featureUses, versionsText, type FeatureUse } from './features/usage.js';
import { parseAsOf, pointValues, sameValue, type PointValues } from './features/value.js';
import type { Screen } from './types.js';

const send = (reply: FastifyReply, body: string, code = 200): FastifyReply => reply.code(code).type('text/html; charset=utf-8').send(body);

function registryOf(ctx: UiContext): FeatureRegistry {
  return loadFeatureRegistry(ctx.project.config.features ?? []);
}

const usedByCell = (ctx: UiContext, u: FeatureUse | undefined): Html => {
  if (!u || (!u.config.length && !u.versions.length)) return raw('–');
  const cfg = u.config.map((m) => link(ctx, `/models/${encodeURIComponent(m)}`, m));
  const parts: Content[] = [];
  cfg.forEach((c, i) => parts.push(i ? ', ' : '', c));
  const v = versionsText(u);
  return html`${parts}${v ? html`${cfg.length ? ' · ' : ''}<span class="note">versions: ${v}</span>` : ''}`;
};

/** Per source: the latest event in the offline store and the online store's last materialisation. */
async function freshness(ctx: UiContext, registry: FeatureRegistry): Promise<Html> {
  const project = ctx.project;
  const sources = [...registry.sources.values()];
  if (!sources.length) return html`<p class="empty">No sources are defined.</p>`;
  const latest = new Map<string, string | null>();
  const problems = new Map<string, string>();
  for (const s of sources) {
    try {
      const [r] = await project.offline.all<{ t: string | null; n: number }>(`SELECT max(CAST(${quoteIdent(s.timestamp)} AS TIMESTAMP)) AS t FROM ${quoteIdent(s.table)}`);
      latest.set(s.name, r?.t ?? null);
    } catch (e) {
      problems.set(s.name, (e as Error).message.split('\n')[0]!);
    }
  }
  const access = await openOnline(project);
  let record: Awaited<ReturnType<Extract<typeof access, { state: 'open' }>['store']['materialization']>> = null;
  let served = new Set<string>();
  let onlineNote: Html;
  if (access.state === 'open') {
    try {
      record = await access.store.materialization();
      served = new Set(access.store.plan.sources.keys());
    } finally {
      await access.store.close();
    }
    onlineNote = record
      ? record.finishedAt
        ? html`<p>Online store (${access.backend}): materialised as of ${when(record.asOf)} (finished ${when(record.finishedAt)}), serving ${record.features.join(', ')}. Events pushed since update its values; the materialisation times do not move with them.</p>`
        : html`<p role="status">${badge('incomplete', 'warn')} A materialisation of the online store (${access.backend}) started ${when(record.startedAt)} and has not finished (it is running, or it failed): its values may be partial.</p>`
      : html`<p>Online store (${access.backend}): open, serving ${access.store.plan.selection.join(', ')}; it records no materialisation time (materialised by an older kiln, or filled by pushes only).</p>`;
  } else {
    onlineNote = html`<p class="note" role="status">${access.state === 'absent' ? 'No online store.' : 'Online store unavailable.'} ${access.note}</p>`;
  }
  const rows = sources.map((s) => {
    const m = record?.sources.find((x) => x.name === s.name);
    const online: Content = access.state !== 'open' ? '–'
      : !served.has(s.name) ? 'not served'
        : m ? html`${num(m.events)} events, ${num(m.entities)} entities; latest ${when(m.latestEvent)}` : 'served (no materialisation record)';
    return [s.name, s.type, s.table, problems.has(s.name) ? html`<span class="error">${problems.get(s.name)}</span>` : when(latest.get(s.name) ?? null), online];
  });
  return html`${onlineNote}${table(['source', 'type', 'table', 'latest event (offline store, UTC)', 'online store'], rows, { id: 'freshness' })}`;
}

async function listPage(ctx: UiContext, req: FastifyRequest<{ Querystring: { q?: string } }>): Promise<string> {
  const registry = registryOf(ctx);
  const q = typeof req.query.q === 'string' ? req.query.q.trim() : '';
  const match = (name: string): boolean => !q || name.toLowerCase().includes(q.toLowerCase());
  const uses = featureUses(ctx.project, registry);
  const setsOf = new Map<string, string[]>();
  for (const s of registry.sets.values()) for (const f of s.spec.features) setsOf.set(f, [...(setsOf.get(f) ?? []), s.name]);
  const features = [...registry.features.values()].filter((f) => match(f.name));
  const sets = [...registry.sets.values()].filter((s) => match(s.name));
  const search = html`<form method="get" action="${href(ctx, '/features')}" class="filters" role="search">
<label>Name contains <input type="search" name="q" value="${q}" placeholder="e.g. spend"></label><button type="submit">Search</button>${q ? html` ${link(ctx, '/features', 'Clear')}` : ''}</form>`;
  if (registry.features.size === 0) {
    return page(ctx, req, { title: 'Features', section: 'features', body: html`<p class="empty">No features are defined in ${ctx.project.paths.configFile}: declare them with kiln's feature DSL and list them in the config's <code>features</code>.</p>` });
  }
  const featureRows = features.map((f) => [
    link(ctx, `/features/${encodeURIComponent(f.name)}`, f.name), f.entity.name, f.source?.name ?? '(derived)', html`<code>${formatFeature(f)}</code>`,
    html`<code title="${f.version}">${shortVersion(f.version)}</code>`, f.spec.meta.owner ?? '–', f.spec.meta.description ?? '',
    (setsOf.get(f.name) ?? []).map((s, i) => html`${i ? ', ' : ''}${link(ctx, `/features/${encodeURIComponent(s)}`, s)}`), usedByCell(ctx, uses.get(f.name)),
  ]);
  const setRows = sets.map((s) => [
    link(ctx, `/features/${encodeURIComponent(s.name)}`, s.name), s.entity?.name ?? '–', s.spec.features.length, html`<code title="${s.version}">${shortVersion(s.version)}</code>`,
    s.spec.meta.owner ?? '–', s.spec.meta.description ?? '', usedByCell(ctx, uses.get(s.name)),
  ]);
  const body = html`${search}
<p class="note">${q ? `${features.length} of ${registry.features.size} features and ${sets.length} of ${registry.sets.size} feature sets match '${q}'.` : `${registry.features.size} features and ${registry.sets.size} feature sets, from ${ctx.project.paths.configFile}.`}</p>
${section('Feature definitions', table(['feature', 'entity', 'source', 'computes', 'version', 'owner', 'description', 'feature sets', 'used by models'], featureRows, { id: 'features', numeric: [], empty: `No feature's name contains '${q}'.` }))}
${section('Feature sets', table(['feature set', 'entity', 'features', 'version', 'owner', 'description', 'used by models'], setRows, { id: 'sets', numeric: [2], empty: q ? `No feature set's name contains '${q}'.` : 'No feature sets are defined.' }))}
${section('Freshness', await freshness(ctx, registry))}`;
  return page(ctx, req, { title: 'Features', section: 'features', body });
}

function valueText(v: unknown): Content {
  if (v === null || v === undefined) return html`<span class="note">null (no value)</span>`;
  if (typeof v === 'number') return num(v, 6);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'object') return html`<code>${JSON.stringify(v)}</code>`;
  return String(v);
}

function valuesTable(p: PointValues): Html {
  const online = 'row' in p.online ? p.online : null;
  const rows = p.columns.map((c) => {
    const off = p.offline[c];
    if (!online) return [c, valueText(off)];
    const on = online.row[c];
    return [c, valueText(off), valueText(on), sameValue(off, on) ? badge('same', 'ok') : badge('differs', 'bad')];
  });
  const header = online ? ['column', 'offline store (point in time)', `online store (${online.backend})`, 'agree'] : ['column', 'offline store (point in time)'];
  return html`<p>${p.keyColumn} <b>${p.key}</b> as of <b>${when(p.asOf)}</b> (events strictly before it, and known by then).</p>
${table(header, rows, { id: 'values', numeric: [1, 2] })}
${'note' in p.online ? html`<p class="note">${p.online.note}</p>` : online && !online.known ? html`<p class="note">The online store has never seen this ${p.keyColumn}: its values are those of an entity without events.</p>` : ''}`;
}

async function detailPage(ctx: UiContext, req: FastifyRequest<{ Params: { name: string }; Querystring: { key?: string; asOf?: string } }>, reply: FastifyReply): Promise<FastifyReply> {
  const registry = registryOf(ctx);
  const name = req.params.name;
  const d = describeDefinition(registry, name);
  if (!d) {
    const h = didYouMean(name, [...registry.features.keys(), ...registry.sets.keys()]);
    throw new KilnError('FEATURE_NOT_FOUND', `No feature or feature set '${name}'${h ? `; did you mean '${h}'?` : ''}.`);
  }
  const uses = featureUses(ctx.project, registry).get(name);
  const isSet = d.kind === 'featureSet';
  const f = registry.features.get(name);
  const set = registry.sets.get(name);
  const src = f?.source;
  const setsOf = [...registry.sets.values()].filter((s) => s.spec.features.includes(name)).map((s) => s.name);
  // The registry's usedBy holds both the derived features and the sets that read a feature: sets have their own line.
  const usedByFeatures = (f?.usedBy ?? []).filter((n) => registry.features.has(n));
  const definition = isSet
    ? facts([
      ['kind', 'feature set'], ['version', html`<code>${set!.version}</code>`], ['entity', set!.entity?.name ?? '–'],
      ['owner', set!.spec.meta.owner ?? null], ['description', set!.spec.meta.description ?? null],
    ])
    : facts([
      ['kind', 'feature'], ['computes', html`<code>${formatFeature(f!)}</code>`], ['version', html`<code>${f!.version}</code>`], ['entity', `${f!.entity.name} (key ${f!.entity.key})`],
      ['source', src ? `${src.name} (${src.type}): table ${src.table}, key ${src.key}, time ${src.timestamp}${src.availableAt ? `, known at ${src.availableAt}` : ''}` : '(derived: computed from other features)'],
      ['columns', f!.outputs.map((o) => o.column).join(', ')],
      ['reads features', f!.inputs.length ? f!.inputs.map((n, i) => html`${i ? ', ' : ''}${link(ctx, `/features/${encodeURIComponent(n)}`, n)}`) : null],
      ['used by features', usedByFeatures.length ? usedByFeatures.map((n, i) => html`${i ? ', ' : ''}${link(ctx, `/features/${encodeURIComponent(n)}`, n)}`) : null],
      ['feature sets', setsOf.length ? setsOf.map((n, i) => html`${i ? ', ' : ''}${link(ctx, `/features/${encodeURIComponent(n)}`, n)}`) : null],
      ['owner', f!.spec.meta.owner ?? null], ['description', f!.spec.meta.description ?? null],
    ]);
  const members = isSet
    ? section('Features of the set', table(['feature', 'computes', 'version'], set!.spec.features.map((n) => {
      const m = registry.features.get(n);
      return [link(ctx, `/features/${encodeURIComponent(n)}`, n), m ? html`<code>${formatFeature(m)}</code>` : '–', m ? html`<code title="${m.version}">${shortVersion(m.version)}</code>` : '–'];
    }), { id: 'members' }))
    : '';
  const used = section('Used by', uses && (uses.config.length || uses.versions.length)
    ? facts([
      ['models (config)', uses.config.length ? uses.config.map((m, i) => html`${i ? ', ' : ''}${link(ctx, `/models/${encodeURIComponent(m)}`, m)}`) : null],
      ['registered versions', uses.versions.length ? uses.versions.map((v, i) => html`${i ? ', ' : ''}${link(ctx, `/models/${encodeURIComponent(v.model)}`, `${v.model}@${v.version}`)}${v.sameDefinition ? '' : ' (trained on an older definition)'}`) : null],
    ])
    : html`<p class="empty">No model in the config selects it, and no registered version reads it.</p>`);

  // The value form: GET, so a value's page can be linked and reloaded.
  const keyText = typeof req.query.key === 'string' ? req.query.key.trim() : '';
  const asOfText = typeof req.query.asOf === 'string' && req.query.asOf.trim() ? req.query.asOf.trim() : new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const entityKey = f?.entity.key ?? set?.entity?.key ?? 'key';
  let result: Content = '';
  let code = 200;
  if (keyText) {
    try {
      const asOf = await parseAsOf(asOfText);
      result = valuesTable(await pointValues(ctx.project, registry, name, keyText, asOf));
    } catch (e) {
      if (!(e instanceof KilnError)) throw e;
      code = e.code === 'FEATURE_NOT_FOUND' ? 404 : 422;
      result = html`<p class="error" role="alert">${e.message}</p>`;
    }
  }
  const form = html`<form method="get" action="${href(ctx, `/features/${encodeURIComponent(name)}`)}" class="filters">
<label>${entityKey} <input name="key" value="${keyText}" required inputmode="text" autocomplete="off"></label>
<label>As of (UTC) <input name="asOf" value="${asOfText}" placeholder="2025-01-01T00:00:00Z" pattern="[0-9]{4}-[0-9]{2}-[0-9]{2}.*"></label>
<button type="submit">Show value</button></form>
<p class="note">The offline value is computed point in time from the offline store, as a training set would hold it; the online value is read from the online store at the same time.</p>
${result}`;
  const body = html`${section('Definition', definition)}${members}${used}
${section(isSet ? 'Values for an entity' : 'Value for an entity', form, 'value')}
${section('Specification', html`<details><summary>The definition as data (JSON)</summary><pre><code>${JSON.stringify(isSet ? set!.spec : f!.spec, null, 2)}</code></pre></details>`)}`;
  return send(reply, page(ctx, req, { title: name, section: 'features', crumbs: [['Features', '/features']], body }), code);
}

export const screen: Screen = {
  id: 'features',
  register(site, ctx) {
    site.get<{ Querystring: { q?: string } }>('/features', async (req, reply) => send(reply, await listPage(ctx, req)));
    site.get<{ Params: { name: string }; Querystring: { key?: string; asOf?: string } }>('/features/:name', async (req, reply) => detailPage(ctx, req, reply));
  },
};
