// Calls: the live calls (updated by the events stream) with hang-up, and the call history
// with filters and CSV export.

import { query } from '../api';
import type { Ctx, PageView } from '../context';
import { h, replace } from '../dom';
import { dateTime, disposition, duration, localInputToIso, num } from '../format';
import { confirmDialog } from '../ui/dialog';
import { button } from '../ui/form';
import { pager, table } from '../ui/table';
import { toast } from '../ui/toast';
import type { CallLifecycleEvent, CallRecord, LiveCall, Page } from '../types';

const PAGE = 50;

function mos(c: LiveCall): string {
  const scores = c.legs.map((l) => l.quality?.mos).filter((m): m is number => typeof m === 'number');
  return scores.length ? num(Math.min(...scores), 2) : '—';
}

/**
 * The live calls after a lifecycle event: a started call is listed at once, ringing and
 * answered update its state, an ended call goes. (The `calls` snapshots that follow carry the
 * legs and quality.)
 */
export function applyCallEvent(calls: readonly LiveCall[], e: CallLifecycleEvent, now = new Date()): LiveCall[] {
  const at = now.toISOString();
  switch (e.kind) {
    case 'started':
      return calls.some((c) => c.id === e.call)
        ? [...calls]
        : [...calls, { id: e.call, caller: e.caller, callee: e.callee, state: 'setup', started_at: at, answered_at: null, codec: null, media_core: null, legs: [] }];
    case 'ringing':
      return calls.map((c) => (c.id === e.call && c.state === 'setup' ? { ...c, state: 'ringing' } : c));
    case 'answered':
      return calls.map((c) => (c.id === e.call ? { ...c, state: 'answered', answered_at: c.answered_at ?? at, codec: e.codec ?? c.codec } : c));
    case 'ended':
      return calls.filter((c) => c.id !== e.call);
  }
}

/** Per-leg media quality: what Warden receives from each party. */
export function legQuality(c: LiveCall): HTMLElement {
  return h(
    'ul',
    { class: 'legs' },
    c.legs.map((l) =>
      h(
        'li',
        null,
        `${l.party}: `,
        l.quality
          ? `MOS ${num(l.quality.mos, 2)} · loss ${num(l.quality.loss_pct, 1)}% · jitter ${num(l.quality.jitter_ms, 1)} ms · ${l.quality.packets_received ?? 0} packets`
          : 'no media yet',
      ),
    ),
  );
}

export function liveCallsTable(calls: readonly LiveCall[], canHangUp: boolean, hangup: (c: LiveCall) => void, now = Date.now()): HTMLElement {
  return table(
    'Calls in progress',
    [
      { label: 'From', cell: (c: LiveCall) => c.caller },
      { label: 'To', cell: (c) => c.callee },
      { label: 'State', cell: (c) => h('span', { class: 'badge' }, c.state) },
      { label: 'Duration', cell: (c) => duration(now - Date.parse(c.answered_at ?? c.started_at)), className: 'num' },
      { label: 'Codec', cell: (c) => c.codec ?? '—' },
      { label: 'Legs', cell: (c) => String(c.legs.length), className: 'num' },
      { label: 'MOS', cell: (c) => mos(c), className: 'num' },
      { label: 'Media per leg', cell: (c) => legQuality(c) },
      ...(canHangUp
        ? [{ label: 'Actions', cell: (c: LiveCall) => button('Hang up', () => hangup(c), 'danger', { 'aria-label': `Hang up ${c.caller} to ${c.callee}` }) }]
        : []),
    ],
    calls,
    'No calls in progress.',
  );
}

export function callsPage(ctx: Ctx): PageView {
  const staff = ctx.user.role !== 'user';
  let calls: LiveCall[] = [];
  const live = h('div', { 'aria-live': 'polite' });
  const renderLive = () => replace(live, liveCallsTable(calls, staff, (c) => void hangup(c)));
  const hangup = async (c: LiveCall) => {
    if (!(await confirmDialog('Hang up', `Hang up the call from ${c.caller} to ${c.callee}?`, 'Hang up'))) return;
    try {
      await ctx.api.post(`/api/v1/calls/${encodeURIComponent(c.id)}/hangup`);
      toast('Call hung up');
      calls = calls.filter((x) => x.id !== c.id);
      renderLive();
    } catch (e) {
      toast(String(e), 'error');
    }
  };

  // History filters.
  const from = h('input', { type: 'datetime-local', id: 'cdr-from' });
  const to = h('input', { type: 'datetime-local', id: 'cdr-to' });
  const number = h('input', { type: 'search', id: 'cdr-number', autocomplete: 'off', placeholder: 'Caller or callee' });
  const disp = h(
    'select',
    { id: 'cdr-disposition' },
    h('option', { value: '' }, 'Any'),
    ['answered', 'no_answer', 'busy', 'failed', 'cancelled'].map((d) => h('option', { value: d }, disposition(d))),
  );
  const history = h('div', { 'aria-live': 'polite' });
  let offset = 0;
  const filters = () => ({
    from: localInputToIso(from.value),
    to: localInputToIso(to.value),
    number: number.value.trim(),
    disposition: disp.value,
  });
  const load = async () => {
    try {
      const page = await ctx.api.get<Page<CallRecord>>(`/api/v1/call-records${query({ ...filters(), limit: PAGE, offset })}`);
      replace(
        history,
        table(
          'Call history',
          [
            { label: 'Started', cell: (r: CallRecord) => dateTime(r.started_at) },
            { label: 'From', cell: (r) => r.caller },
            { label: 'To', cell: (r) => r.callee },
            { label: 'Result', cell: (r) => h('span', { class: r.disposition === 'answered' ? 'badge badge-ok' : 'badge' }, disposition(r.disposition)) },
            { label: 'Duration', cell: (r) => duration(r.duration_ms), className: 'num' },
            { label: 'Talk time', cell: (r) => duration(r.billable_ms), className: 'num' },
            { label: 'Codec', cell: (r) => r.codec ?? '—' },
            { label: 'Ended by', cell: (r) => [r.hangup_side ?? '', r.hangup_cause ? ` (${r.hangup_cause})` : ''].join('') || '—' },
          ],
          page.items,
          'No calls match.',
        ),
        pager(page.total, page.limit, page.offset, (o) => {
          offset = o;
          void load();
        }),
      );
    } catch (e) {
      replace(history, h('p', { class: 'form-error', role: 'alert' }, `Cannot load the call history: ${String(e)}`));
    }
  };
  const exportCsv = async () => {
    try {
      const blob = await ctx.api.download(`/api/v1/call-records/export${query(filters())}`);
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `call-records-${new Date().toISOString().slice(0, 10)}.csv`, class: 'hidden' });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      toast(String(e), 'error');
    }
  };
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Call history filters' },
    h('div', { class: 'field' }, h('label', { for: 'cdr-from' }, 'From'), from),
    h('div', { class: 'field' }, h('label', { for: 'cdr-to' }, 'To'), to),
    h('div', { class: 'field' }, h('label', { for: 'cdr-number' }, 'Number'), number),
    h('div', { class: 'field' }, h('label', { for: 'cdr-disposition' }, 'Result'), disp),
    h('div', { class: 'field field-buttons' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Search'), button('Export CSV', () => void exportCsv())),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    offset = 0;
    void load();
  });

  const offCalls = ctx.user.role === 'user' ? () => undefined : ctx.live.on('calls', (e) => {
    calls = e.calls;
    renderLive();
  });
  const offCall = ctx.user.role === 'user' ? () => undefined : ctx.live.on('call', (e) => {
    calls = applyCallEvent(calls, e);
    renderLive();
    // A finished call's record is in the history: show it when the first page is shown.
    if (e.kind === 'ended' && offset === 0) void load();
  });
  const ticker = setInterval(renderLive, 1000);
  void ctx.api
    .get<LiveCall[]>('/api/v1/calls')
    .then((c) => {
      calls = c;
      renderLive();
    })
    .catch(() => renderLive());
  void load();

  const element = h(
    'section',
    { class: 'page' },
    h('h1', null, 'Calls'),
    h('div', { class: 'card' }, h('h2', null, 'In progress'), live),
    h('div', { class: 'card' }, h('h2', null, 'History'), form, history),
  );
  return {
    title: 'Calls',
    element,
    dispose: () => {
      offCalls();
      offCall();
      clearInterval(ticker);
    },
  };
}
