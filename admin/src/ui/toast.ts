// Short status messages, announced to screen readers.

import { h } from '../dom';

let region: HTMLElement | null = null;

function ensure(): HTMLElement {
  if (!region || !region.isConnected) {
    region = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(region);
  }
  return region;
}

export function toast(message: string, kind: 'ok' | 'error' = 'ok'): void {
  const el = h('div', { class: `toast toast-${kind}` }, message);
  ensure().appendChild(el);
  setTimeout(() => el.remove(), 4000);
}
