// `ombud serve` for the node tests: a server on a free port in a fresh working directory (no
// SMTP server, so mails land as .eml files), the admin key it prints once, calls to its API,
// and the mails of its outbox, decoded.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ombud = process.env.OMBUD_BIN ?? path.join(root, 'target/debug/ombud');

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/// Starts `ombud serve` in a new directory named after `name` and waits for its address and
/// the admin key it prints once; with `policy`, that text is its privacy.toml.
export async function serve(name, { policy } = {}) {
  const work = mkdtempSync(path.join(tmpdir(), `ombud-${name}-`));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const policyArgs = [];
  if (policy !== undefined) {
    writeFileSync(path.join(work, 'privacy.toml'), policy);
    policyArgs.push('--policy', path.join(work, 'privacy.toml'));
  }
  const server = spawn(
    ombud,
    ['serve', '--bind', `127.0.0.1:${port}`, '--metrics-bind', '127.0.0.1:0', '--public-url', base, '--jobs-every', '1', ...policyArgs],
    { cwd: work, env: { ...process.env, RUST_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let printed = '';
  let errors = '';
  server.stderr.on('data', (chunk) => {
    errors += chunk;
  });
  const adminKey = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ombud serve did not start: ${errors}`)), 30000);
    server.once('exit', (code) => reject(new Error(`ombud serve exited with ${code}: ${errors}`)));
    server.stdout.on('data', (chunk) => {
      printed += chunk;
      const key = printed.match(/^ {4}(\S+)$/m);
      if (printed.includes('ombud listening on') && key) {
        clearTimeout(timer);
        resolve(key[1]);
      }
    });
  });
  return {
    work,
    base,
    adminKey,
    /// A call of the API with the admin key (or `key`); fails the test on any answer but 2xx.
    async api(method, route, body, key = adminKey) {
      const response = await fetch(`${base}${route}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      assert.ok(response.ok, `${method} ${route}: ${response.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    /// Waits for the mailer to write a mail whose subject matches, and returns it decoded.
    async mail(subject) {
      const outbox = path.join(work, 'ombud-data', 'outbox');
      for (let tries = 0; tries < 100; tries++) {
        let names = [];
        try {
          names = readdirSync(outbox).filter((n) => n.endsWith('.eml'));
        } catch {
          // The mailer makes the folder with its first mail.
        }
        for (const name of names) {
          const decoded = mailText(readFileSync(path.join(outbox, name), 'utf8'));
          const line = decoded.head.match(/^Subject:\s*(.*)$/im);
          if (line && subject.test(line[1])) return { subject: line[1], ...decoded };
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no mail with a subject like ${subject} reached ${outbox}`);
    },
    stop() {
      server.kill('SIGTERM');
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/// The decoded text of a mail as lettre wrote it (7bit, quoted-printable or base64).
function mailText(raw) {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const body = rest.join('\n\n');
  const encoding = (head.match(/^Content-Transfer-Encoding:\s*(\S+)/im) ?? [])[1]?.toLowerCase();
  if (encoding === 'base64') return { head, body: Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8') };
  if (encoding === 'quoted-printable') {
    const bytes = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
    return { head, body: Buffer.from(bytes, 'latin1').toString('utf8') };
  }
  return { head, body };
}

/// RFC 6238 as an authenticator app computes it: HMAC-SHA-1 over the 30-second step, 6 digits.
export function totp(base32, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/\s+/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

