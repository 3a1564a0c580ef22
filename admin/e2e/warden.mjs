// Test support for the browser tests: starts the real `warden` binary on free ports with a
// throw-away SQLite database, runs SIPp against it, and launches Debian's Chromium through
// playwright-core (no browser download).

import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ADMIN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = path.resolve(ADMIN_DIR, '..');
export const ARTIFACTS = process.env.WARDEN_TEST_ARTIFACTS
  ? path.join(process.env.WARDEN_TEST_ARTIFACTS, 'dashboard')
  : path.join(REPO, 'test-artifacts', 'dashboard');
export const ADMIN_PASSWORD = 'e2e-admin-password';

fs.mkdirSync(ARTIFACTS, { recursive: true });

function wardenBinary() {
  if (process.env.WARDEN_BIN) return process.env.WARDEN_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? path.join(REPO, 'target');
  return path.join(target, 'debug', 'warden');
}

/** A port free for both TCP and UDP on 127.0.0.1. */
export async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = srv.address().port;
        srv.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise((resolve) => {
      const sock = dgram.createSocket('udp4');
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free port');
}

/** Starts Warden; resolves once /healthz answers. */
export async function startWarden(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-dash-'));
  const sipPort = await freePort();
  const apiPort = await freePort();
  // An RTP range of its own, below the Rust e2e tests' ranges (20000 and up).
  const rtpLo = 10000 + 200 * Math.floor(Math.random() * 49);
  const config = [
    `data_dir: ${dir}`,
    'sip:',
    `  listen: ["udp:127.0.0.1:${sipPort}", "tcp:127.0.0.1:${sipPort}"]`,
    '  domain: pbx.test',
    // SIPp 3.6 answers only the first challenge and only knows MD5: offer MD5 first.
    '  registrar: { digest_algorithms: [MD5, SHA-256] }',
    'media:',
    '  address: 127.0.0.1',
    `  rtp_ports: "${rtpLo}-${rtpLo + 199}"`,
    // The test calls carry no RTP: keep them up for the length of a test.
    '  rtp_timeout_secs: 120',
    'api:',
    `  listen: "127.0.0.1:${apiPort}"`,
    'database:',
    `  url: "sqlite://${dir}/warden.db?mode=rwc"`,
    'log:',
    '  level: info',
    'extensions:',
    '  - { number: "1001", name: "Alice", secret: "secret-1001-pass" }',
    '  - { number: "1002", name: "Bob", secret: "secret-1002-pass" }',
    '',
  ].join('\n');
  const configPath = path.join(dir, 'warden.yaml');
  fs.writeFileSync(configPath, config);
  const logPath = path.join(ARTIFACTS, `${name}.warden.log`);
  const log = fs.openSync(logPath, 'w');
  const bin = wardenBinary();
  if (!fs.existsSync(bin)) throw new Error(`warden binary not found at ${bin} (set WARDEN_BIN or build it)`);
  const child = spawn(bin, ['--config', configPath], {
    env: { ...process.env, WARDEN_ADMIN_PASSWORD: ADMIN_PASSWORD, RUST_LOG: '' },
    stdio: ['ignore', log, log],
  });
  const url = `http://127.0.0.1:${apiPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`warden exited: ${fs.readFileSync(logPath, 'utf8')}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`warden did not start: ${fs.readFileSync(logPath, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    sipPort,
    logPath,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            r();
          }, 5000);
          child.once('exit', () => {
            clearTimeout(t);
            r();
          });
        });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Registers `ext` with SIPp (tests/e2e/scenarios/register_auth.xml); returns SIPp's result. */
export async function sippRegister(warden, ext, secret, expires = 300, port = undefined) {
  const scenario = path.join(REPO, 'tests', 'e2e', 'scenarios', 'register_auth.xml');
  port ??= await freePort();
  const errFile = path.join(ARTIFACTS, `sipp-register-${ext}.errors.log`);
  const msgFile = path.join(ARTIFACTS, `sipp-register-${ext}.messages.log`);
  const args = [
    `127.0.0.1:${warden.sipPort}`, '-sf', scenario,
    '-m', '1', '-l', '1', '-i', '127.0.0.1', '-p', String(port), '-t', 'u1',
    '-timeout', '20s', '-timeout_error', '-nostdin',
    '-trace_err', '-error_file', errFile, '-trace_msg', '-message_file', msgFile,
    '-s', ext, '-au', ext, '-ap', secret, '-set', 'expires', String(expires),
  ];
  const run = spawnSync('sipp', args, { encoding: 'utf8', timeout: 30_000 });
  const messages = fs.existsSync(msgFile) ? fs.readFileSync(msgFile, 'utf8') : '';
  return { ok: run.status === 0, status: run.status, error: run.error, messages, port };
}

/** An even port with the next three free too (SIPp's -mp takes RTP and RTCP, audio and video). */
async function freeMediaPort() {
  for (let i = 0; i < 100; i++) {
    const p = (await freePort()) & ~1;
    if (p <= 1024) continue;
    let ok = true;
    for (let q = p; q < p + 4 && ok; q++) {
      ok = await new Promise((resolve) => {
        const sock = dgram.createSocket('udp4');
        sock.once('error', () => resolve(false));
        sock.bind(q, '127.0.0.1', () => sock.close(() => resolve(true)));
      });
    }
    if (ok) return p;
  }
  throw new Error('no free media port');
}

/**
 * Starts SIPp in the background on one of tests/e2e/scenarios (the same scenarios and
 * arguments as the Rust call tests, tests/e2e/calls/support.rs). `remote` is the server to
 * call (absent for a callee). Resolves once it runs; `done` resolves with its exit code.
 */
export async function sippSpawn(warden, { name, scenario, port, remote = true, args = [] }) {
  const errFile = path.join(ARTIFACTS, `sipp-${name}.errors.log`);
  const msgFile = path.join(ARTIFACTS, `sipp-${name}.messages.log`);
  const all = [
    ...(remote ? [`127.0.0.1:${warden.sipPort}`] : []),
    '-sf', path.join(REPO, 'tests', 'e2e', 'scenarios', scenario),
    '-m', '1', '-i', '127.0.0.1', '-p', String(port ?? (await freePort())), '-t', 'u1',
    '-timeout', '90s', '-timeout_error', '-nostdin',
    '-trace_err', '-error_file', errFile, '-trace_msg', '-message_file', msgFile,
    '-mp', String(await freeMediaPort()),
    ...args,
  ];
  const child = spawn('sipp', all, { stdio: 'ignore' });
  const done = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    done,
    messages: () => (fs.existsSync(msgFile) ? fs.readFileSync(msgFile, 'utf8') : ''),
    errors: () => (fs.existsSync(errFile) ? fs.readFileSync(errFile, 'utf8') : ''),
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Debian's Chromium, headless, with a fresh profile and no background networking. */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Collects console errors and CSP violations of a page. */
export function watchConsole(page) {
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(String(err)));
  return problems;
}

export function shot(page, name) {
  return page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}
