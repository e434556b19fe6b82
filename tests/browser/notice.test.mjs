// The HTML privacy notice as a reader meets it: rendered by the ombud binary, opened in
// chromium, checked with axe-core against WCAG 2.1 AA, used with the keyboard, and saved as
// screenshots under target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { launch } from './chromium.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ombud = process.env.OMBUD_BIN ?? path.join(root, 'target/debug/ombud');
const out = path.join(root, 'target/e2e');
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const examples = ['invoicing-saas', 'public-cloud', 'managed-erp-hosting'];

let browser;
before(async () => {
  mkdirSync(out, { recursive: true });
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

function render(name) {
  const file = path.join(out, `${name}.html`);
  execFileSync(ombud, ['policy', 'render', path.join(root, `examples/${name}.toml`), '--format', 'html', '-o', file]);
  return pathToFileURL(file).href;
}

for (const [name, colorScheme] of examples.flatMap((n) => [[n, 'light'], [n, 'dark']])) {
  test(`the ${name} notice meets WCAG 2.1 AA in ${colorScheme} mode and loads nothing from elsewhere`, async () => {
    const url = render(name);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, colorScheme });
    const requests = [];
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) requests.push(request.url());
    });
    await page.goto(url);
    await page.addScriptTag({ path: axePath });
    const result = await page.evaluate(() =>
      // eslint-disable-next-line no-undef
      axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
    );
    const violations = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    assert.deepEqual(violations, [], `accessibility violations in ${name}`);
    assert.ok(result.passes.length > 10, 'axe ran its checks');
    assert.deepEqual(requests, [], 'the page is self-contained');
    await page.screenshot({ path: path.join(out, `${name}-${colorScheme}.png`), fullPage: false });
    await page.close();
  });
}

test('the skip link is the first stop for the keyboard and leads to the notice', async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(render('invoicing-saas'));
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => ({
    text: document.activeElement.textContent,
    left: document.activeElement.getBoundingClientRect().left,
  }));
  assert.equal(focused.text, 'Skip to the notice');
  assert.ok(focused.left >= 0, 'the focused skip link is on screen');
  await page.keyboard.press('Enter');
  assert.equal(new URL(page.url()).hash, '#main');
  await page.close();
});

test('on a phone the notice reflows without sideways scrolling of the page', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(render('managed-erp-hosting'));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await page.screenshot({ path: path.join(out, 'managed-erp-hosting-phone.png'), fullPage: false });
  await page.close();
});
