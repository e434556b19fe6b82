// The privacy portal end to end, as a person uses it: `ombud serve` on a fresh data directory
// with no SMTP server (mails land as .eml files), chromium filing an access request, the code
// read from the outbox, the confirmation, the operator fulfilling it over the API, the download
// from the link mailed, and data.json opened from the zip. Every page is checked with axe-core
// and saved as a screenshot under target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { launch } from './chromium.mjs';
import { root, serve } from './ombud.mjs';

const out = path.join(root, 'target/e2e');
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const EMAIL = 'helmi.lahti@example.fi';

let browser;
let ombud;
let base;
let api;
let mail;

async function checkAndShoot(page, name) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  const violations = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(violations, [], `accessibility violations on ${name}`);
  await page.screenshot({ path: path.join(out, `portal-${name}.png`), fullPage: true });
}

before(async () => {
  mkdirSync(out, { recursive: true });
  ombud = await serve('portal');
  ({ base } = ombud);
  api = ombud.api;
  mail = ombud.mail;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  ombud?.stop();
});

test('a person files an access request on the portal, confirms it with the mailed code and downloads the copy', async () => {
  // The operator's application knows the person: a subject with a name and an invoice.
  const subject = await api('POST', '/api/v1/subjects', { identities: [{ kind: 'email', value: EMAIL }] });
  await api('PUT', `/api/v1/subjects/${subject.id}/records`, {
    records: [
      { category: 'user.name', value: 'Helmi Lahti', source: 'subject' },
      { category: 'user.financial', value: 'INV-2026-117 89.00 EUR', source: 'subject', purposes: ['invoicing'] },
    ],
  });

  // The portal's policy forbids every script, axe included: the check runs with the policy
  // bypassed (the server tests check the header itself).
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, acceptDownloads: true, bypassCSP: true });
  const page = await context.newPage();
  const scripts = [];
  page.on('request', (request) => {
    if (request.resourceType() === 'script') scripts.push(request.url());
  });

  await page.goto(`${base}/privacy`);
  assert.match(await page.title(), /Laskuri Pilvi Oy/);
  await checkAndShoot(page, '1-form');

  // A mistake first: no address given. The form says so and keeps the choice.
  await page.getByLabel(/^Access to your data/).check();
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /email address/);
  assert.ok(await page.getByLabel(/^Access to your data/).isChecked(), 'the choice is kept');
  await checkAndShoot(page, '2-form-error');

  await page.getByLabel('Your email address').fill(EMAIL);
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await page.waitForURL(/\/privacy\/status\?t=/);
  assert.match(await page.locator('main').textContent(), /Waiting for you to confirm/);
  assert.ok(!(await page.content()).includes(EMAIL), 'the status page shows nothing of the person');
  await checkAndShoot(page, '3-status-waiting');

  const codeMail = await mail(/confirmation code/);
  const code = codeMail.subject.match(/(\d{8})/)[1];
  assert.ok(codeMail.body.includes('/privacy/status?t='), 'the mail links to the status page');
  await page.getByLabel(/code from our email/).fill(code);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.waitForLoadState();
  assert.match(await page.locator('main').textContent(), /Confirmed on/);
  await checkAndShoot(page, '4-status-confirmed');

  // The operator answers; the status page follows.
  const { requests } = await api('GET', '/api/v1/requests');
  assert.equal(requests.length, 1);
  assert.equal(requests[0].channel, 'portal');
  await api('POST', `/api/v1/requests/${requests[0].id}/fulfil`, {});
  await page.reload();
  assert.match(await page.locator('main').textContent(), /Answered on/);
  await checkAndShoot(page, '5-status-answered');

  const answer = await mail(/request is done/);
  const link = answer.body.match(/https?:\/\/\S+\/privacy\/exports\/[\w.]+/);
  assert.ok(link, `the answer carries the download link: ${answer.body}`);
  await page.goto(link[0]);
  assert.match(await page.locator('h1').textContent(), /Your copy is ready/);
  await checkAndShoot(page, '6-download');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: /^Download/ }).click(),
  ]);
  const zip = path.join(out, 'portal-export.zip');
  await download.saveAs(zip);
  const unpacked = path.join(out, 'portal-export');
  rmSync(unpacked, { recursive: true, force: true });
  execFileSync('python3', ['-m', 'zipfile', '-e', zip, unpacked]);
  const data = JSON.parse(readFileSync(path.join(unpacked, 'data.json'), 'utf8'));
  const values = data.records.map((r) => r.value);
  assert.ok(values.includes('Helmi Lahti') && values.includes('INV-2026-117 89.00 EUR'), JSON.stringify(data));
  assert.ok(readdirSync(unpacked).includes('summary.html'));

  // The link is spent.
  const again = await page.goto(link[0]);
  assert.equal(again.status(), 410);
  await checkAndShoot(page, '7-link-spent');

  assert.deepEqual(scripts, [], 'the portal loads no scripts');
  assert.deepEqual(await context.cookies(), [], 'the portal sets no cookies');
  await context.close();
});

test('on a phone the form reflows without sideways scrolling', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(`${base}/privacy`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await page.screenshot({ path: path.join(out, 'portal-phone.png'), fullPage: false });
  await page.close();
});

test('the public list of sub-processors is readable and accessible, on a desk and on a phone', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  const response = await page.goto(`${base}/subprocessors`);
  assert.equal(response.status(), 200);
  assert.match(await page.locator('h1').textContent(), /Sub-processors of Laskuri Pilvi Oy/);
  const rows = await page.locator('tbody tr').count();
  assert.ok(rows > 0, 'the registry lists the sub-processors');
  await checkAndShoot(page, 'subprocessors');
  await context.close();

  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await phone.goto(`${base}/subprocessors`);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the list is ${overflow}px wider than the screen`);
  await phone.screenshot({ path: path.join(out, 'portal-subprocessors-phone.png'), fullPage: true });
  await phone.close();
});

test("a customer's portal speaks for the customer, in its colour, and stays accessible", async () => {
  const tenant = await api('POST', '/api/v1/tenants', { name: 'Autorité Conseil SAS' });
  await api('PATCH', `/api/v1/tenants/${tenant.id}`, {
    display_name: 'Autorité Conseil',
    colour: '#7a1f5c',
    address: '1 rue Exemple, 75001 Paris, France',
    contact: 'vie.privee@autorite.example',
    dpo: 'Åsa Lind, dpo@autorite.example',
    authority: "Commission nationale de l'informatique et des libertés (CNIL)",
    notice_url: 'https://autorite.example/confidentialite',
  });
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${base}/privacy?tenant=${tenant.id}`);
  assert.match(await page.title(), /Autorité Conseil/);
  const text = await page.locator('body').textContent();
  assert.match(text, /Autorité Conseil SAS is the controller of your personal data/);
  assert.match(text, /Laskuri Pilvi Oy provides its service as its processor/);
  assert.match(text, /CNIL/);
  assert.ok(!text.includes('Tietosuojavaltuutettu'), "the operator's authority is not the customer's");
  const button = await page.getByRole('button', { name: 'Send me a code' }).evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.equal(button, 'rgb(122, 31, 92)', "the customer's colour");
  await checkAndShoot(page, '8-customer-form');
  await context.close();
});
