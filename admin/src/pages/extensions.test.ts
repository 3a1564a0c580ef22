import { beforeEach, describe, expect, it } from 'vitest';

import type { Ctx } from '../context';
import { LiveEvents } from '../events';
import { ADMIN, FakeEventSource, loggedIn, settle } from '../testing';
import type { Extension, User } from '../types';
import { extensionsPage } from './extensions';

const ALICE: Extension = {
  number: '1001',
  name: 'Alice',
  enabled: true,
  max_concurrent_calls: null,
  has_voicemail_pin: false,
  registrations: 1,
  created_at: '2024-01-01T00:00:00Z',
  updated_at: '2024-01-01T00:00:00Z',
};

async function mount(routes: Parameters<typeof loggedIn>[0], user: User = ADMIN) {
  const { api, calls } = await loggedIn(routes, user);
  const live = new LiveEvents(api, (url) => new FakeEventSource(url) as unknown as EventSource);
  const ctx: Ctx = { api, live, user, go: () => undefined };
  const view = extensionsPage(ctx);
  document.body.replaceChildren(view.element);
  await settle();
  return { view, calls, live };
}

function byLabel(root: ParentNode, text: string): HTMLInputElement {
  const label = [...root.querySelectorAll('label')].find((l) => l.textContent?.replace('*', '').trim() === text);
  const id = label?.getAttribute('for');
  const el = id ? document.getElementById(id) : null;
  if (!el) throw new Error(`no field labelled ${text}`);
  return el as HTMLInputElement;
}

function click(root: ParentNode, name: string): void {
  const b = [...root.querySelectorAll('button')].find((x) => x.textContent === name);
  if (!b) throw new Error(`no button ${name}`);
  b.click();
}

describe('extensions page', () => {
  beforeEach(() => {
    document.body.replaceChildren();
  });

  it('lists extensions with their registration state', async () => {
    await mount({ 'GET /api/v1/extensions': { status: 200, body: { items: [ALICE], total: 1, limit: 25, offset: 0 } } });
    const rows = document.querySelectorAll('tbody tr');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.textContent).toContain('Alice');
    expect(document.querySelector('[data-testid="reg-1001"]')?.textContent).toBe('1 phone');
    expect(document.body.textContent).toContain('1–1 of 1');
  });

  it('validates the form before sending and shows server field errors', async () => {
    const { calls } = await mount({
      'GET /api/v1/extensions': { status: 200, body: { items: [], total: 0, limit: 25, offset: 0 } },
      'POST /api/v1/extensions': {
        status: 409,
        body: { error: { code: 'already_exists', message: 'extension "1001" already exists', field: 'number' } },
      },
    });
    expect(document.body.textContent).toContain('No extensions yet.');
    click(document, 'New extension');
    const dialog = document.querySelector('dialog')!;
    expect(dialog).not.toBeNull();
    click(dialog, 'Create');
    await settle();
    const number = byLabel(dialog, 'Number');
    expect(number.getAttribute('aria-invalid')).toBe('true');
    const errId = number.getAttribute('aria-describedby')!.split(' ').at(-1)!;
    expect(document.getElementById(errId)?.textContent).toBe('Must be 1 to 32 characters.');
    expect(calls.filter((c) => c.method === 'POST' && c.path === '/api/v1/extensions')).toHaveLength(0);

    number.value = '1001';
    byLabel(dialog, 'Name').value = 'Alice';
    byLabel(dialog, 'SIP password').value = 'long-enough';
    click(dialog, 'Create');
    await settle();
    const post = calls.find((c) => c.method === 'POST' && c.path === '/api/v1/extensions');
    expect(post?.body).toEqual({ number: '1001', name: 'Alice', secret: 'long-enough', enabled: true, max_concurrent_calls: null });
    expect(number.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(errId)?.textContent).toBe('extension "1001" already exists');
  });

  it('hides the write actions from operators', async () => {
    await mount(
      { 'GET /api/v1/extensions': { status: 200, body: { items: [ALICE], total: 1, limit: 25, offset: 0 } } },
      { ...ADMIN, username: 'ops', role: 'operator' },
    );
    const buttons = [...document.querySelectorAll('button')].map((b) => b.textContent);
    expect(buttons).not.toContain('New extension');
    expect(buttons).not.toContain('Delete');
  });

  it('shows a user account its own extension and PIN form', async () => {
    const { calls } = await mount(
      {
        'GET /api/v1/extensions/1001': { status: 200, body: ALICE },
        'PATCH /api/v1/extensions/1001': { status: 200, body: { ...ALICE, has_voicemail_pin: true } },
      },
      { ...ADMIN, username: 'alice', role: 'user', extension: '1001' },
    );
    expect(document.body.textContent).toContain('1001 · Alice');
    const pin = byLabel(document, 'New voicemail PIN');
    pin.value = '12';
    click(document, 'Set PIN');
    await settle();
    expect(pin.getAttribute('aria-invalid')).toBe('true');
    pin.value = '2468';
    click(document, 'Set PIN');
    await settle();
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ voicemail_pin: '2468' });
  });
});
