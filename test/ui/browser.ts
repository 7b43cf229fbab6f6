/**
 * Debian's Chromium driven by playwright-core, for the web UI's end-to-end tests: headless, no sandbox
 * (tests run as root), background networking off (this machine's network is closed). `CHROMIUM` names
 * another executable. Screenshots go to test/ui/.screenshots/ (git-ignored), to be looked at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = join(import.meta.dirname, '.screenshots');

export function haveChromium(): boolean {
  return existsSync(CHROMIUM);
}

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Console errors and uncaught page errors, collected while a page is open. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  return errors;
}

/** Waits until every chart of the page has rendered (or failed, which the test then reports). */
export async function chartsRendered(page: Page): Promise<{ charts: number; failed: number }> {
  // Expressions run in the page (this package's TypeScript has no DOM types).
  await page.waitForFunction("[...document.querySelectorAll('.vl[data-spec]')].every((e) => e.hasAttribute('data-rendered'))", undefined, { timeout: 15_000 });
  return page.evaluate(`(() => {
    const all = [...document.querySelectorAll('.vl[data-spec]')];
    return { charts: all.length, failed: all.filter((e) => e.getAttribute('data-rendered') === 'error' || !e.querySelector('svg')).length };
  })()`);
}

/**
 * Text whose contrast against its background is below 4.5:1 (WCAG AA for body text), over the page's
 * text outside charts: the element's colour against the first opaque background up its ancestors.
 */
export async function lowContrast(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const rgb = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null; const p = m[1].split(',').map((x) => parseFloat(x)); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
    const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
    const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
    const bad = [];
    const els = [...document.querySelectorAll('body *')].filter((e) => !e.closest('svg, .vl, .skip, .sr-only') && [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()));
    for (const e of els.slice(0, 2000)) {
      const st = getComputedStyle(e);
      if (st.visibility === 'hidden' || st.display === 'none') continue;
      const fg = rgb(st.color); if (!fg) continue;
      const b = bg(e);
      const [hi, lo] = [lum(fg), lum(b)].sort((x, y) => y - x);
      const ratio = (hi + 0.05) / (lo + 0.05);
      if (ratio < 4.5) bad.push(e.tagName.toLowerCase() + '.' + e.className + ' "' + e.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
    }
    return bad.slice(0, 10);
  })()`);
}
