// A request worked in the web console, in Debian's chromium against `ombud serve`: a person
// files an erasure on the portal and confirms it with the mailed code; a DPO finds it in the
// queue, assigns it to themselves, reads the preview of what the erasure deletes and keeps,
// fulfils it, and the person's answer arrives with its signed receipt. A second request, filed
// by phone on the API, is verified by hand. axe-core on every page at desktop and phone widths;
// screenshots under target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkAndShoot, launch } from './chromium.mjs';
import { ombud as bin, root, serve } from './ombud.mjs';

const PASSWORD = 'copper kettle orbits quietly';
const PERSON = 'helmi.lahti@example.fi';

let browser;
let ombud;

before(async () => {
  // The invoicing example, where the team may also confirm who a person is by hand.
  const policy = readFileSync(path.join(root, 'examples/invoicing-saas.toml'), 'utf8').replace(
    'verification = ["email_code", "signed_in_session"]',
    'verification = ["email_code", "signed_in_session", "manual"]',
  );
  assert.ok(policy.includes('"manual"'), 'the example still lists its verification methods');
  ombud = await serve('console-requests', { policy });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  ombud?.stop();
});

/// A console user made with `ombud users create`, their password set, signed in.
async function signedIn(context, email, role) {
  const created = spawnSync(
    bin,
    ['users', 'create', '--email', email, '--role', role, '--public-url', ombud.base, '--data-dir', path.join(ombud.work, 'ombud-data')],
    { encoding: 'utf8' },
  );
  assert.equal(created.status, 0, `${created.stdout}${created.stderr}`);
  const link = created.stdout.match(/https?:\/\/\S+\/console\/setup\?t=[0-9a-f]{64}/)[0];
  const page = await context.newPage();
  await page.goto(link);
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByLabel('The same password again').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByRole('link', { name: 'Sign in to the console' }).click();
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/console$/);
  return page;
}

test('a request filed on the portal is assigned, previewed and fulfilled in the console, and the answer reaches the person', async () => {
  const subject = await ombud.api('POST', '/api/v1/subjects', { identities: [{ kind: 'email', value: PERSON }] });
  await ombud.api('PUT', `/api/v1/subjects/${subject.id}/records`, {
    records: [
      { category: 'user.name', value: 'Helmi Lahti', source: 'subject' },
      { category: 'user.contact.email', value: PERSON, source: 'subject' },
    ],
  });
  // Security logs of someone else, two years old within weeks: the retention chart shows them.
  const logged = await ombud.api('POST', '/api/v1/subjects', { identities: [{ kind: 'email', value: 'logged@example.fi' }] });
  const collected = (daysAgo) => new Date(Date.now() - daysAgo * 86_400_000).toISOString();
  await ombud.api('PUT', `/api/v1/subjects/${logged.id}/records`, {
    records: [700, 690, 670, 650].map((daysAgo, i) => ({
      category: i % 2 ? 'user.device' : 'user.device.ip_address',
      value: `192.0.2.${i + 1}`,
      purposes: ['security'],
      collected_at: collected(daysAgo),
    })),
  });

  // The person, on the portal: no cookie, no script.
  const portal = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const person = await portal.newPage();
  await person.goto(`${ombud.base}/privacy`);
  await person.getByLabel(/^Erasure of your data/).check();
  await person.getByLabel('Your email address').fill(PERSON);
  await person.getByRole('button', { name: 'Send me a code' }).click();
  await person.waitForURL(/\/privacy\/status\?t=/);
  const code = (await ombud.mail(/confirmation code/)).subject.match(/(\d{8})/)[1];
  await person.getByLabel(/code from our email/).fill(code);
  await person.getByRole('button', { name: 'Confirm' }).click();
  await person.waitForLoadState();
  assert.match(await person.locator('main').textContent(), /Confirmed on/);
  await portal.close();

  const desktop = await browser.newContext({ viewport: { width: 1200, height: 900 }, bypassCSP: true });
  const page = await signedIn(desktop, 'dpo@laskuri.example', 'dpo');
  await page.getByRole('link', { name: 'Requests', exact: true }).click();
  await page.waitForURL(/\/console\/requests$/);
  const row = page.locator('tbody tr', { hasText: 'erasure' });
  assert.match(await row.textContent(), /verified/);
  assert.ok(!(await page.content()).includes(PERSON), 'the queue shows no address');
  await checkAndShoot(page, 'console-requests-1-queue-desktop');

  // Filters are a plain form: the kind narrows the list and the choice stays selected.
  await page.getByLabel('Kind').selectOption('access');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/kind=access/);
  assert.match(await page.locator('main').textContent(), /No request matches/);
  await page.getByLabel('Kind').selectOption('erasure');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/kind=erasure/);

  await page.locator('tbody tr', { hasText: 'erasure' }).getByRole('link').click();
  await page.waitForURL(/\/console\/requests\/[0-9a-f-]+\/[0-9a-f-]+$/);
  assert.ok(!(await page.content()).includes(PERSON), 'no address until asked for');
  await checkAndShoot(page, 'console-requests-2-request-desktop');
  await page.getByRole('button', { name: 'Show the address' }).click();
  await page.locator('#requester').waitFor();
  assert.equal(await page.locator('#requester').textContent(), PERSON);

  await page.getByLabel('Assign to').selectOption('dpo@laskuri.example');
  await page.getByRole('button', { name: 'Assign', exact: true }).click();
  await page.waitForURL(/done=assigned/);
  assert.match(await page.getByRole('status').textContent(), /assignment is saved/);

  // The person's page, found by their address as they typed it: values hidden until a purpose
  // is named.
  await page.getByRole('link', { name: 'People', exact: true }).click();
  await page.getByLabel('Value').fill(PERSON.toUpperCase());
  await page.getByRole('button', { name: 'Find' }).click();
  await page.getByRole('link', { name: /The person in/ }).click();
  assert.ok(!(await page.content()).includes('Helmi Lahti'), 'values stay hidden');
  await checkAndShoot(page, 'console-requests-2b-person-desktop');
  await page.getByLabel('Show the values for the purpose').selectOption({ index: 0 });
  await page.getByRole('button', { name: 'Show values' }).click();
  await page.locator('td .value, td .soon').first().waitFor();
  await checkAndShoot(page, 'console-requests-2c-person-revealed-desktop');
  await page.getByRole('link', { name: 'erasure' }).click();

  await page.getByRole('link', { name: /^Fulfil/ }).click();
  await page.waitForURL(/\/fulfil$/);
  const preview = await page.locator('main').textContent();
  assert.match(preview, /Records deleted, per category/);
  assert.match(preview, /user\.name/);
  assert.ok(!preview.includes('Helmi Lahti'), 'the preview holds no value');
  await checkAndShoot(page, 'console-requests-3-preview-desktop');
  await page.getByRole('button', { name: 'Fulfil now' }).click();
  await page.waitForURL(/done=fulfilled/);
  assert.match(await page.locator('main').textContent(), /fulfilled/);
  await checkAndShoot(page, 'console-requests-4-fulfilled-desktop');

  // The audit log tells what was done, by whom; the chain holds.
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Action').fill('request.assign');
  await page.getByRole('button', { name: 'Show' }).click();
  assert.match(await page.locator('tbody').textContent(), /dpo@laskuri\.example/);
  await checkAndShoot(page, 'console-requests-5-audit-desktop');
  await page.getByRole('button', { name: "Verify this tenant's chain" }).click();
  assert.match(await page.getByRole('status').textContent(), /^Intact: \d+ entries/);
  await checkAndShoot(page, 'console-requests-6-audit-verified-desktop');

  // A breach opened, its draft to the authority read.
  await page.getByRole('link', { name: 'Incidents' }).click();
  await page.getByLabel('Title').fill('Misdirected invoice run');
  await page.getByLabel('What happened (no personal data)').fill('One batch of invoices went to the wrong customer.');
  await page.getByRole('button', { name: 'Open the incident and start its clock' }).click();
  await page.waitForURL(/\/console\/incidents\/[0-9a-f-]+\/[0-9a-f-]+$/);
  assert.match(await page.locator('main').textContent(), /7[12] h \d+ min left/);
  await page.getByLabel('Read the draft for').selectOption('authority');
  await page.getByRole('button', { name: 'Show the draft' }).click();
  await page.locator('pre.draft').first().waitFor();
  await checkAndShoot(page, 'console-requests-6a-incident-desktop');

  // Retention: the chart and its numbers, a hold placed and released.
  await page.getByRole('link', { name: 'Retention' }).click();
  assert.match(await page.locator('h1').textContent(), /Retention/);
  assert.ok(await page.locator('svg.chart rect').count() >= 2, 'the chart draws what leaves');
  await checkAndShoot(page, 'console-requests-6b-retention-desktop');
  await page.getByLabel('Note (the case, the order; no personal data)').fill('Case 12/2026');
  await page.getByRole('button', { name: 'Place the hold' }).click();
  await page.waitForURL(/done=placed/);
  assert.equal(await page.locator('svg.chart').count(), 0, 'a hold on everyone keeps everything');
  await page.getByRole('button', { name: 'Release' }).click();
  await page.waitForURL(/done=released/);

  const answer = await ombud.mail(/Your request is done/);
  assert.match(answer.body, /BEGIN OMBUD RECEIPT/);
  const [status] = (await ombud.api('GET', '/api/v1/requests?status=fulfilled')).requests;
  assert.equal(status.assignee, 'dpo@laskuri.example');
  await desktop.close();
});

test('a request filed by phone is verified by hand in the console, on a phone', async () => {
  const filed = await ombud.api('POST', '/api/v1/requests', { kind: 'access', email: 'caller@example.fi' });
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true });
  const page = await signedIn(phone, 'agent@laskuri.example', 'agent');
  await checkAndShoot(page, 'console-requests-7-overview-phone');
  await page.getByRole('link', { name: 'Requests', exact: true }).click();
  await checkAndShoot(page, 'console-requests-8-queue-phone');
  await page.locator('tbody tr', { hasText: filed.id.slice(-8) }).getByRole('link').click();
  await checkAndShoot(page, 'console-requests-9-request-phone');
  await page.getByLabel('an identity document, seen and not kept').check();
  await page.getByRole('button', { name: 'Confirm identity' }).click();
  await page.waitForURL(/done=verified/);
  assert.match(await page.locator('main').textContent(), /manual/);
  await checkAndShoot(page, 'console-requests-10-verified-phone');
  await page.getByRole('link', { name: 'People', exact: true }).click();
  await page.getByLabel('Value').fill('nobody@example.fi');
  await page.getByRole('button', { name: 'Find' }).click();
  assert.match(await page.getByRole('status').textContent(), /Nobody with that identity/);
  await checkAndShoot(page, 'console-requests-11-people-phone');
  await page.getByRole('link', { name: 'Incidents' }).click();
  assert.match(await page.locator('h1').textContent(), /Incidents/);
  await checkAndShoot(page, 'console-requests-12-incidents-refused-phone');
  await page.getByRole('link', { name: 'Retention' }).click();
  assert.match(await page.locator('h1').textContent(), /Retention/);
  await checkAndShoot(page, 'console-requests-12-retention-refused-phone');
  await page.getByRole('link', { name: 'Audit log' }).click();
  assert.match(await page.locator('h1').textContent(), /Audit log/);
  assert.equal((await page.goto(`${ombud.base}/console/audit`)).status(), 403, 'an agent reads no audit log');
  await checkAndShoot(page, 'console-requests-13-audit-refused-phone');
  const shown = await ombud.api('GET', `/api/v1/requests/${filed.id}`);
  assert.equal(shown.status, 'verified');
  assert.equal(shown.verified_by, 'manual');
  await phone.close();
});
