// The login page.

import type { Api } from '../api';
import { h } from '../dom';
import { field, formError, showApiError, showErrors } from '../ui/form';

export function loginPage(api: Api, onLoggedIn: () => void): HTMLElement {
  const user = field('username', 'User name', { autocomplete: 'username', required: true });
  const pass = field('password', 'Password', { type: 'password', autocomplete: 'current-password', required: true });
  const general = formError();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Log in');
  const form = h('form', { class: 'login-form', novalidate: true }, user.wrap, pass.wrap, general, submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const errors: Record<string, string> = {};
    if (!user.input.value.trim()) errors.username = 'Enter your user name.';
    if (!pass.input.value) errors.password = 'Enter your password.';
    if (showErrors([user, pass], errors)) return;
    submit.disabled = true;
    general.textContent = '';
    api
      .login(user.input.value.trim(), pass.input.value)
      .then(onLoggedIn)
      .catch((e: unknown) => {
        showApiError(e, [user, pass], general);
        pass.input.value = '';
        pass.input.focus();
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  queueMicrotask(() => user.input.focus());
  return h(
    'main',
    { id: 'main', class: 'login' },
    h('div', { class: 'login-card' }, h('h1', null, 'Warden'), h('p', { class: 'muted' }, 'Sign in to manage the PBX.'), form),
  );
}
