// The caller's own account: who is logged in, and a password change.

import type { Ctx, PageView } from '../context';
import { h } from '../dom';
import { field, formError, showApiError, showErrors } from '../ui/form';
import { toast } from '../ui/toast';
import { password } from '../validate';

export function accountPage(ctx: Ctx): PageView {
  const current = field('current_password', 'Current password', { type: 'password', autocomplete: 'current-password', required: true });
  const next = field('new_password', 'New password', { type: 'password', autocomplete: 'new-password', required: true, hint: '8 to 256 characters' });
  const again = field('repeat', 'Repeat the new password', { type: 'password', autocomplete: 'new-password', required: true });
  const fields = [current, next, again];
  const general = formError();
  const form = h('form', { class: 'card narrow', novalidate: true }, h('h2', null, 'Change password'), fields.map((f) => f.wrap), general, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Change password'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const errors: Record<string, string> = {};
    if (!current.input.value) errors.current_password = 'Enter your current password.';
    const p = password(next.input.value, ctx.user.username);
    if (p) errors.new_password = p;
    else if (next.input.value !== again.input.value) errors.repeat = 'The passwords differ.';
    if (showErrors(fields, errors)) return;
    ctx.api
      .put('/api/v1/me/password', { current_password: current.input.value, new_password: next.input.value })
      .then(() => {
        for (const f of fields) f.input.value = '';
        toast('Password changed; other sessions were logged out.');
      })
      .catch((e: unknown) => showApiError(e, fields, general));
  });
  const u = ctx.user;
  return {
    title: 'Account',
    element: h(
      'section',
      { class: 'page' },
      h('h1', null, 'Account'),
      h(
        'div',
        { class: 'card narrow' },
        h('dl', { class: 'facts' }, h('dt', null, 'User name'), h('dd', null, u.username), h('dt', null, 'Role'), h('dd', null, u.role), u.extension ? [h('dt', null, 'Extension'), h('dd', null, u.extension)] : null),
      ),
      form,
    ),
  };
}
