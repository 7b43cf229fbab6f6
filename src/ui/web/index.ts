/**
 * The web UI (issue 19, docs/ui.md): `kiln ui` serves it alone, `kiln serve --ui` mounts it at /ui beside
 * the API. Separate from ../index.ts (the report helpers), which many stages import: this one loads Fastify.
 */
export { registerUi, createUiServer, requireAdmin, formBody, type UiOptions, type UiKeys } from './server.js';
export { page, href, link, NAV, type UiContext, type Viewer, type PageOptions } from './layout.js';
export { html, esc, raw, table, facts, section, chart, badge, when, num, Html, type Content } from './html.js';
export { SCREENS, type Screen } from './screens/index.js';
