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
