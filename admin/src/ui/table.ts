// Data tables with a caption, column headers and an empty-state row; a pager for lists.

import { h, type Child } from '../dom';

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
  className?: string;
}

export function table<T>(caption: string, columns: readonly Column<T>[], rows: readonly T[], empty: string): HTMLDivElement {
  const head = h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.className }, c.label))));
  const body = h(
    'tbody',
    null,
    rows.length === 0
      ? h('tr', null, h('td', { colspan: columns.length, class: 'empty' }, empty))
      : rows.map((r) => h('tr', null, columns.map((c) => h('td', { class: c.className, 'data-label': c.label }, c.cell(r))))),
  );
  return h('div', { class: 'table-wrap' }, h('table', null, h('caption', { class: 'sr-only' }, caption), head, body));
}

/** "1–20 of 57" with previous/next buttons. */
export function pager(total: number, limit: number, offset: number, go: (offset: number) => void): HTMLElement {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(total, offset + limit);
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    h('span', null, `${from}–${to} of ${total}`),
    h('button', { type: 'button', class: 'btn btn-secondary', disabled: offset === 0, onclick: () => go(Math.max(0, offset - limit)) }, 'Previous'),
    h('button', { type: 'button', class: 'btn btn-secondary', disabled: to >= total, onclick: () => go(offset + limit) }, 'Next'),
  );
}
