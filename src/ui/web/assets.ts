/**
 * The web UI's static files, served by kiln (no CDN, no web fonts): one stylesheet, one small script that
 * renders the pages' Vega-Lite charts (loading vega and vega-lite from the installed npm packages only on
 * pages that have charts) and confirms destructive forms, and the two vega bundles themselves.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Colours meet WCAG AA contrast on their backgrounds (text >= 4.5:1); focus is always visible. */
export const CSS = `
:root { color-scheme: light; --fg: #111827; --muted: #4b5563; --line: #d1d5db; --bg: #f9fafb; --card: #fff; --link: #1d4ed8; --accent: #111827; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0; background: var(--bg); }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible, main:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; color: var(--fg); padding: 8px 12px; z-index: 10; }
.skip:focus { left: 8px; }
header.top { background: var(--accent); color: #f9fafb; padding: 10px 24px; display: flex; flex-wrap: wrap; align-items: center; gap: 8px 24px; }
header.top .brand { color: #fff; font-weight: 700; text-decoration: none; font-size: 17px; }
header.top .who { color: #e5e7eb; font-size: 13px; margin-left: auto; }
header.top .who a { color: #bfdbfe; }
header.top nav { flex-basis: 100%; }
header.top nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 18px; }
header.top nav a { color: #e5e7eb; text-decoration: none; padding: 4px 0; display: inline-block; }
header.top nav a[aria-current="page"] { color: #fff; border-bottom: 3px solid #fbbf24; }
main { padding: 12px 24px 48px; max-width: 1280px; }
main:focus { outline: none; }
h1 { font-size: 24px; margin: 8px 0 12px; }
h2 { font-size: 18px; margin: 0 0 10px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; margin: 14px 0; }
.crumbs ol { list-style: none; padding: 0; margin: 6px 0 0; display: flex; flex-wrap: wrap; gap: 6px; font-size: 13px; color: var(--muted); }
.crumbs li + li::before { content: "/"; margin-right: 6px; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
caption { text-align: left; color: var(--muted); padding-bottom: 4px; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; white-space: nowrap; }
td time { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:hover td { background: #f9fafb; }
.delta-up { color: #166534; } .delta-down { color: #b91c1c; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.badge.ok { background: #dcfce7; color: #14532d; } .badge.warn { background: #fef3c7; color: #78350f; }
.badge.bad { background: #fee2e2; color: #7f1d1d; } .badge.info { background: #e0e7ff; color: #1e3a8a; }
form.filters { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: flex-end; margin: 8px 0; }
form label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); gap: 2px; }
input, select, button { font: inherit; padding: 5px 8px; border: 1px solid #9ca3af; border-radius: 6px; background: #fff; color: var(--fg); }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button.secondary { background: #fff; color: var(--fg); }
.pager { display: flex; gap: 12px; align-items: center; margin: 8px 0; font-size: 14px; }
.empty { color: var(--muted); }
.error { background: #fee2e2; color: #7f1d1d; border: 1px solid #fecaca; padding: 10px 14px; border-radius: 6px; }
.note { color: var(--muted); font-size: 13px; }
figure.chart { margin: 8px 0; } figure.chart .vl { width: 100%; min-height: 40px; } figcaption { color: var(--muted); font-size: 13px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 14px; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; } .kpi { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 140px; }
.kpi b { display: block; font-size: 20px; } .kpi span { color: var(--muted); font-size: 13px; }
pre { background: #f3f4f6; padding: 10px; border-radius: 6px; overflow-x: auto; font-size: 12px; }
@media (max-width: 640px) { main { padding: 8px 12px 32px; } header.top { padding: 8px 12px; } h1 { font-size: 20px; } section { padding: 10px 12px; } }
`;

/** Renders every .vl chart with vega-lite (SVG, tooltips); loads vega only on pages with charts. */
export const SCRIPT = `(() => {
  const me = document.currentScript;
  const base = (me && me.dataset.base) || '';
  document.querySelectorAll('form[data-confirm]').forEach((f) => f.addEventListener('submit', (e) => { if (!confirm(f.dataset.confirm)) e.preventDefault(); }));
  const charts = document.querySelectorAll('.vl[data-spec]');
  if (!charts.length) return;
  const load = (src) => new Promise((ok, fail) => { const s = document.createElement('script'); s.src = base + src; s.onload = ok; s.onerror = () => fail(new Error('cannot load ' + src)); document.head.appendChild(s); });
  load('/assets/vega.min.js').then(() => load('/assets/vega-lite.min.js')).then(() => {
    charts.forEach((el) => {
      try {
        const spec = JSON.parse(el.dataset.spec);
        const compiled = vegaLite.compile(spec).spec;
        const view = new vega.View(vega.parse(compiled), { renderer: 'svg', container: el, hover: true });
        view.tooltip((handler, event, item, value) => { el.title = value == null ? '' : (typeof value === 'object' ? Object.entries(value).map(([k, v]) => k + ': ' + v).join('\\n') : String(value)); });
        view.runAsync().then(() => el.setAttribute('data-rendered', '1'));
      } catch (e) { el.textContent = 'chart failed: ' + e.message; el.setAttribute('data-rendered', 'error'); console.error(e); }
    });
  }).catch((e) => console.error(e));
})();
`;

const require = createRequire(import.meta.url);
const files = new Map<string, string>();

/** The bytes of an asset by name, or null. vega bundles come from the installed packages. */
export function asset(name: string): { body: string; type: string } | null {
  if (name === 'kiln.css') return { body: CSS, type: 'text/css; charset=utf-8' };
  if (name === 'kiln.js') return { body: SCRIPT, type: 'text/javascript; charset=utf-8' };
  const from = name === 'vega.min.js' ? 'vega' : name === 'vega-lite.min.js' ? 'vega-lite' : null;
  if (!from) return null;
  let body = files.get(name);
  if (body === undefined) {
    body = readFileSync(join(dirname(require.resolve(from)), name), 'utf8');
    files.set(name, body);
  }
  return { body, type: 'text/javascript; charset=utf-8' };
}
