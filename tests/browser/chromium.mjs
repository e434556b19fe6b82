// Launches Debian's chromium for browser tests: never a downloaded browser, no network chatter;
// and checks a page as every console test does: axe-core, no sideways scrolling, a screenshot.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { root } from './ombud.mjs';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
export const shots = path.join(root, 'target/e2e');

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launch() {
  return chromium.launch({
    executablePath: process.env.OMBUD_CHROMIUM ?? '/usr/bin/chromium',
    args: CHROMIUM_FLAGS,
  });
}

/// axe-core's WCAG 2.1 A and AA rules find nothing, the page is no wider than the screen, and
/// a full-page screenshot goes to target/e2e/`name`.png. The page's context must bypass the
/// content security policy, which lets no script run, axe included.
export async function checkAndShoot(page, name) {
  mkdirSync(shots, { recursive: true });
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  const violations = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(violations, [], `accessibility violations on ${name}`);
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name} is ${overflow}px wider than the screen`);
}
