import { beforeEach, describe, expect, it } from 'vitest';

import type { Ctx } from '../context';
import { LiveEvents } from '../events';
import { ADMIN, FakeEventSource, loggedIn, settle } from '../testing';
import type { Forwarding, User } from '../types';
import { checkForwarding, forwardingPage } from './forwarding';

const BOB: User = { ...ADMIN, id: 7, username: 'bob', role: 'user', extension: '1002' };
const NONE: Forwarding = { number: '1002', forward_always: null, forward_busy: null, forward_no_answer: null, no_answer_secs: 20, updated_at: null };

async function mount(routes: Parameters<typeof loggedIn>[0], user: User) {
  const { api, calls } = await loggedIn(routes, user);
  const live = new LiveEvents(api, (url) => new FakeEventSource(url) as unknown as EventSource);
  const ctx: Ctx = { api, live, user, go: () => undefined };
  const view = forwardingPage(ctx);
  document.body.replaceChildren(view.element);
  await settle();
  return { calls };
}

function byLabel(text: string): HTMLInputElement {
  const label = [...document.querySelectorAll('label')].find((l) => l.textContent?.replace('*', '').trim() === text);
  const el = label ? document.getElementById(label.getAttribute('for') ?? '') : null;
  if (!el) throw new Error(`no field labelled ${text}`);
  return el as HTMLInputElement;
}

function submit(name: string): void {
  const b = [...document.querySelectorAll('button')].find((x) => x.textContent === name);
  if (!b) throw new Error(`no button ${name}`);
  b.click();
}

describe('forwarding page', () => {
  beforeEach(() => document.body.replaceChildren());

  it('checks targets and seconds', () => {
    expect(checkForwarding('1002', { always: '', busy: '', noAnswer: '', secs: '20' })).toEqual({});
    expect(checkForwarding('1002', { always: '1002', busy: 'x y', noAnswer: '1003', secs: '2' })).toEqual({
      forward_always: 'An extension cannot forward to itself.',
      forward_busy: 'An extension number: digits, letters and _ . + - only.',
      no_answer_secs: 'Must be 5 to 300 seconds.',
    });
  });

  it('a user edits the rules of their own extension and sees server errors on the field', async () => {
    const saved = { ...NONE, forward_always: '1003', updated_at: '2024-01-01T00:00:00Z' };
    const { calls } = await mount(
      {
        'GET /api/v1/extensions/1002/forwarding': { status: 200, body: NONE },
        'PUT /api/v1/extensions/1002/forwarding': [
          { status: 422, body: { error: { code: 'validation', message: 'extension "1009" does not exist', field: 'forward_busy' } } },
          { status: 200, body: saved },
        ],
      },
      BOB,
    );
    expect(document.body.textContent).toContain('Rules of extension 1002');
    expect(document.querySelector('form[role="search"]')).toBeNull();
    byLabel('Forward all calls to').value = '1003';
    byLabel('When busy, forward to').value = '1009';
    submit('Save forwarding');
    await settle();
    expect(document.body.textContent).toContain('extension "1009" does not exist');
    expect(byLabel('When busy, forward to').getAttribute('aria-invalid')).toBe('true');
    byLabel('When busy, forward to').value = '';
    submit('Save forwarding');
    await settle();
    const puts = calls.filter((c) => c.method === 'PUT');
    expect(puts.at(-1)?.body).toEqual({ forward_always: '1003', forward_busy: null, forward_no_answer: null, no_answer_secs: 20 });
    expect(byLabel('Forward all calls to').value).toBe('1003');
    expect(document.body.textContent).toContain('Last changed');
  });

  it('an operator reads any extension but cannot save', async () => {
    const ops: User = { ...ADMIN, username: 'ops', role: 'operator' };
    await mount({ 'GET /api/v1/extensions/1002/forwarding': { status: 200, body: { ...NONE, forward_busy: '1003' } } }, ops);
    byLabel('Extension').value = '1002';
    submit('Show');
    await settle();
    expect(byLabel('When busy, forward to').value).toBe('1003');
    expect(byLabel('When busy, forward to').disabled).toBe(true);
    expect([...document.querySelectorAll('button')].some((b) => b.textContent === 'Save forwarding')).toBe(false);
  });
});
