/**
 * GET /models/:name: the model's facts, its aliases with the form that moves one (POST
 * /models/:name/aliases, admin only), its versions (paged), the promotion timeline with the loop's
 * evidence, the audit log (paged, newest first) and the signature of the latest or a chosen version.
 */
import type { FastifyRequest } from 'fastify';
import { aliasHistory, describeSignature, type ModelSignature } from '../../../../registry/index.js';
import { badge, facts, html, num, raw, section, table, when, type Html } from '../../html.js';
import { href, type UiContext } from '../../layout.js';
import { loopRunOf, modelPath, pageOf, pager, PAGE_ROWS, runPath, versionLink, versionParam, type Query } from './common.js';
import { evidenceCell, evidenceOf, promotionEvidence, timelineSection } from './timeline.js';

/** What the alias form shows again after a refused move: the values entered and why it was refused. */
export interface AliasFormState {
  readonly error: string;
  readonly alias: string;
  readonly version: string;
  readonly reason: string;
}

/** The newest versions offered in the alias form's list; older ones are typed in. */
const FORM_VERSIONS = 200;
/** At most this many inputs are listed one per row; a wider signature is listed by declared feature. */
const SIGNATURE_ROWS = 200;
/** Automatic promotions shown with their gate tables (newest first); older ones are linked from the timeline. */
const PROMOTIONS_SHOWN = 5;

export async function modelBody(ctx: UiContext, req: FastifyRequest, name: string, q: Query, form?: AliasFormState): Promise<Html> {
  const reg = ctx.project.registry;
  const summary = reg.getModel(name);
  const vpage = pageOf(q, 'vpage');
  const apage = pageOf(q, 'apage');
  const versions = reg.versionsPage(name, { limit: PAGE_ROWS, offset: (vpage - 1) * PAGE_ROWS });
  const audit = reg.auditPage(name, { limit: PAGE_ROWS, offset: (apage - 1) * PAGE_ROWS });
  const intervals = aliasHistory(reg, name);
  // The loop runs behind the moves this page shows in full: the newest automatic ones (their gate tables),
  // the audit page's, then the older intervals' as far as evidenceOf reads.
  const newest = [...intervals].reverse().map((i) => i.reason);
  const evidence = await evidenceOf(ctx.project, [...newest.filter((r) => loopRunOf(r) !== null).slice(0, PROMOTIONS_SHOWN), ...audit.entries.map((e) => e.reason), ...newest]);
  const latest = summary.latestVersion === null ? null : reg.getVersion(name, summary.latestVersion);
  const path = modelPath(name);
  const keep: Query = { vpage: q.vpage, apage: q.apage, version: q.version };

  const aliasRows = Object.entries(summary.aliases).map(([alias, v]) => {
    const since = [...intervals].reverse().find((i) => i.alias === alias && i.to === null);
    return [alias, versionLink(ctx, name, v), since ? when(since.from) : '–', since?.setBy ?? '–', since?.reason ?? '–', evidenceCell(ctx, name, since?.reason ?? null, evidence)];
  });
  // After a move (the redirect's query): said only while it holds, so a crafted link cannot claim one.
  const moved = q.moved && q.to && String(summary.aliases[q.moved]) === q.to ? html`<p class="note" role="status">${q.moved} now points at version ${q.to}${q.was ? ` (was ${q.was})` : ''}; the move is the newest row of the audit log.</p>` : '';

  const versionRows = versions.versions.map((v) => [
    versionLink(ctx, name, v.version), v.aliases.length ? v.aliases.map((a) => badge(a, 'info')) : '', when(v.createdAt), v.createdBy,
    v.runId ? html`<a href="${href(ctx, runPath(v.runId))}">${v.runId}</a>` : '–', v.description ?? '–', describeSignature(v.signature, 6),
  ]);

  const auditRows = audit.entries.map((e) => [
    e.id, when(e.at), e.actor, e.action.replace('_', ' '), e.alias ?? '–', versionLink(ctx, name, e.version), versionLink(ctx, name, e.previousVersion), e.reason ?? '–',
    e.action === 'set_alias' ? evidenceCell(ctx, name, e.reason, evidence) : e.details !== undefined ? html`<code>${JSON.stringify(e.details)}</code>` : '',
  ]);

  return html`${facts([
    ['Versions', num(summary.versions)],
    ['Latest version', versionLink(ctx, name, summary.latestVersion)],
    ['Aliases', Object.entries(summary.aliases).map(([a, v], i) => html`${i ? ', ' : ''}${a} → ${versionLink(ctx, name, v)}`)],
    ['Created', when(summary.createdAt)],
    ['Description', summary.description ?? latest?.description ?? null],
    ['Output', latest?.signature.output ?? null],
    ['Decisions', html`<a href="${href(ctx, '/decisions', { model: name })}">decisions logged for ${name}</a>`],
  ])}
${section('Aliases', html`${moved}${table(['Alias', 'Version', 'Since (UTC)', 'Set by', 'Reason', 'Evidence'], aliasRows, { id: 'aliases', empty: `${name} has no aliases yet.` })}
${aliasForm(ctx, req, name, summary.aliases, versions.total, versions.total <= FORM_VERSIONS ? reg.versionNumbers(name, FORM_VERSIONS) : [], form)}`, 'aliases')}
${section('Versions', html`${table(['Version', 'Aliases', 'Created (UTC)', 'By', 'Training run', 'Description', 'Signature'], versionRows, { id: 'versions', empty: `No versions on this page: ${name} has ${versions.total}.` })}
${pager(ctx, path, { key: 'vpage', page: vpage, total: versions.total, keep, anchor: 'h-versions', noun: 'versions' })}`, 'versions')}
${section('Promotion timeline', timelineSection(ctx, name, intervals, evidence), 'timeline')}
${section('Evidence of automatic promotions', promotionEvidence(ctx, name, intervals.map((i) => ({ alias: i.alias, version: i.version, at: i.from, reason: i.reason })), evidence, PROMOTIONS_SHOWN), 'evidence')}
${section('Audit log', html`${table(['#', 'Time (UTC)', 'Actor', 'Action', 'Alias', 'Version', 'Previous', 'Reason', 'Evidence / details'], auditRows, { id: 'audit', numeric: [0], caption: 'Newest first; the log is append-only.', empty: `No audit entries on this page: the log of ${name} has ${audit.total}.` })}
${pager(ctx, path, { key: 'apage', page: apage, total: audit.total, keep, anchor: 'h-audit', noun: 'entries' })}`, 'audit')}
${section('Signature', signatureSection(ctx, name, q, summary.latestVersion, keep), 'signature')}`;
}

function aliasForm(ctx: UiContext, req: FastifyRequest, name: string, aliases: Record<string, number>, total: number, recent: { version: number; createdAt: string }[], form?: AliasFormState): Html {
  if (!req.uiViewer?.admin) {
    return html`<p class="note">Moving an alias needs an API key with scope admin${req.uiViewer?.name ? html`; ${req.uiViewer.name} may only look` : ''}. <a href="${href(ctx, '/login', { next: `${ctx.base}${modelPath(name)}` })}">Sign in with one</a>, or run <code>kiln models alias set ${name}@VERSION ALIAS --reason "..."</code>.</p>`;
  }
  const chosen = form?.version ?? '';
  const held = new Map<number, string[]>();
  for (const [a, v] of Object.entries(aliases)) held.set(v, [...(held.get(v) ?? []), a]);
  const versionInput = total <= FORM_VERSIONS
    ? html`<select name="version" id="alias-version" required>${recent.map((v) => html`<option value="${v.version}"${String(v.version) === chosen ? raw(' selected') : ''}>v${v.version}${held.has(v.version) ? ` (${held.get(v.version)!.join(', ')})` : ''} · ${v.createdAt.slice(0, 10)}</option>`)}</select>`
    : html`<input type="number" name="version" id="alias-version" min="1" max="${total}" step="1" required value="${chosen}">`;
  return html`<h3 id="move-alias">Move an alias</h3>
${form ? html`<p class="error" role="alert" id="alias-error">${form.error} Nothing was changed.</p>` : ''}
<form method="post" action="${href(ctx, `${modelPath(name)}/aliases`)}" class="filters" id="alias-form" data-confirm="Move this alias? Whatever scores by it switches to the chosen version at once.">
<label>Alias (existing or new) <input name="alias" list="alias-names" required maxlength="64" autocomplete="off" value="${form?.alias ?? ''}"${form ? raw(' aria-describedby="alias-error"') : ''}></label>
<datalist id="alias-names">${Object.entries(aliases).map(([a, v]) => html`<option value="${a}">${a} → v${v}</option>`)}</datalist>
<label>Version ${versionInput}</label>
<label>Reason (kept in the audit log) <input name="reason" required size="40" maxlength="500" value="${form?.reason ?? ''}"></label>
<button type="submit">Move alias</button>
</form>`;
}

/** The signature of the chosen (?version=) or latest version: each input with its type and definition version. */
function signatureSection(ctx: UiContext, name: string, q: Query, latest: number | null, keep: Query): Html {
  if (latest === null) return html`<p class="empty">No versions yet.</p>`;
  const chosen = q.version ? versionParam(name, q.version) : latest;
  const v = ctx.project.registry.getVersion(name, chosen);
  const sig: ModelSignature = v.signature;
  const picker = html`<form method="get" action="${href(ctx, modelPath(name))}#h-signature" class="filters">
${keep.vpage ? html`<input type="hidden" name="vpage" value="${keep.vpage}">` : ''}${keep.apage ? html`<input type="hidden" name="apage" value="${keep.apage}">` : ''}
<label>Version <input type="number" name="version" min="1" max="${latest}" step="1" value="${chosen}" required></label><button type="submit" class="secondary">Show signature</button></form>`;
  const head = html`<p>Version ${versionLink(ctx, name, v.version)}${v.version === latest ? ' (latest)' : ''}: ${describeSignature(sig, 8)}${sig.output ? html`; output: ${sig.output}` : ''}.</p>`;
  const onnx = (sig as { onnx?: { inputs: { name: string; type: string; dims: (number | string | null)[] | null }[]; logit: string } }).onnx;
  const onnxText = onnx ? html`<p>ONNX inputs: ${onnx.inputs.map((t) => `${t.name} ${t.type} [${(t.dims ?? ['...']).map((d) => d ?? '?').join(', ')}]`).join(', ')}; logit ${onnx.logit}.</p>` : '';
  if (sig.features.length <= SIGNATURE_ROWS) {
    return html`${picker}${head}${onnxText}${table(['Input', 'Type', 'Definition version'], sig.features.map((f) => [f.name, f.type, f.version ?? '–']), { id: 'signature' })}`;
  }
  // Thousands of inputs (bucketed features): one row per declared feature (`<feature>__<bucket>` columns counted).
  const by = new Map<string, { columns: number; types: Set<string>; versions: Set<string> }>();
  for (const f of sig.features) {
    const i = f.name.indexOf('__');
    const owner = i > 0 ? f.name.slice(0, i) : f.name;
    const g = by.get(owner) ?? { columns: 0, types: new Set<string>(), versions: new Set<string>() };
    g.columns++;
    g.types.add(f.type);
    if (f.version) g.versions.add(f.version);
    by.set(owner, g);
  }
  return html`${picker}${head}${onnxText}<p class="note">${num(sig.features.length)} inputs, listed by declared feature; <code>kiln models show ${name}@${v.version} --json</code> prints every input.</p>
${table(['Feature', 'Inputs', 'Types', 'Definition version'], [...by].map(([f, g]) => [f, num(g.columns), [...g.types].join(', '), [...g.versions].join(', ') || '–']), { id: 'signature', numeric: [1] })}`;
}
