// The audit log (administrators): who changed what, when, from where.

import { query } from '../api';
import type { Ctx, PageView } from '../context';
import { h, replace } from '../dom';
import { dateTime, localInputToIso } from '../format';
import { pager, table } from '../ui/table';
import type { AuditEntry, Page } from '../types';

/** The details of an entry as `key=value` pairs. */
export function detailText(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .filter(([, v]) => v !== null && v !== undefined && v !== false)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

export function auditPage(ctx: Ctx): PageView {
  const input = (id: string, type = 'search') => h('input', { id, type, autocomplete: 'off' });
  const actor = input('audit-actor');
  const action = input('audit-action');
  const target = input('audit-target');
  const from = input('audit-from', 'datetime-local');
  const to = input('audit-to', 'datetime-local');
  const list = h('div', { 'aria-live': 'polite' });
  let offset = 0;
  const load = async () => {
    try {
      const q = query({
        actor: actor.value.trim(),
        action: action.value.trim(),
        target: target.value.trim(),
        from: localInputToIso(from.value),
        to: localInputToIso(to.value),
        limit: 50,
        offset,
      });
      const page = await ctx.api.get<Page<AuditEntry>>(`/api/v1/audit${q}`);
      replace(
        list,
        table(
          'Audit log',
          [
            { label: 'When', cell: (e: AuditEntry) => dateTime(e.at) },
            { label: 'Who', cell: (e) => e.actor },
            { label: 'Action', cell: (e) => h('code', null, e.action) },
            { label: 'Target', cell: (e) => e.target ?? '—' },
            { label: 'From', cell: (e) => e.source_ip ?? '—' },
            { label: 'Details', cell: (e) => detailText(e.detail) || '—' },
          ],
          page.items,
          'No entries match.',
        ),
        pager(page.total, page.limit, page.offset, (o) => {
          offset = o;
          void load();
        }),
      );
    } catch (e) {
      replace(list, h('p', { class: 'form-error', role: 'alert' }, String(e)));
    }
  };
  const label = (id: string, text: string, el: HTMLElement) => h('div', { class: 'field' }, h('label', { for: id }, text), el);
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Audit filters' },
    label('audit-actor', 'Who', actor),
    label('audit-action', 'Action', action),
    label('audit-target', 'Target', target),
    label('audit-from', 'From', from),
    label('audit-to', 'To', to),
    h('div', { class: 'field field-buttons' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Search')),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    offset = 0;
    void load();
  });
  void load();
  return { title: 'Audit log', element: h('section', { class: 'page' }, h('h1', null, 'Audit log'), form, list) };
}
