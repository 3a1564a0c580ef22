// Extensions: search, list, create, edit, delete (administrators); operators read; a user
// account sees its own extension and sets its voicemail PIN.

import { query } from '../api';
import { throttle, type Ctx, type PageView } from '../context';
import { h, replace } from '../dom';
import { confirmDialog, openDialog } from '../ui/dialog';
import { button, checkbox, field, formError, showApiError, showErrors, type Field } from '../ui/form';
import { pager, table } from '../ui/table';
import { toast } from '../ui/toast';
import { checkExtension, voicemailPin } from '../validate';
import type { Extension, Page } from '../types';

const PAGE = 25;

/** The create/edit dialog; resolves when saved. */
export function extensionDialog(ctx: Ctx, existing: Extension | null, onSaved: (e: Extension) => void): HTMLDialogElement {
  const creating = existing === null;
  const number = field('number', 'Number', { value: existing?.number ?? '', required: creating, hint: 'Digits, letters, _ . + - (the SIP user name)' });
  if (!creating) number.input.setAttribute('readonly', '');
  const name = field('name', 'Name', { value: existing?.name ?? '', required: true });
  const secret = field('secret', creating ? 'SIP password' : 'New SIP password', {
    type: 'password',
    autocomplete: 'new-password',
    required: creating,
    hint: creating ? '8 to 128 characters' : 'Leave empty to keep the current one',
  });
  const pin = field('voicemail_pin', 'Voicemail PIN', {
    inputmode: 'numeric',
    hint: existing?.has_voicemail_pin ? 'A PIN is set; enter a new one to change it' : '4 to 12 digits, optional',
  });
  const max = field('max_concurrent_calls', 'Call limit', {
    inputmode: 'numeric',
    value: existing?.max_concurrent_calls?.toString() ?? '',
    hint: 'Simultaneous calls; empty for no limit',
  });
  const enabled = checkbox('enabled', 'Enabled', existing?.enabled ?? true);
  const fields: Field[] = [number, name, secret, pin, max, enabled];
  const general = formError();
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, creating ? 'Create' : 'Save');
  const form = h(
    'form',
    { novalidate: true },
    fields.map((f) => f.wrap),
    general,
    h('div', { class: 'actions' }, button('Cancel', () => dlg.close()), save),
  );
  const dlg = openDialog(creating ? 'New extension' : `Edit extension ${existing.number}`, form);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const values = {
      number: number.input.value.trim(),
      name: name.input.value,
      secret: secret.input.value,
      voicemail_pin: pin.input.value.trim(),
      max_concurrent_calls: max.input.value.trim(),
    };
    if (showErrors(fields, checkExtension(values, creating))) return;
    const limit = values.max_concurrent_calls === '' ? null : Number(values.max_concurrent_calls);
    const checked = (enabled.input as HTMLInputElement).checked;
    const body: Record<string, unknown> = { name: values.name.trim(), enabled: checked, max_concurrent_calls: limit };
    if (values.secret) body.secret = values.secret;
    if (values.voicemail_pin) body.voicemail_pin = values.voicemail_pin;
    if (creating) body.number = values.number;
    save.disabled = true;
    const req = creating
      ? ctx.api.post<Extension>('/api/v1/extensions', body)
      : ctx.api.patch<Extension>(`/api/v1/extensions/${encodeURIComponent(values.number)}`, body);
    req
      .then((saved) => {
        dlg.close();
        toast(creating ? `Extension ${saved.number} created` : `Extension ${saved.number} saved`);
        onSaved(saved);
      })
      .catch((e: unknown) => showApiError(e, fields, general))
      .finally(() => {
        save.disabled = false;
      });
  });
  return dlg.element;
}

function ownExtension(ctx: Ctx, number: string): PageView {
  const info = h('div', { class: 'card' }, h('p', { class: 'muted' }, 'Loading…'));
  const pin = field('voicemail_pin', 'New voicemail PIN', { inputmode: 'numeric', type: 'password', hint: '4 to 12 digits' });
  const general = formError();
  const form = h('form', { class: 'card narrow', novalidate: true }, h('h2', null, 'Voicemail PIN'), pin.wrap, general, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Set PIN'));
  const load = async () => {
    const e = await ctx.api.get<Extension>(`/api/v1/extensions/${encodeURIComponent(number)}`);
    replace(
      info,
      h('h2', null, `${e.number} · ${e.name}`),
      h('dl', { class: 'facts' }, h('dt', null, 'Registered phones'), h('dd', null, String(e.registrations)), h('dt', null, 'Voicemail PIN'), h('dd', null, e.has_voicemail_pin ? 'set' : 'not set')),
    );
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = pin.input.value.trim();
    const err = v === '' ? 'Enter a PIN.' : voicemailPin(v);
    if (showErrors([pin], err ? { voicemail_pin: err } : {})) return;
    ctx.api
      .patch(`/api/v1/extensions/${encodeURIComponent(number)}`, { voicemail_pin: v })
      .then(() => {
        pin.input.value = '';
        toast('Voicemail PIN changed');
        return load();
      })
      .catch((e: unknown) => showApiError(e, [pin], general));
  });
  void load().catch((e: unknown) => replace(info, h('p', { class: 'form-error' }, String(e))));
  return { title: 'My extension', element: h('section', { class: 'page' }, h('h1', null, 'My extension'), info, form) };
}

export function extensionsPage(ctx: Ctx): PageView {
  if (ctx.user.role === 'user') return ownExtension(ctx, ctx.user.extension ?? '');
  const admin = ctx.user.role === 'admin';
  let offset = 0;
  const search = h('input', { type: 'search', id: 'ext-search', placeholder: 'Number or name', autocomplete: 'off' });
  const enabled = h('select', { id: 'ext-enabled' }, h('option', { value: '' }, 'All'), h('option', { value: 'true' }, 'Enabled'), h('option', { value: 'false' }, 'Disabled'));
  const list = h('div', { 'aria-live': 'polite', 'aria-busy': 'true' });

  const load = async () => {
    list.setAttribute('aria-busy', 'true');
    try {
      const page = await ctx.api.get<Page<Extension>>(
        `/api/v1/extensions${query({ search: search.value.trim(), enabled: enabled.value, limit: PAGE, offset })}`,
      );
      replace(
        list,
        table(
          'Extensions',
          [
            { label: 'Number', cell: (e: Extension) => h('strong', null, e.number) },
            { label: 'Name', cell: (e) => e.name },
            { label: 'Status', cell: (e) => h('span', { class: e.enabled ? 'badge badge-ok' : 'badge' }, e.enabled ? 'enabled' : 'disabled') },
            {
              label: 'Registered',
              cell: (e) => h('span', { class: e.registrations > 0 ? 'badge badge-ok' : 'badge', 'data-testid': `reg-${e.number}` }, e.registrations > 0 ? `${e.registrations} phone${e.registrations > 1 ? 's' : ''}` : 'no'),
            },
            { label: 'Voicemail', cell: (e) => (e.has_voicemail_pin ? 'PIN set' : '—') },
            { label: 'Call limit', cell: (e) => (e.max_concurrent_calls === null ? '—' : String(e.max_concurrent_calls)), className: 'num' },
            ...(admin
              ? [
                  {
                    label: 'Actions',
                    cell: (e: Extension) =>
                      h(
                        'div',
                        { class: 'row-actions' },
                        button('Edit', () => extensionDialog(ctx, e, () => void load()), 'secondary', { 'aria-label': `Edit extension ${e.number}` }),
                        button('Delete', () => void remove(e), 'danger', { 'aria-label': `Delete extension ${e.number}` }),
                      ),
                  },
                ]
              : []),
          ],
          page.items,
          search.value || enabled.value ? 'No extension matches.' : 'No extensions yet.',
        ),
        pager(page.total, page.limit, page.offset, (o) => {
          offset = o;
          void load();
        }),
      );
    } catch (e) {
      replace(list, h('p', { class: 'form-error', role: 'alert' }, `Cannot load extensions: ${String(e)}`));
    } finally {
      list.setAttribute('aria-busy', 'false');
    }
  };

  const remove = async (e: Extension) => {
    if (!(await confirmDialog('Delete extension', `Delete extension ${e.number} (${e.name}) and its registrations?`, 'Delete'))) return;
    try {
      await ctx.api.del(`/api/v1/extensions/${encodeURIComponent(e.number)}`);
      toast(`Extension ${e.number} deleted`);
    } catch (err) {
      toast(String(err), 'error');
    }
    void load();
  };

  let debounce: ReturnType<typeof setTimeout> | null = null;
  search.addEventListener('input', () => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => {
      offset = 0;
      void load();
    }, 250);
  });
  enabled.addEventListener('change', () => {
    offset = 0;
    void load();
  });
  const refresh = throttle(() => void load(), 1000);
  const off = ctx.live.on('registration', refresh);
  void load();

  const element = h(
    'section',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', null, 'Extensions'), admin ? button('New extension', () => extensionDialog(ctx, null, () => void load()), 'primary') : null),
    h(
      'div',
      { class: 'filters', role: 'search' },
      h('div', { class: 'field' }, h('label', { for: 'ext-search' }, 'Search'), search),
      h('div', { class: 'field' }, h('label', { for: 'ext-enabled' }, 'Status'), enabled),
    ),
    list,
  );
  return { title: 'Extensions', element, dispose: off };
}
