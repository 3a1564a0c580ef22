// Labelled form fields with their error messages (aria-invalid + aria-describedby), and the
// mapping of the API's field errors onto them.

import { ApiError } from '../api';
import { h, uid, type Child } from '../dom';
import type { Errors } from '../validate';

export interface FieldOptions {
  type?: string;
  value?: string;
  required?: boolean;
  autocomplete?: string;
  hint?: string;
  inputmode?: string;
  options?: ReadonlyArray<readonly [string, string]>;
  placeholder?: string;
}

export interface Field {
  name: string;
  wrap: HTMLDivElement;
  input: HTMLInputElement | HTMLSelectElement;
  error: HTMLParagraphElement;
}

/** A labelled input (or select when `options` is given). */
export function field(name: string, label: string, opts: FieldOptions = {}): Field {
  const id = uid(`f-${name}`);
  const errId = `${id}-err`;
  const hintId = `${id}-hint`;
  const describedBy = [opts.hint ? hintId : '', errId].filter(Boolean).join(' ');
  const input = opts.options
    ? h('select', { id, name, 'aria-describedby': describedBy }, opts.options.map(([v, l]) => h('option', { value: v }, l)))
    : h('input', {
        id,
        name,
        type: opts.type ?? 'text',
        autocomplete: opts.autocomplete ?? 'off',
        required: opts.required ?? false,
        inputmode: opts.inputmode,
        placeholder: opts.placeholder,
        'aria-describedby': describedBy,
      });
  if (opts.value !== undefined) input.value = opts.value;
  const error = h('p', { class: 'field-error', id: errId, 'aria-live': 'polite' });
  const wrap = h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label, opts.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    input,
    opts.hint ? h('p', { class: 'hint', id: hintId }, opts.hint) : null,
    error,
  );
  return { name, wrap, input, error };
}

/** A checkbox with its label. */
export function checkbox(name: string, label: string, checked: boolean): Field {
  const id = uid(`f-${name}`);
  const input = h('input', { id, name, type: 'checkbox', checked });
  const error = h('p', { class: 'field-error', id: `${id}-err` });
  const wrap = h('div', { class: 'field field-check' }, input, h('label', { for: id }, label), error);
  return { name, wrap, input, error };
}

/** Shows `errors` on the fields (clearing the others); focuses the first invalid field. */
export function showErrors(fields: readonly Field[], errors: Errors): boolean {
  let first: Field | null = null;
  for (const f of fields) {
    const msg = errors[f.name];
    f.error.textContent = msg ?? '';
    if (msg) {
      f.input.setAttribute('aria-invalid', 'true');
      first ??= f;
    } else {
      f.input.removeAttribute('aria-invalid');
    }
  }
  first?.input.focus();
  return first !== null;
}

/** Puts an API error on its field when it names one, otherwise in `general`. */
export function showApiError(e: unknown, fields: readonly Field[], general: HTMLElement): void {
  const err = e instanceof ApiError ? e : new ApiError(0, 'error', String(e));
  const target = err.field ? fields.find((f) => f.name === err.field) : undefined;
  if (target) {
    showErrors(fields, { [target.name]: err.message });
    general.textContent = '';
  } else {
    showErrors(fields, {});
    general.textContent = err.message;
  }
}

/** A form error area (role=alert). */
export function formError(): HTMLParagraphElement {
  return h('p', { class: 'form-error', role: 'alert' });
}

/** A button. */
export function button(label: Child, onclick: () => void, kind: 'primary' | 'secondary' | 'danger' = 'secondary', attrs: Record<string, string> = {}): HTMLButtonElement {
  return h('button', { type: 'button', class: `btn btn-${kind}`, onclick: () => onclick(), ...attrs }, label);
}

/** The extension chooser of a per-extension page: staff pick any extension, a user account
 * has only its own (no chooser, `null`). Submitting it calls `show` with the number. */
export function extensionPicker(own: boolean, which: Field, show: (number: string) => void): HTMLElement | null {
  if (own) return null;
  const p = h('form', { class: 'filters', role: 'search', 'aria-label': 'Choose an extension' }, which.wrap, h('div', { class: 'field field-buttons' }, h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Show')));
  p.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const n = which.input.value.trim();
    if (n) show(n);
  });
  return h('div', { class: 'card' }, p);
}
