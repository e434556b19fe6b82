// The web console in Debian's chromium against `ombud serve`: a DPO created with `ombud users
// create` opens the setup link, sets a password (a weak one first), signs in, sees a request
// filed on the API in the overview, and signs out. axe-core on every page, at desktop and phone
// widths; screenshots under target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { checkAndShoot as shoot, launch } from './chromium.mjs';
import { ombud as bin, serve, totp } from './ombud.mjs';

const PASSWORD = 'copper kettle orbits quietly';

let browser;
let ombud;

before(async () => {
  ombud = await serve('console');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  ombud?.stop();
});

function checkAndShoot(page, name) {
  return shoot(page, `console-${name}`);
}

for (const [width, height, device] of [
  [1200, 900, 'desktop'],
  [390, 844, 'phone'],
]) {
  test(`a DPO sets a password through the setup link, signs in, sees the queue and signs out (${device})`, async () => {
    const email = `dpo-${device}@example.fi`;
    await ombud.api('POST', '/api/v1/requests', { kind: 'access', email: `asker-${device}@example.fi` });
    const created = spawnSync(
      bin,
      ['users', 'create', '--email', email, '--role', 'dpo', '--public-url', ombud.base, '--data-dir', path.join(ombud.work, 'ombud-data')],
      { encoding: 'utf8' },
    );
    assert.equal(created.status, 0, `${created.stdout}${created.stderr}`);
    const link = created.stdout.match(/https?:\/\/\S+\/console\/setup\?t=[0-9a-f]{64}/);
    assert.ok(link, created.stdout);

    // The console's pages let nothing run; axe is added with the policy bypassed.
    const context = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(link[0]);
    assert.match(await page.locator('main').textContent(), new RegExp(email));
    await checkAndShoot(page, `1-setup-${device}`);

    await page.getByLabel('New password').fill('password1234');
    await page.getByLabel('The same password again').fill('password1234');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').textContent(), /too easy to guess/);
    await checkAndShoot(page, `2-setup-refused-${device}`);

    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('The same password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('link', { name: 'Sign in to the console' }).click();
    await page.waitForURL(/\/console\/sign-in$/);
    await checkAndShoot(page, `3-sign-in-${device}`);

    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/console$/);
    const cookies = await context.cookies();
    assert.deepEqual(
      cookies.map((c) => [c.name, c.httpOnly, c.secure, c.sameSite]),
      [['__Host-ombud_console', true, true, 'Strict']],
      'one cookie, and only what a session needs',
    );
    const main = await page.locator('main').textContent();
    assert.match(main, /open request/);
    assert.ok(!main.includes(`asker-${device}@example.fi`), 'the queue shows no address');
    await checkAndShoot(page, `4-overview-${device}`);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/console\/sign-in$/);
    assert.deepEqual(await context.cookies(), [], 'signing out takes the cookie away');
    await page.goto(`${ombud.base}/console`);
    assert.match(page.url(), /\/console\/sign-in$/);
    await context.close();
  });
}

test('an admin sets up the second factor with an authenticator app and signs in with its code', async () => {
  const email = 'admin@example.fi';
  const created = spawnSync(
    bin,
    ['users', 'create', '--email', email, '--role', 'admin', '--public-url', ombud.base, '--data-dir', path.join(ombud.work, 'ombud-data')],
    { encoding: 'utf8' },
  );
  assert.equal(created.status, 0, `${created.stdout}${created.stderr}`);
  const link = created.stdout.match(/https?:\/\/\S+\/console\/setup\?t=[0-9a-f]{64}/)[0];
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(link);
  const key = await page.locator('#totp-key').textContent();
  assert.match(key, /^[A-Z2-7 ]{32,40}$/);
  await checkAndShoot(page, '5-setup-admin');
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByLabel('The same password again').fill(PASSWORD);
  await page.getByLabel('Code from the app').fill(totp(key));
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByRole('link', { name: 'Sign in to the console' }).click();

  // The password alone is not enough.
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /code your authenticator app shows now/);
  await checkAndShoot(page, '6-sign-in-code');

  // A code is accepted once: the one used at setup is spent, so wait for the next step.
  const step = 30_000 - (Date.now() % 30_000);
  await new Promise((resolve) => setTimeout(resolve, step + 500));
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Code from your authenticator app').fill(totp(key));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/console$/);
  assert.match(await page.locator('header').textContent(), /admin@example\.fi · admin/);

  // The promise check, run on the running system, from the console's navigation.
  await page.getByRole('link', { name: 'Promises' }).click();
  await page.waitForURL(/\/console\/promises$/);
  assert.match(await page.locator('h1').textContent(), /^Promise check: /);
  assert.match(await page.locator('main').textContent(), /promises kept/);
  await checkAndShoot(page, '7-promises');
  await context.close();
});
