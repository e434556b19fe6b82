// Every page of the web console, in Debian's chromium against `ombud serve` with the
// public-cloud example (it declares notice kinds): an admin with a second factor signs in,
// sends a notice and reads its ledger, creates an API key (its secret shown once) and a
// customer tenant, and opens each page at desktop and phone widths with axe-core finding
// nothing; screenshots under target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkAndShoot, launch } from './chromium.mjs';
import { ombud as bin, root, serve, totp } from './ombud.mjs';

const PASSWORD = 'copper kettle orbits quietly';
const PAGES = [
  ['overview', '/console'],
  ['requests', '/console/requests'],
  ['people', '/console/people'],
  ['incidents', '/console/incidents'],
  ['notices', '/console/notices'],
  ['retention', '/console/retention'],
  ['retention-dry-run', '/console/retention/dry-run'],
  ['audit', '/console/audit'],
  ['subprocessors', '/console/subprocessors'],
  ['policy', '/console/policy'],
  ['promises', '/console/promises'],
  ['settings', '/console/settings'],
];

let browser;
let ombud;

before(async () => {
  const policy = readFileSync(path.join(root, 'examples/public-cloud.toml'), 'utf8');
  ombud = await serve('console-pages', { policy });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  ombud?.stop();
});

test('an admin works every page of the console, at desktop and phone widths', async () => {
  const email = 'admin@pilvi.example';
  const created = spawnSync(
    bin,
    ['users', 'create', '--email', email, '--role', 'admin', '--public-url', ombud.base, '--data-dir', path.join(ombud.work, 'ombud-data')],
    { encoding: 'utf8' },
  );
  assert.equal(created.status, 0, `${created.stdout}${created.stderr}`);
  const link = created.stdout.match(/https?:\/\/\S+\/console\/setup\?t=[0-9a-f]{64}/)[0];
  const person = await ombud.api('POST', '/api/v1/subjects', { identities: [{ kind: 'email', value: 'reader@example.fi' }] });

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(link);
  const key = await page.locator('#totp-key').textContent();
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByLabel('The same password again').fill(PASSWORD);
  await page.getByLabel('Code from the app').fill(totp(key));
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByRole('link', { name: 'Sign in to the console' }).click();
  // A code is accepted once: the one used at setup is spent, so wait for the next step.
  await new Promise((resolve) => setTimeout(resolve, 30_000 - (Date.now() % 30_000) + 500));
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Code from your authenticator app').fill(totp(key));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/console$/);

  // A notice to one person, then its page.
  await page.getByRole('link', { name: 'Notices' }).click();
  await page.getByLabel('Kind').selectOption('maintenance');
  await page.getByLabel('the people listed below').check();
  await page.getByLabel('People (subject ids, one per line)').fill(person.id);
  await page.getByLabel('Subject line').fill('Maintenance on 5 December');
  await page.getByLabel('Text', { exact: true }).fill('The service is down from 02:00 to 03:00 EET.');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.waitForURL(/\/console\/notices\/[0-9a-f-]+\/[0-9a-f-]+$/);
  assert.match(await page.locator('main').textContent(), /1 queued/);
  await checkAndShoot(page, 'console-pages-notice-desktop');

  // An API key, its secret shown once; a customer tenant.
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByLabel('New key: who uses it').fill('billing app');
  await page.getByLabel('Role', { exact: true }).last().selectOption('service');
  await page.getByRole('button', { name: 'Create the key' }).click();
  const secret = await page.locator('#once').textContent();
  assert.ok(secret.length > 20, 'the secret is shown');
  await checkAndShoot(page, 'console-pages-key-created-desktop');
  // A reload sends the form again: it makes no second key and shows no secret.
  await page.reload();
  assert.match(await page.getByRole('alert').textContent(), /sent already/);
  assert.ok(!(await page.content()).includes(secret), 'the secret is not shown twice');
  assert.equal(await page.locator('td', { hasText: 'billing app' }).count(), 1, 'one key, not two');
  await page.getByLabel("A new customer's name").fill('Tilitoimisto Esimerkki Oy');
  await page.getByRole('button', { name: 'Create the tenant' }).click();
  await page.waitForURL(/done=tenant/);
  assert.match(await page.locator('main').textContent(), /Tilitoimisto Esimerkki Oy as controller/);

  for (const [width, height, device] of [
    [1280, 900, 'desktop'],
    [390, 844, 'phone'],
  ]) {
    await page.setViewportSize({ width, height });
    for (const [name, route] of PAGES) {
      const answer = await page.goto(`${ombud.base}${route}`);
      assert.equal(answer.status(), 200, `${route}: ${answer.status()}`);
      await checkAndShoot(page, `console-pages-${name}-${device}`);
    }
  }
  await context.close();
});
