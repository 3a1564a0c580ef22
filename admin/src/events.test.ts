import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { Api } from './api';
import { LiveEvents } from './events';
import { FakeEventSource, memoryStore, scriptedFetch, tokens } from './testing';

describe('live events', () => {
  beforeEach(() => {
    FakeEventSource.opened = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  async function setup() {
    const f = scriptedFetch({
      'POST /api/v1/auth/login': { status: 200, body: tokens(1) },
      'POST /api/v1/auth/refresh': { status: 200, body: tokens(2) },
    });
    const api = new Api(f.fetchImpl, memoryStore());
    await api.login('admin', 'pw');
    const live = new LiveEvents(api, (url) => new FakeEventSource(url) as unknown as EventSource);
    return { api, live, calls: f.calls };
  }

  it('opens the stream with the token and dispatches typed events', async () => {
    const { live } = await setup();
    const stats = vi.fn();
    const regs = vi.fn();
    const statuses: string[] = [];
    live.on('stats', stats);
    live.on('registration', regs);
    live.on('status', (s) => statuses.push(s));
    live.start();
    const src = FakeEventSource.opened[0]!;
    expect(src.url).toBe('/api/v1/events?access_token=access-1');
    src.send('hello', { user: 'admin', role: 'admin' });
    src.send('stats', { at: 'now', active_calls: 2, calls_started: 5, registrations: 1, cores: [] });
    src.send('registration', { kind: 'registered', aor: '1001', contact: 'sip:x' });
    src.dispatchEvent(new MessageEvent('stats', { data: 'not json' }));
    expect(stats).toHaveBeenCalledOnce();
    expect(stats.mock.calls[0]?.[0]).toMatchObject({ active_calls: 2 });
    expect(regs.mock.calls[0]?.[0]).toMatchObject({ aor: '1001' });
    expect(statuses).toEqual(['offline', 'connecting', 'live']);
    live.stop();
    expect(src.closed).toBe(true);
  });

  it('reconnects with a refreshed token when the stream expires or fails', async () => {
    vi.useFakeTimers();
    const { live, calls } = await setup();
    live.start();
    const first = FakeEventSource.opened[0]!;
    first.send('expired', {});
    expect(first.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(10);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.some((c) => c.path === '/api/v1/auth/refresh')).toBe(true);
    const second = FakeEventSource.opened[1]!;
    expect(second.url).toBe('/api/v1/events?access_token=access-2');
    second.fail();
    expect(second.closed).toBe(true);
    expect(FakeEventSource.opened).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(5000);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeEventSource.opened).toHaveLength(3);
    live.stop();
  });
});
