// Accounts (administrators): list, create, edit (role, extension, disable, password, unlock),
// delete.

import { query } from '../api';
import type { Ctx, PageView } from '../context';
import { h, replace } from '../dom';
import { dateTime } from '../format';
import { confirmDialog, openDialog } from '../ui/dialog';
import { button, checkbox, field, formError, showApiError, showErrors, type Field } from '../ui/form';
import { pager, table } from '../ui/table';
import { toast } from '../ui/toast';
import { password, username } from '../validate';
import type { Page, Role, User } from '../types';

const ROLES: ReadonlyArray<readonly [Role, string]> = [
  ['admin', 'Administrator'],
  ['operator', 'Operator'],
  ['user', 'User (own extension)'],
];

function userDialog(ctx: Ctx, existing: User | null, onSaved: () => void): void {
  const creating = existing === null;
  const name = field('username', 'User name', { value: existing?.username ?? '', required: creating, autocomplete: 'off' });
  if (!creating) name.input.setAttribute('readonly', '');
  const pass = field('password', creating ? 'Password' : 'New password', {
    type: 'password',
    autocomplete: 'new-password',
    required: creating,
    hint: creating ? '8 to 256 characters' : 'Leave empty to keep it; a new one ends the account’s sessions',
  });
  const role = field('role', 'Role', { options: ROLES, value: existing?.role ?? 'operator' });
  const ext = field('extension', 'Extension', { value: existing?.extension ?? '', hint: 'Required for the user role' });
  const disabled = checkbox('disabled', 'Disabled (cannot log in)', existing?.disabled ?? false);
  const unlock = existing?.locked_until ? checkbox('unlock', `Unlock (locked until ${dateTime(existing.locked_until)})`, true) : null;
  const fields: Field[] = [name, pass, role, ext, disabled, ...(unlock ? [unlock] : [])];
  const general = formError();
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, creating ? 'Create' : 'Save');
  const form = h('form', { novalidate: true }, fields.map((f) => f.wrap), general, h('div', { class: 'actions' }, button('Cancel', () => dlg.close()), save));
  const dlg = openDialog(creating ? 'New account' : `Edit ${existing.username}`, form);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const errors: Record<string, string> = {};
    const u = name.input.value.trim();
    const userErr = creating ? username(u) : null;
    if (userErr) errors.username = userErr;
    if (creating || pass.input.value) {
      const p = password(pass.input.value, u);
      if (p) errors.password = p;
    }
    if (role.input.value === 'user' && !ext.input.value.trim()) errors.extension = 'A user account needs an extension.';
    if (showErrors(fields, errors)) return;
    const body: Record<string, unknown> = {
      role: role.input.value,
      extension: ext.input.value.trim() || null,
    };
    if (pass.input.value) body.password = pass.input.value;
    let req: Promise<unknown>;
    if (creating) {
      req = ctx.api.post('/api/v1/users', { ...body, username: u });
    } else {
      body.disabled = (disabled.input as HTMLInputElement).checked;
      if (unlock && (unlock.input as HTMLInputElement).checked) body.unlock = true;
      req = ctx.api.patch(`/api/v1/users/${existing.id}`, body);
    }
    save.disabled = true;
    req
      .then(() => {
        dlg.close();
        toast(creating ? `Account ${u} created` : `Account ${u} saved`);
        onSaved();
      })
      .catch((e: unknown) => showApiError(e, fields, general))
      .finally(() => {
        save.disabled = false;
      });
  });
}

export function usersPage(ctx: Ctx): PageView {
  let offset = 0;
  const list = h('div', { 'aria-live': 'polite' });
  const load = async () => {
    try {
      const page = await ctx.api.get<Page<User>>(`/api/v1/users${query({ limit: 50, offset })}`);
      replace(
        list,
        table(
          'Accounts',
          [
            { label: 'User name', cell: (u: User) => h('strong', null, u.username) },
            { label: 'Role', cell: (u) => u.role },
            { label: 'Extension', cell: (u) => u.extension ?? '—' },
            {
              label: 'Status',
              cell: (u) => (u.disabled ? h('span', { class: 'badge' }, 'disabled') : u.locked_until ? h('span', { class: 'badge badge-warn' }, 'locked') : h('span', { class: 'badge badge-ok' }, 'active')),
            },
            { label: 'Created', cell: (u) => dateTime(u.created_at) },
            {
              label: 'Actions',
              cell: (u) =>
                h(
                  'div',
                  { class: 'row-actions' },
                  button('Edit', () => userDialog(ctx, u, () => void load()), 'secondary', { 'aria-label': `Edit ${u.username}` }),
                  u.id === ctx.user.id ? null : button('Delete', () => void remove(u), 'danger', { 'aria-label': `Delete ${u.username}` }),
                ),
            },
          ],
          page.items,
          'No accounts.',
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
  const remove = async (u: User) => {
    if (!(await confirmDialog('Delete account', `Delete the account ${u.username}?`, 'Delete'))) return;
    try {
      await ctx.api.del(`/api/v1/users/${u.id}`);
      toast(`Account ${u.username} deleted`);
    } catch (e) {
      toast(String(e), 'error');
    }
    void load();
  };
  void load();
  return {
    title: 'Users',
    element: h(
      'section',
      { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', null, 'Users'), button('New account', () => userDialog(ctx, null, () => void load()), 'primary')),
      list,
    ),
  };
}
