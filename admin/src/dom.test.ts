import { describe, expect, it, vi } from 'vitest';

import { h, replace } from './dom';

describe('dom helpers', () => {
  it('puts text in as text, never as markup', () => {
    const el = h('p', { class: 'x' }, '<img src=x onerror=alert(1)>', 5);
    expect(el.querySelector('img')).toBeNull();
    expect(el.textContent).toBe('<img src=x onerror=alert(1)>5');
    expect(el.className).toBe('x');
  });

  it('sets attributes, values, listeners and skips empty children', () => {
    const click = vi.fn();
    const b = h('button', { type: 'button', disabled: true, onclick: click, 'aria-label': 'Go', hidden: false }, null, false, ['a', ['b']]);
    expect(b.hasAttribute('disabled')).toBe(true);
    expect(b.hasAttribute('hidden')).toBe(false);
    expect(b.getAttribute('aria-label')).toBe('Go');
    expect(b.textContent).toBe('ab');
    b.dispatchEvent(new Event('click'));
    expect(click).toHaveBeenCalledOnce();
    const input = h('input', { value: 'v' });
    expect(input.value).toBe('v');
    replace(b, 'c');
    expect(b.textContent).toBe('c');
  });
});
