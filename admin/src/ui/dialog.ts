// Modal dialogs on the native <dialog> element: focus moves into the dialog, Escape closes
// it, and focus returns to where it was.

import { h, uid, type Child } from '../dom';

export interface DialogHandle {
  element: HTMLDialogElement;
  close(): void;
}

export function openDialog(title: string, body: Child, onClose?: () => void): DialogHandle {
  const titleId = uid('dlg-title');
  const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const dialog = h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, title),
    body,
  );
  const close = () => {
    if (dialog.open && typeof dialog.close === 'function') dialog.close();
    dialog.remove();
    onClose?.();
    previous?.focus();
  };
  dialog.addEventListener('cancel', (ev) => {
    ev.preventDefault();
    close();
  });
  document.body.appendChild(dialog);
  if (typeof dialog.showModal === 'function') dialog.showModal();
  else dialog.setAttribute('open', '');
  const first = dialog.querySelector<HTMLElement>('input, select, button');
  first?.focus();
  return { element: dialog, close };
}

/** Asks to confirm; resolves true when confirmed. */
export function confirmDialog(title: string, message: string, action: string): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false;
    const done = (v: boolean) => {
      if (answered) return;
      answered = true;
      handle.close();
      resolve(v);
    };
    const body = h(
      'div',
      null,
      h('p', null, message),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => done(false) }, 'Cancel'),
        h('button', { type: 'button', class: 'btn btn-danger', onclick: () => done(true) }, action),
      ),
    );
    const handle = openDialog(title, body, () => {
      if (!answered) {
        answered = true;
        resolve(false);
      }
    });
  });
}
