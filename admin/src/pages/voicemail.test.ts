import { beforeEach, describe, expect, it, vi } from 'vitest';

import type { Ctx } from '../context';
import { LiveEvents } from '../events';
import { ADMIN, FakeEventSource, loggedIn, settle } from '../testing';
import type { User, VoicemailBox, VoicemailMessage } from '../types';
import { checkMaxSecs, voicemailPage } from './voicemail';

const BOB: User = { ...ADMIN, id: 7, username: 'bob', role: 'user', extension: '1002' };
const OFF: VoicemailBox = { number: '1002', enabled: false, max_message_secs: 120, updated_at: null };
const MSG: VoicemailMessage = { id: 5, extension: '1002', caller: '1001', call_id: 'c@x', received_at: '2024-01-01T10:00:00Z', duration_ms: 3200, heard: false };
const BASE = '/api/v1/extensions/1002/voicemail';

async function mount(routes: Parameters<typeof loggedIn>[0], user: User) {
  const { api, calls } = await loggedIn(routes, user);
  const live = new LiveEvents(api, (url) => new FakeEventSource(url) as unknown as EventSource);
  const ctx: Ctx = { api, live, user, go: () => undefined };
  const view = voicemailPage(ctx);
  document.body.replaceChildren(view.element);
  await settle();
  return { calls, view };
}

function byLabel(text: string): HTMLInputElement {
  const label = [...document.querySelectorAll('label')].find((l) => l.textContent?.replace('*', '').trim() === text);
  const el = label ? document.getElementById(label.getAttribute('for') ?? '') : null;
  if (!el) throw new Error(`no field labelled ${text}`);
  return el as HTMLInputElement;
}

function buttonNamed(name: string): HTMLButtonElement {
  const b = [...document.querySelectorAll('button')].find((x) => x.textContent === name);
  if (!b) throw new Error(`no button ${name}`);
  return b;
}

describe('voicemail page', () => {
  beforeEach(() => document.body.replaceChildren());

  it('checks the longest message length', () => {
    expect(checkMaxSecs('120')).toEqual({});
    expect(checkMaxSecs('4')).toEqual({ max_message_secs: 'Must be 5 to 600 seconds.' });
    expect(checkMaxSecs('1.5')).toEqual({ max_message_secs: 'Must be 5 to 600 seconds.' });
  });

  it('a user turns voicemail on, lists, plays, marks heard and deletes a message', async () => {
    const createObjectURL = vi.fn(() => 'blob:vm-5');
    const revokeObjectURL = vi.fn();
    Object.assign(URL, { createObjectURL, revokeObjectURL });
    const play = vi.spyOn(HTMLMediaElement.prototype, 'play').mockImplementation(() => Promise.resolve());
    const { calls, view } = await mount(
      {
        [`GET ${BASE}`]: { status: 200, body: OFF },
        [`PUT ${BASE}`]: [
          { status: 422, body: { error: { code: 'validation', message: 'must be 5 to 600', field: 'max_message_secs' } } },
          { status: 200, body: { ...OFF, enabled: true, max_message_secs: 60, updated_at: '2024-01-01T00:00:00Z' } },
        ],
        [`GET ${BASE}/messages`]: [{ status: 200, body: [MSG] }, { status: 200, body: [{ ...MSG, heard: true }] }, { status: 200, body: [] }],
        [`GET ${BASE}/messages/5/audio`]: { status: 200, body: 'RIFF....WAVE' },
        [`PATCH ${BASE}/messages/5`]: { status: 200, body: { ...MSG, heard: true } },
        [`DELETE ${BASE}/messages/5`]: { status: 204 },
      },
      BOB,
    );
    expect(document.body.textContent).toContain('Voicemail of extension 1002');
    expect(document.querySelector('form[role="search"]')).toBeNull();
    expect(document.body.textContent).toContain('Messages (1 new of 1)');
    expect(document.body.textContent).toContain('0:03');

    // Settings: a server error lands on the field, then it saves.
    byLabel('Voicemail on').checked = true;
    byLabel('Longest message (seconds)').value = '60';
    buttonNamed('Save voicemail').click();
    await settle();
    expect(byLabel('Longest message (seconds)').getAttribute('aria-invalid')).toBe('true');
    buttonNamed('Save voicemail').click();
    await settle();
    expect(calls.filter((c) => c.method === 'PUT').at(-1)?.body).toEqual({ enabled: true, max_message_secs: 60 });
    expect(document.body.textContent).toContain('Last changed');

    // Play fetches the audio with the token and hands it to the <audio> player.
    buttonNamed('Play message from 1001').click();
    await settle();
    const audio = document.querySelector('audio');
    expect(audio?.getAttribute('src')).toBe('blob:vm-5');
    expect(audio?.hidden).toBe(false);
    expect(play).toHaveBeenCalled();
    expect(calls.find((c) => c.path.endsWith('/audio'))?.auth).toBe('Bearer access-1');

    buttonNamed('Mark heard').click();
    await settle();
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ heard: true });
    expect(document.body.textContent).toContain('Messages (0 new of 1)');

    buttonNamed('Delete').click();
    await settle();
    const dialog = document.querySelector('dialog');
    expect(dialog?.textContent).toContain('Delete the message from 1001');
    [...(dialog?.querySelectorAll('button') ?? [])].find((b) => b.textContent === 'Delete')?.click();
    await settle();
    expect(calls.some((c) => c.method === 'DELETE')).toBe(true);
    expect(document.body.textContent).toContain('No messages.');
    view.dispose?.();
    expect(revokeObjectURL).toHaveBeenCalledWith('blob:vm-5');
    play.mockRestore();
  });

  it('an operator reads and listens but cannot change', async () => {
    const ops: User = { ...ADMIN, username: 'ops', role: 'operator' };
    await mount(
      {
        [`GET ${BASE}`]: { status: 200, body: { ...OFF, enabled: true } },
        [`GET ${BASE}/messages`]: { status: 200, body: [MSG] },
      },
      ops,
    );
    byLabel('Extension').value = '1002';
    buttonNamed('Show').click();
    await settle();
    expect(byLabel('Voicemail on').checked).toBe(true);
    expect(byLabel('Voicemail on').disabled).toBe(true);
    expect([...document.querySelectorAll('button')].some((b) => b.textContent === 'Save voicemail')).toBe(false);
    expect([...document.querySelectorAll('button')].some((b) => b.textContent === 'Delete')).toBe(false);
    expect(document.body.textContent).toContain('Play message from 1001');
  });
});
