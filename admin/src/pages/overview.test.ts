import { describe, expect, it } from 'vitest';

import type { Ctx } from '../context';
import { LiveEvents } from '../events';
import { FakeEventSource, loggedIn, settle } from '../testing';
import { coresTable, overviewPage } from './overview';

describe('overview', () => {
  it('shows the media cores or says they are not reporting', () => {
    expect(coresTable([]).textContent).toContain('not reporting');
    const t = coresTable([{ core: 2, sessions: 3, packets_in_per_sec: 150, packets_out_per_sec: 149.6, dropped_total: 1, kernel_packets_total: 4321, busy_pct: 12.25 }]);
    expect(t.querySelectorAll('tbody tr')).toHaveLength(1);
    expect(t.textContent).toContain('Forwarded in kernel');
    expect(t.textContent).toContain('4321');
    expect(t.textContent).toContain('12.3%');
    expect(t.querySelector('meter')?.getAttribute('aria-label')).toBe('Core 2 busy');
  });

  it('updates from the live stream', async () => {
    FakeEventSource.opened = [];
    const { api } = await loggedIn({
      'GET /api/v1/registrations': { status: 200, body: { items: [], total: 0, limit: 200, offset: 0 } },
      'GET /api/v1/system': {
        status: 200,
        body: { version: '0.1.0', started_at: '2024-01-01T00:00:00Z', uptime_secs: 5, database: 'sqlite', counts: { extensions: 4, registrations: 0, live_calls: 0, users: 1 }, config: {} },
      },
    });
    const live = new LiveEvents(api, (url) => new FakeEventSource(url) as unknown as EventSource);
    const ctx: Ctx = { api, live, user: api.user!, go: () => undefined };
    const view = overviewPage(ctx);
    document.body.replaceChildren(view.element);
    live.start();
    await settle();
    const src = FakeEventSource.opened[0]!;
    src.send('stats', { at: '2024-01-01T00:00:00Z', active_calls: 3, calls_started: 10, registrations: 2, cores: [] });
    src.send('stats', { at: '2024-01-01T00:00:02Z', active_calls: 4, calls_started: 14, registrations: 2, cores: [] });
    expect(document.querySelector('[data-testid="active-calls"]')?.textContent).toBe('4');
    expect(document.querySelector('[data-testid="registrations"]')?.textContent).toBe('2');
    expect(document.body.textContent).toContain('Calls per second2');
    src.send('registration', { kind: 'registered', aor: '1001', contact: 'sip:1001@x', source: '192.0.2.1:5060', expires: 60 });
    expect(document.querySelector('.feed li')?.textContent).toContain('1001 registered from 192.0.2.1:5060');
    // Call events move the counter at once and fill the call feed.
    src.send('call', { kind: 'started', call: 'c9', caller: '1001', callee: '1002', call_id: 'x@y' });
    expect(document.querySelector('[data-testid="active-calls"]')?.textContent).toBe('5');
    src.send('call', { kind: 'ended', call: 'c9', caller: '1001', callee: '1002', disposition: 'no_answer', cause: 'ring timeout', side: 'system' });
    expect(document.querySelector('[data-testid="active-calls"]')?.textContent).toBe('4');
    const calls = document.querySelector('[aria-label="Latest call events"]')!;
    expect(calls.querySelectorAll('li')).toHaveLength(2);
    expect(calls.querySelector('li')?.textContent).toContain('1001 → 1002 ended: no answer, ring timeout (by system)');
    view.dispose?.();
    live.stop();
  });
});
