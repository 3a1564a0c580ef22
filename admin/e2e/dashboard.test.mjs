// Browser tests of the dashboard against the real Warden (run by admin/test.sh, or
// `npm run e2e` with a built `warden` binary). Screenshots go to test-artifacts/dashboard/.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ADMIN_PASSWORD, launchBrowser, shot, sippRegister, sippSpawn, startWarden, watchConsole } from './warden.mjs';

const EXT = '2001';
const EXT_SECRET = 'e2e-secret-2001';

describe('dashboard', { concurrency: false }, () => {
  let warden;
  let browser;
  let page;
  let problems;

  before(async () => {
    warden = await startWarden('dashboard');
    browser = await launchBrowser();
    page = await browser.context.newPage();
    problems = watchConsole(page);
  });

  after(async () => {
    await browser?.close();
    await warden?.stop();
  });

  test('the login page works with the keyboard and refuses a wrong password', async () => {
    await page.goto(`${warden.url}/`);
    await page.getByLabel('User name').waitFor();
    // Focus starts in the user name field.
    await page.keyboard.type('admin');
    await page.keyboard.press('Tab');
    await page.keyboard.type('not-the-password');
    await page.keyboard.press('Enter');
    await page.getByText('wrong user name or password').waitFor();
    await shot(page, '01-login-refused');

    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.locator('.live-status.live-live').waitFor({ timeout: 10_000 });
    await shot(page, '02-overview');
  });

  test('an extension is created through the form, with validation messages', async () => {
    await page.getByRole('link', { name: 'Extensions' }).click();
    await page.getByRole('heading', { name: 'Extensions' }).waitFor();
    await page.getByRole('button', { name: 'New extension' }).click();
    const dialog = page.getByRole('dialog', { name: 'New extension' });
    await dialog.waitFor();

    // Client-side rules.
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('Must be 1 to 32 characters.').waitFor();
    assert.equal(await dialog.getByLabel('Number').getAttribute('aria-invalid'), 'true');
    await dialog.getByLabel('Number').fill('20 01');
    await dialog.getByLabel('Name').fill('E2E Phone');
    await dialog.getByLabel('SIP password').fill('short');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('Only digits, letters and _ . + - are allowed.').waitFor();
    await dialog.getByText('Must be 8 to 128 characters.').waitFor();
    await shot(page, '03-extension-validation');

    // A server-side rule: the number is taken.
    await dialog.getByLabel('Number').fill('1001');
    await dialog.getByLabel('SIP password').fill(EXT_SECRET);
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('extension "1001" already exists').waitFor();

    await dialog.getByLabel('Number').fill(EXT);
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'detached' });
    const row = page.getByRole('row').filter({ hasText: 'E2E Phone' });
    await row.waitFor();
    assert.match(await row.innerText(), /2001/);
    assert.match(await page.getByTestId(`reg-${EXT}`).innerText(), /no/);

    // Search narrows the list.
    await page.getByLabel('Search').fill('e2e');
    await page.getByRole('row').filter({ hasText: 'Alice' }).waitFor({ state: 'detached' });
    await shot(page, '04-extension-created');
  });

  test('a SIPp registration of the new extension appears live', async () => {
    const run = await sippRegister(warden, EXT, EXT_SECRET);
    assert.ok(run.ok, `SIPp registration failed (exit ${run.status}): ${run.error ?? ''}\n${run.messages}`);
    // The extensions list updates from the events stream, without a reload.
    await page.getByTestId(`reg-${EXT}`).getByText('1 phone').waitFor({ timeout: 10_000 });
    await shot(page, '05-extension-registered');

    await page.getByRole('link', { name: 'Overview' }).click();
    const phones = page.getByRole('table', { name: 'Registered phones' });
    await phones.getByRole('row').filter({ hasText: EXT }).waitFor();
    assert.match(await phones.innerText(), /SIPp e2e/);
    await page.getByTestId('registrations').getByText('1', { exact: true }).waitFor({ timeout: 10_000 });

    // A second registration arrives while the page is open: it shows up in the live feed.
    const again = await sippRegister(warden, EXT, EXT_SECRET, 120);
    assert.ok(again.ok, 'second registration');
    await page.getByRole('list', { name: 'Latest registration events' }).getByText(`${EXT} registered`).first().waitFor({ timeout: 10_000 });
    await shot(page, '06-overview-registered');
  });

  test('the audit log shows the changes', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    const log = page.getByRole('table', { name: 'Audit log' });
    await log.getByRole('row').filter({ hasText: 'extension.create' }).waitFor();
    assert.match(await log.innerText(), /admin/);
    await shot(page, '07-audit');
  });

  test('the calls page shows the (empty) live list and the history filters', async () => {
    await page.getByRole('link', { name: 'Calls' }).click();
    await page.getByText('No calls in progress.').waitFor();
    await page.getByLabel('Result').selectOption('answered');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No calls match.').waitFor();
    await shot(page, '08-calls');
  });

  test('a live call appears, is hung up, and its record is found', async () => {
    // The callee (1002) registers, then answers with SIPp on the registered port; the caller
    // (1001) answers the 407 challenge and waits for Warden's BYE.
    const reg = await sippRegister(warden, '1002', 'secret-1002-pass');
    assert.ok(reg.ok, `callee registration failed (exit ${reg.status}):\n${reg.messages}`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-call-'));
    const media = ['-set', 'rtp_ip', '127.0.0.1', '-set', 'rtp_port', '9'];
    const callee = await sippSpawn(warden, {
      name: 'callee-1002',
      scenario: 'uas_answer.xml',
      port: reg.port,
      remote: false,
      args: [...media, '-set', 'out', path.join(tmp, 'callee.addr')],
    });
    let caller;
    try {
      await new Promise((r) => setTimeout(r, 300));
      await page.getByRole('link', { name: 'Calls' }).click();
      await page.getByText('No calls in progress.').waitFor();
      caller = await sippSpawn(warden, {
        name: 'caller-1001',
        scenario: 'call_uac_wait_bye.xml',
        args: [
          '-s', '1002', '-au', '1001', '-ap', 'secret-1001-pass',
          '-auth_uri', `1002@127.0.0.1:${warden.sipPort}`,
          '-set', 'caller', '1001', ...media, '-set', 'out', path.join(tmp, 'caller.addr'),
        ],
      });

      // The call shows up in the live list without a reload, answered.
      const live = page.getByRole('table', { name: 'Calls in progress' });
      const row = live.getByRole('row').filter({ hasText: '1002' });
      await row.getByText('answered').waitFor({ timeout: 15_000 });
      assert.match(await row.innerText(), /1001/);
      assert.match(await row.innerText(), /PCMU/);
      // The phones send no RTP here: each leg says so.
      assert.match(await row.innerText(), /1001: no media yet/);
      assert.match(await row.innerText(), /1002: no media yet/);
      await shot(page, '08b-call-live');

      // Hang up with the keyboard: focus the row's button, Enter, Tab to confirm, Enter.
      const hangup = row.getByRole('button', { name: 'Hang up 1001 to 1002' });
      await hangup.focus();
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: 'Hang up' });
      await dialog.waitFor();
      await shot(page, '08c-call-hangup-confirm');
      assert.equal(await dialog.getByRole('button', { name: 'Cancel' }).evaluate((el) => el === document.activeElement), true);
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await dialog.waitFor({ state: 'detached' });
      await page.getByText('No calls in progress.').waitFor({ timeout: 10_000 });

      // Both phones got a BYE and ended cleanly.
      assert.equal(await caller.done, 0, `caller SIPp failed:\n${caller.errors()}\n${caller.messages()}`);
      assert.equal(await callee.done, 0, `callee SIPp failed:\n${callee.errors()}\n${callee.messages()}`);
      assert.match(caller.messages(), /BYE sip:/);
      assert.match(callee.messages(), /BYE sip:/);

      // The record is in the history, found by number and result.
      await page.getByLabel('Number').fill('1002');
      await page.getByLabel('Result').selectOption('answered');
      await page.getByRole('button', { name: 'Search' }).click();
      const history = page.getByRole('table', { name: 'Call history' });
      const rec = history.getByRole('row').filter({ hasText: 'hangup by administrator' });
      await rec.waitFor({ timeout: 10_000 });
      const text = await rec.innerText();
      assert.match(text, /1001/);
      assert.match(text, /1002/);
      assert.match(text, /\tanswered\t/);
      assert.match(text, /system \(hangup by administrator\)/);
      // A filter that does not match hides it.
      await page.getByLabel('Result').selectOption('busy');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByText('No calls match.').waitFor();
      await page.getByLabel('Result').selectOption('answered');
      await page.getByRole('button', { name: 'Search' }).click();
      await rec.waitFor();
      await shot(page, '08d-call-record');
    } finally {
      caller?.kill();
      callee.kill();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('call forwarding of an extension is set through the form', async () => {
    await page.getByRole('link', { name: 'Forwarding' }).click();
    await page.getByRole('heading', { name: 'Call forwarding' }).waitFor();
    await page.getByRole('search', { name: 'Choose an extension' }).getByLabel('Extension').fill('1002');
    await page.getByRole('search', { name: 'Choose an extension' }).getByLabel('Extension').press('Enter');
    await page.getByRole('heading', { name: 'Rules of extension 1002' }).waitFor();
    await page.getByText('No forwarding set.').waitFor();
    // A target that is no extension is refused by the server, on its field.
    await page.getByLabel('When busy, forward to').fill('1999');
    await page.getByRole('button', { name: 'Save forwarding' }).click();
    await page.getByText('extension "1999" does not exist').waitFor();
    assert.equal(await page.getByLabel('When busy, forward to').getAttribute('aria-invalid'), 'true');
    await page.getByLabel('When busy, forward to').fill('');
    await page.getByLabel('Forward all calls to').fill(EXT);
    await page.getByLabel('Seconds before a call counts as not answered').fill('30');
    await page.getByRole('button', { name: 'Save forwarding' }).click();
    await page.getByText('Forwarding of 1002 saved').waitFor();
    await page.getByText(/Last changed/).waitFor();
    await shot(page, '08e-forwarding');
    // Reloaded from the server, the rules are there.
    await page.getByRole('search', { name: 'Choose an extension' }).getByLabel('Extension').fill('1001');
    await page.getByRole('search', { name: 'Choose an extension' }).getByLabel('Extension').press('Enter');
    await page.getByRole('heading', { name: 'Rules of extension 1001' }).waitFor();
    await page.getByRole('search', { name: 'Choose an extension' }).getByLabel('Extension').fill('1002');
    await page.getByRole('search', { name: 'Choose an extension' }).getByLabel('Extension').press('Enter');
    await page.getByRole('heading', { name: 'Rules of extension 1002' }).waitFor();
    assert.equal(await page.getByLabel('Forward all calls to').inputValue(), EXT);
    assert.equal(await page.getByLabel('Seconds before a call counts as not answered').inputValue(), '30');
  });

  test('voicemail: a call to an unregistered extension leaves a message that the page lists and plays', async () => {
    await page.getByRole('link', { name: 'Voicemail' }).click();
    await page.getByRole('heading', { name: 'Voicemail', level: 1 }).waitFor();
    const picker = page.getByRole('search', { name: 'Choose an extension' });
    await picker.getByLabel('Extension').fill('1001');
    await picker.getByLabel('Extension').press('Enter');
    await page.getByRole('heading', { name: 'Voicemail of extension 1001' }).waitFor();
    await page.getByText('No messages.').waitFor();
    await page.getByLabel('Voicemail on').check();
    await page.getByLabel('Longest message (seconds)').fill('30');
    await page.getByRole('button', { name: 'Save voicemail' }).click();
    await page.getByText('Voicemail of 1001 saved').waitFor();

    // 1001 has no registered phone: 1002's call is answered by voicemail at once; the caller
    // stays 3 s (no prompt set is installed here: the beep, then the recording).
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-vm-'));
    const caller = await sippSpawn(warden, {
      name: 'voicemail-caller-1002',
      scenario: 'call_uac.xml',
      args: [
        '-s', '1001', '-au', '1002', '-ap', 'secret-1002-pass',
        '-auth_uri', `1001@127.0.0.1:${warden.sipPort}`,
        '-set', 'caller', '1002', '-set', 'rtp_ip', '127.0.0.1', '-set', 'rtp_port', '9',
        '-set', 'out', path.join(tmp, 'caller.addr'), '-d', '3000',
      ],
    });
    try {
      assert.equal(await caller.done, 0, `caller SIPp failed:\n${caller.errors()}\n${caller.messages()}`);
    } finally {
      caller.kill();
      fs.rmSync(tmp, { recursive: true, force: true });
    }

    // Shown again, the message is listed, new, and its audio plays from the server.
    const messages = page.getByRole('table', { name: 'Voicemail messages' });
    const row = messages.getByRole('row').filter({ hasText: '1002' });
    for (let i = 0; i < 20 && (await row.count()) === 0; i++) {
      await picker.getByLabel('Extension').press('Enter');
      await new Promise((r) => setTimeout(r, 250));
    }
    await row.waitFor();
    assert.match(await row.innerText(), /New/);
    await page.getByText('Messages (1 new of 1)').waitFor();
    await row.getByRole('button', { name: 'Play message from 1002' }).click();
    const audio = row.locator('audio');
    await page.waitForFunction((el) => el instanceof HTMLAudioElement && el.src.startsWith('blob:') && el.readyState >= 1, await audio.elementHandle());
    assert.ok((await audio.evaluate((el) => el.duration)) > 0.5, 'the WAV has audio');
    await shot(page, '08f-voicemail');

    await row.getByRole('button', { name: 'Mark heard' }).click();
    await page.getByText('Messages (0 new of 1)').waitFor();
    await row.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete message' });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No messages.').waitFor();
  });

  test('the layout works on a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Extensions' }).click();
    await page.getByRole('heading', { name: 'Extensions' }).waitFor();
    await page.getByText('E2E Phone').waitFor();
    await shot(page, '09-mobile-extensions');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 400, `no horizontal scrolling on a phone (page is ${width}px wide)`);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('every form control has a label', async () => {
    for (const route of ['extensions', 'forwarding', 'calls', 'users', 'audit', 'account']) {
      await page.goto(`${warden.url}/#/${route}`);
      await page.locator('main h1').waitFor();
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll('input, select, textarea')]
          .filter((el) => !el.labels?.length && !el.getAttribute('aria-label'))
          .map((el) => el.outerHTML),
      );
      assert.deepEqual(unlabelled, [], `unlabelled controls on ${route}`);
    }
  });

  test('the API docs page renders under the CSP', async () => {
    await page.goto(`${warden.url}/api/docs/`);
    await page.getByText('Warden admin API').first().waitFor({ timeout: 15_000 });
    await page.getByText('/api/v1/extensions').first().waitFor();
    await shot(page, '10-api-docs');
  });

  test('no console errors and no CSP violations', () => {
    const relevant = problems.filter((p) => !p.includes('401') && !p.includes('Failed to load resource'));
    assert.deepEqual(relevant, []);
    assert.ok(!problems.some((p) => p.includes('Content Security Policy')), problems.join('\n'));
  });
});
