// Overview: live counters, calls per second, per-core media load, registered phones and the
// latest registration events.

import { query } from '../api';
import { drawRate, RateSeries } from '../chart';
import { throttle, type Ctx, type PageView } from '../context';
import { h, replace } from '../dom';
import { dateTime, num } from '../format';
import { confirmDialog } from '../ui/dialog';
import { table } from '../ui/table';
import { toast } from '../ui/toast';
import type { CallLifecycleEvent, CoreLoad, Page, Registration, RegistrationEvent, StatsEvent, SystemInfo } from '../types';

const SVG = 'http://www.w3.org/2000/svg';

function card(label: string, value: HTMLElement): HTMLElement {
  return h('div', { class: 'card stat' }, h('div', { class: 'stat-label' }, label), value);
}

export function coresTable(cores: readonly CoreLoad[]): HTMLElement {
  if (cores.length === 0) {
    return h('p', { class: 'muted' }, 'The media plane is not reporting load yet.');
  }
  return table(
    'Media cores',
    [
      { label: 'Core', cell: (c: CoreLoad) => String(c.core) },
      { label: 'Sessions', cell: (c) => String(c.sessions), className: 'num' },
      { label: 'Packets in/s', cell: (c) => num(c.packets_in_per_sec, 0), className: 'num' },
      { label: 'Packets out/s', cell: (c) => num(c.packets_out_per_sec, 0), className: 'num' },
      { label: 'Dropped', cell: (c) => String(c.dropped_total), className: 'num' },
      { label: 'Forwarded in kernel', cell: (c) => String(c.kernel_packets_total), className: 'num' },
      {
        label: 'Busy',
        cell: (c) =>
          h('span', { class: 'meter-wrap' }, h('meter', { min: 0, max: 100, value: c.busy_pct, 'aria-label': `Core ${c.core} busy` }), ` ${num(c.busy_pct)}%`),
      },
    ],
    cores,
    '',
  );
}

/** One line of the call events feed. */
export function callEventText(e: CallLifecycleEvent): string {
  const who = `${e.caller} → ${e.callee}`;
  switch (e.kind) {
    case 'started':
      return `${who} started`;
    case 'ringing':
      return `${who} ringing`;
    case 'answered':
      return `${who} answered${e.codec ? ` (${e.codec})` : ''}`;
    case 'ended':
      return `${who} ended: ${e.disposition.replace('_', ' ')}, ${e.cause}${e.side ? ` (by ${e.side})` : ''}`;
  }
}

export function overviewPage(ctx: Ctx): PageView {
  const activeCalls = h('div', { class: 'stat-value', 'data-testid': 'active-calls' }, '0');
  const registrations = h('div', { class: 'stat-value', 'data-testid': 'registrations' }, '–');
  const cps = h('div', { class: 'stat-value' }, '0');
  const extensions = h('div', { class: 'stat-value' }, '–');
  const series = new RateSeries(120);
  const chart = document.createElementNS(SVG, 'svg');
  chart.setAttribute('class', 'chart');
  chart.setAttribute('role', 'img');
  chart.setAttribute('aria-label', 'Calls per second, last two minutes');
  const cores = h('div', { class: 'cores' }, coresTable([]));
  const regs = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const feed = h('ol', { class: 'feed', 'aria-label': 'Latest registration events' });
  const callFeed = h('ol', { class: 'feed', 'aria-label': 'Latest call events' });
  const uptime = h('p', { class: 'muted' });

  const loadRegistrations = async () => {
    try {
      const page = await ctx.api.get<Page<Registration>>(`/api/v1/registrations${query({ limit: 200 })}`);
      registrations.textContent = String(page.total);
      replace(
        regs,
        table(
          'Registered phones',
          [
            { label: 'Extension', cell: (r: Registration) => r.aor },
            { label: 'Contact', cell: (r) => h('code', null, r.contact) },
            { label: 'From', cell: (r) => `${r.source} (${r.transport.toUpperCase()})` },
            { label: 'Phone', cell: (r) => r.user_agent ?? '—' },
            { label: 'Expires', cell: (r) => dateTime(r.expires_at) },
            ...(ctx.user.role === 'admin'
              ? [{ label: 'Actions', cell: (r: Registration) => unregisterButton(r) }]
              : []),
          ],
          page.items,
          'No phone is registered.',
        ),
      );
    } catch (e) {
      replace(regs, h('p', { class: 'form-error' }, `Cannot load registrations: ${String(e)}`));
    }
  };

  const unregisterButton = (r: Registration) =>
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-secondary btn-small',
        'aria-label': `Unregister ${r.contact}`,
        onclick: () => {
          void confirmDialog('Unregister phone', `Remove the registration of ${r.contact}?`, 'Unregister').then(async (ok) => {
            if (!ok) return;
            try {
              await ctx.api.del(`/api/v1/registrations/${encodeURIComponent(r.aor)}${query({ contact: r.contact })}`);
              toast(`Unregistered ${r.contact}`);
            } catch (e) {
              toast(String(e), 'error');
            }
            void loadRegistrations();
          });
        },
      },
      'Unregister',
    );

  const refreshRegistrations = throttle(() => void loadRegistrations(), 1000);

  const onStats = (s: StatsEvent) => {
    activeCalls.textContent = String(s.active_calls);
    registrations.textContent = String(s.registrations);
    series.push(Date.parse(s.at), s.calls_started);
    cps.textContent = num(series.latest(), 2);
    drawRate(chart, series);
    replace(cores, coresTable(s.cores));
  };
  const onRegistration = (e: RegistrationEvent) => {
    const text =
      e.kind === 'registered'
        ? `${e.aor} registered from ${e.source ?? '?'} (${e.expires ?? 0}s)`
        : `${e.aor} unregistered (${e.reason ?? '?'})`;
    feed.prepend(h('li', null, h('time', null, new Date().toLocaleTimeString()), ' ', text));
    while (feed.children.length > 15) feed.lastElementChild?.remove();
    refreshRegistrations();
  };
  const onCall = (e: CallLifecycleEvent) => {
    // The counter follows the calls at once; the next stats event sets it exactly.
    const delta = e.kind === 'started' ? 1 : e.kind === 'ended' ? -1 : 0;
    if (delta) activeCalls.textContent = String(Math.max(0, (Number(activeCalls.textContent) || 0) + delta));
    callFeed.prepend(h('li', null, h('time', null, new Date().toLocaleTimeString()), ' ', callEventText(e)));
    while (callFeed.children.length > 15) callFeed.lastElementChild?.remove();
  };
  const offs = [ctx.live.on('stats', onStats), ctx.live.on('registration', onRegistration), ctx.live.on('call', onCall)];

  void loadRegistrations();
  void ctx.api
    .get<SystemInfo>('/api/v1/system')
    .then((info) => {
      extensions.textContent = String(info.counts.extensions);
      uptime.textContent = `Warden ${info.version} · ${info.database} · up since ${dateTime(info.started_at)}`;
    })
    .catch(() => undefined);
  drawRate(chart, series);

  const element = h(
    'section',
    { class: 'page' },
    h('h1', null, 'Overview'),
    uptime,
    h('div', { class: 'stats' }, card('Active calls', activeCalls), card('Registrations', registrations), card('Calls per second', cps), card('Extensions', extensions)),
    h('div', { class: 'grid-2' }, h('div', { class: 'card' }, h('h2', null, 'Calls per second'), chart), h('div', { class: 'card' }, h('h2', null, 'Media load'), cores)),
    h('div', { class: 'card' }, h('h2', null, 'Registered phones'), regs),
    h('div', { class: 'grid-2' }, h('div', { class: 'card' }, h('h2', null, 'Live events'), feed), h('div', { class: 'card' }, h('h2', null, 'Call events'), callFeed)),
  );
  return { title: 'Overview', element, dispose: () => offs.forEach((off) => off()) };
}
