// Receipts checked by an implementation of JOSE that is not ombud's (the npm package jose):
// `ombud serve` fulfils an erasure; the receipt from the API and the one in the person's mail
// verify against the keys published at /.well-known/ombud-receipt-keys.json; a changed byte, a
// key that is not the operator's and a retired key id do not. `ombud receipt verify --keys URL`
// agrees at each step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { compactVerify, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { ombud as bin, serve } from './ombud.mjs';

const EMAIL = 'kaarlo.nieminen@example.fi';
let ombud;

before(async () => {
  ombud = await serve('receipts');
});

after(() => ombud?.stop());

async function publishedKeys() {
  const response = await fetch(`${ombud.base}/.well-known/ombud-receipt-keys.json`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/jwk-set+json');
  return response.json();
}

/// `ombud receipt verify FILE --keys URL`, offline from the store: its exit code and output.
function cliVerify(file) {
  const run = spawnSync(bin, ['receipt', 'verify', file, '--keys', `${ombud.base}/.well-known/ombud-receipt-keys.json`], {
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/// The receipt in a mail: what stands between its BEGIN and END lines.
function fromMail(body) {
  const inside = body.split('-----BEGIN OMBUD RECEIPT-----')[1]?.split('-----END OMBUD RECEIPT-----')[0];
  assert.ok(inside, `the answer carries a receipt: ${body}`);
  return inside.replace(/\s+/g, '');
}

test('an erasure receipt verifies with jose against the published keys, and fails changed, under another key and once retired', async () => {
  const subject = await ombud.api('POST', '/api/v1/subjects', { identities: [{ kind: 'email', value: EMAIL }] });
  await ombud.api('PUT', `/api/v1/subjects/${subject.id}/records`, {
    records: [
      { category: 'user.name', value: 'Kaarlo Nieminen', source: 'subject' },
      { category: 'user.contact.email', value: EMAIL, source: 'subject' },
    ],
  });
  // The operator's application vouches for the signed-in person with its service key.
  const { secret: service } = await ombud.api('POST', '/api/v1/keys', { name: 'application', role: 'service' });
  const filed = await ombud.api(
    'POST',
    '/api/v1/requests',
    { kind: 'erasure', subject: subject.id, verified: true, email: EMAIL },
    service,
  );
  await ombud.api('POST', `/api/v1/requests/${filed.id}/fulfil`, {});
  const { receipt, kid, payload } = await ombud.api('GET', `/api/v1/requests/${filed.id}/receipt`);

  const jwks = await publishedKeys();
  assert.equal(jwks.keys.length, 1);
  assert.deepEqual(
    { kty: jwks.keys[0].kty, crv: jwks.keys[0].crv, kid: jwks.keys[0].kid },
    { kty: 'OKP', crv: 'Ed25519', kid },
  );
  const verified = await compactVerify(receipt, createLocalJWKSet(jwks));
  assert.equal(verified.protectedHeader.alg, 'EdDSA');
  assert.equal(verified.protectedHeader.kid, kid);
  assert.equal(verified.protectedHeader.typ, 'ombud-receipt+json');
  const signed = JSON.parse(new TextDecoder().decode(verified.payload));
  assert.deepEqual(signed, payload, 'the payload the API shows is the one signed');
  assert.equal(signed.of, 'request');
  assert.equal(signed.request.id, filed.id);
  assert.equal(signed.request.kind, 'erasure');
  assert.equal(signed.request.categories['user.contact.email'], 1, JSON.stringify(signed.request));
  assert.match(signed.audit_head.hash, /^[0-9a-f]{64}$/);
  assert.ok(!JSON.stringify(signed).includes(EMAIL), 'nothing of the person is in the receipt');

  // The person's mail carries the same receipt.
  const answer = await ombud.mail(/request is done/);
  const mailed = fromMail(answer.body);
  assert.equal(mailed, receipt);
  const file = path.join(ombud.work, 'answer.txt');
  writeFileSync(file, answer.body);
  const ok = cliVerify(file);
  assert.equal(ok.status, 0, ok.output);
  assert.match(ok.output, /signature: valid/);

  // One character of the payload changed.
  const [header, body, signature] = receipt.split('.');
  const flipped = `${header}.${body.slice(0, 10)}${body[10] === 'A' ? 'B' : 'A'}${body.slice(11)}.${signature}`;
  await assert.rejects(compactVerify(flipped, createLocalJWKSet(jwks)), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  const changedFile = path.join(ombud.work, 'changed.jws');
  writeFileSync(changedFile, flipped);
  const changed = cliVerify(changedFile);
  assert.equal(changed.status, 1, changed.output);
  assert.match(changed.output, /does not verify/);

  // A key that is not the operator's, under the same id.
  const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const stranger = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  await assert.rejects(compactVerify(receipt, createLocalJWKSet({ keys: [stranger] })), {
    code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  });

  // Retired, the key id is no longer published: what it signed no longer verifies.
  const retire = spawnSync(bin, ['receipt', 'retire', kid, '--data-dir', path.join(ombud.work, 'ombud-data')], {
    encoding: 'utf8',
  });
  assert.equal(retire.status, 0, `${retire.stdout}${retire.stderr}`);
  const after = await publishedKeys();
  assert.ok(!after.keys.some((k) => k.kid === kid), JSON.stringify(after));
  await assert.rejects(compactVerify(receipt, createLocalJWKSet(after)), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  const stale = cliVerify(file);
  assert.equal(stale.status, 1, stale.output);
  assert.match(stale.output, new RegExp(kid));
});
