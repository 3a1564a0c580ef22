// Call forwarding of an extension: all calls, when busy, when not answered (after N seconds).
// A `user` account edits its own extension's rules; administrators pick any extension;
// operators only read.

import type { Ctx, PageView } from '../context';
import { h, replace } from '../dom';
import { dateTime } from '../format';
import { extensionPicker, field, formError, showApiError, showErrors } from '../ui/form';
import { toast } from '../ui/toast';
import type { Forwarding } from '../types';

const TARGET = /^[0-9A-Za-z_.+-]{1,32}$/;

/** Client-side checks of the form (the server checks that targets exist). */
export function checkForwarding(number: string, v: { always: string; busy: string; noAnswer: string; secs: string }): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const [name, value] of [['forward_always', v.always], ['forward_busy', v.busy], ['forward_no_answer', v.noAnswer]] as const) {
    const t = value.trim();
    if (t && !TARGET.test(t)) errors[name] = 'An extension number: digits, letters and _ . + - only.';
    else if (t && t === number) errors[name] = 'An extension cannot forward to itself.';
  }
  const secs = Number(v.secs);
  if (!Number.isInteger(secs) || secs < 5 || secs > 300) errors.no_answer_secs = 'Must be 5 to 300 seconds.';
  return errors;
}

export function forwardingPage(ctx: Ctx): PageView {
  const own = ctx.user.role === 'user';
  const canEdit = ctx.user.role !== 'operator';
  const which = field('number', 'Extension', { value: ctx.user.extension ?? '', inputmode: 'numeric', required: true });
  const always = field('forward_always', 'Forward all calls to', { inputmode: 'numeric', hint: "Every call goes there; the extension's phones do not ring. Empty: off." });
  const busy = field('forward_busy', 'When busy, forward to', { inputmode: 'numeric', hint: 'When every phone of the extension answers busy, the call goes there. Empty: off.' });
  const noAnswer = field('forward_no_answer', 'When not answered, forward to', { inputmode: 'numeric', hint: "After the seconds below, the extension's phones stop ringing and the call goes there. Empty: off." });
  const secs = field('no_answer_secs', 'Seconds before a call counts as not answered', { type: 'number', value: '20', inputmode: 'numeric', hint: '5 to 300; only applies when shorter than the ring timeout.' });
  const fields = [always, busy, noAnswer, secs];
  for (const f of fields) if (!canEdit) f.input.setAttribute('disabled', '');
  const general = formError();
  const updated = h('p', { class: 'muted', 'aria-live': 'polite' });
  const heading = h('h2', null, 'Rules');
  let number = ctx.user.extension ?? '';

  const show = (f: Forwarding) => {
    number = f.number;
    heading.textContent = `Rules of extension ${f.number}`;
    always.input.value = f.forward_always ?? '';
    busy.input.value = f.forward_busy ?? '';
    noAnswer.input.value = f.forward_no_answer ?? '';
    secs.input.value = String(f.no_answer_secs);
    replace(updated, f.updated_at ? `Last changed ${dateTime(f.updated_at)}.` : 'No forwarding set.');
    showErrors(fields, {});
    general.textContent = '';
  };
  const load = async (n: string) => {
    try {
      show(await ctx.api.get<Forwarding>(`/api/v1/extensions/${encodeURIComponent(n)}/forwarding`));
    } catch (e) {
      showApiError(e, [which], general);
    }
  };

  const form = h(
    'form',
    { class: 'card narrow', novalidate: true, 'aria-label': 'Call forwarding' },
    heading,
    fields.map((f) => f.wrap),
    general,
    updated,
    canEdit ? h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save forwarding') : null,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!canEdit || !number) return;
    const values = { always: always.input.value, busy: busy.input.value, noAnswer: noAnswer.input.value, secs: secs.input.value };
    if (showErrors(fields, checkForwarding(number, values))) return;
    const target = (s: string) => (s.trim() ? s.trim() : null);
    ctx.api
      .put<Forwarding>(`/api/v1/extensions/${encodeURIComponent(number)}/forwarding`, {
        forward_always: target(values.always),
        forward_busy: target(values.busy),
        forward_no_answer: target(values.noAnswer),
        no_answer_secs: Number(values.secs),
      })
      .then((f) => {
        show(f);
        toast(`Forwarding of ${f.number} saved`);
      })
      .catch((e: unknown) => showApiError(e, fields, general));
  });

  // Staff choose the extension; a user account has only its own.
  const picker = extensionPicker(own, which, (n) => void load(n));

  if (number) void load(number);
  else replace(updated, own ? 'This account has no extension.' : 'Choose an extension.');

  return {
    title: 'Forwarding',
    element: h('section', { class: 'page' }, h('h1', null, 'Call forwarding'), picker, form),
  };
}
