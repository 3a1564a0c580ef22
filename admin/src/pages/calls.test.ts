import { describe, expect, it } from 'vitest';

import type { LiveCall } from '../types';
import { applyCallEvent, liveCallsTable } from './calls';

const who = { call: 'c1', caller: '1001', callee: '1002' };

describe('live calls from call events', () => {
  it('lists a started call, follows ringing and answer, and drops it when it ends', () => {
    const now = new Date('2024-01-01T00:00:00Z');
    let calls: LiveCall[] = applyCallEvent([], { kind: 'started', ...who, call_id: 'x@y' }, now);
    expect(calls).toEqual([
      { id: 'c1', caller: '1001', callee: '1002', state: 'setup', started_at: now.toISOString(), answered_at: null, codec: null, media_core: null, legs: [] },
    ]);
    // A repeated start (e.g. after a snapshot) does not duplicate it.
    expect(applyCallEvent(calls, { kind: 'started', ...who, call_id: 'x@y' })).toHaveLength(1);
    calls = applyCallEvent(calls, { kind: 'ringing', ...who });
    expect(calls[0]!.state).toBe('ringing');
    calls = applyCallEvent(calls, { kind: 'answered', ...who, codec: 'PCMA' }, now);
    expect(calls[0]).toMatchObject({ state: 'answered', codec: 'PCMA', answered_at: now.toISOString() });
    const other = applyCallEvent(calls, { kind: 'started', call: 'c2', caller: '1003', callee: '1002', call_id: 'z' });
    expect(other.map((c) => c.id)).toEqual(['c1', 'c2']);
    calls = applyCallEvent(other, { kind: 'ended', ...who, disposition: 'answered', cause: 'BYE', side: 'caller' });
    expect(calls.map((c) => c.id)).toEqual(['c2']);
  });

  it('renders the live table with a labelled hang-up button', () => {
    const calls = applyCallEvent([], { kind: 'started', ...who, call_id: 'x' });
    const t = liveCallsTable(calls, true, () => undefined);
    expect(t.querySelectorAll('tbody tr')).toHaveLength(1);
    expect(t.querySelector('button')?.getAttribute('aria-label')).toBe('Hang up 1001 to 1002');
  });

  it('shows the media quality of each leg', () => {
    const [call] = applyCallEvent([], { kind: 'started', ...who, call_id: 'x' });
    const legs = [
      { call_id: 'a', party: '1001', remote: null, codec: 'PCMU', quality: { packets_received: 250, packets_lost: 0, packets_sent: 249, loss_pct: 0, jitter_ms: 1.25, mos: 4.41 } },
      { call_id: 'b', party: '1002', remote: null, codec: 'PCMU', quality: null },
    ];
    const t = liveCallsTable([{ ...call!, legs }], false, () => undefined);
    const items = [...t.querySelectorAll('.legs li')].map((li) => li.textContent);
    expect(items).toEqual(['1001: MOS 4.41 · loss 0% · jitter 1.3 ms · 250 packets', '1002: no media yet']);
    expect(t.textContent).toContain('4.41');
  });
});
