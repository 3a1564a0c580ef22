// Voicemail of an extension: the box settings (on/off, longest message) and the messages left
// in it, each with an audio player (the WAV is fetched with the access token and played from
// a blob URL), mark heard and delete. A `user` account sees its own extension; administrators
// pick any extension; operators only read and listen.

import type { Ctx, PageView } from '../context';
import { h, replace } from '../dom';
import { dateTime, duration } from '../format';
import { confirmDialog } from '../ui/dialog';
import { button, checkbox, extensionPicker, field, formError, showApiError, showErrors } from '../ui/form';
import { table } from '../ui/table';
import { toast } from '../ui/toast';
import type { VoicemailBox, VoicemailMessage } from '../types';

/** Client-side check of the longest message length. */
export function checkMaxSecs(v: string): Record<string, string> {
  const secs = Number(v);
  return Number.isInteger(secs) && secs >= 5 && secs <= 600 ? {} : { max_message_secs: 'Must be 5 to 600 seconds.' };
}

export function voicemailPage(ctx: Ctx): PageView {
  const own = ctx.user.role === 'user';
  const canEdit = ctx.user.role !== 'operator';
  const which = field('number', 'Extension', { value: ctx.user.extension ?? '', inputmode: 'numeric', required: true });
  const enabled = checkbox('enabled', 'Voicemail on', false);
  const maxSecs = field('max_message_secs', 'Longest message (seconds)', { type: 'number', value: '120', inputmode: 'numeric', hint: '5 to 600. Calls go to voicemail when the extension is busy, not answered (after the forwarding page’s seconds) or not registered, and no forwarding applies.' });
  const fields = [enabled, maxSecs];
  for (const f of fields) if (!canEdit) f.input.setAttribute('disabled', '');
  const general = formError();
  const updated = h('p', { class: 'muted', 'aria-live': 'polite' });
  const heading = h('h2', null, 'Settings');
  const listHeading = h('h2', null, 'Messages');
  const list = h('div', { 'aria-live': 'polite' });
  const urls: string[] = [];
  let number = ctx.user.extension ?? '';

  const base = () => `/api/v1/extensions/${encodeURIComponent(number)}/voicemail`;

  const showBox = (b: VoicemailBox) => {
    number = b.number;
    heading.textContent = `Voicemail of extension ${b.number}`;
    (enabled.input as HTMLInputElement).checked = b.enabled;
    maxSecs.input.value = String(b.max_message_secs);
    replace(updated, b.updated_at ? `Last changed ${dateTime(b.updated_at)}.` : 'Voicemail never set up (off).');
    showErrors(fields, {});
    general.textContent = '';
  };

  const play = async (m: VoicemailMessage, audio: HTMLAudioElement) => {
    try {
      const blob = await ctx.api.download(`${base()}/messages/${m.id}/audio`);
      const url = URL.createObjectURL(blob);
      urls.push(url);
      audio.src = url;
      audio.hidden = false;
      await audio.play().catch(() => undefined);
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), 'error');
    }
  };

  const showMessages = (msgs: VoicemailMessage[]) => {
    replace(listHeading, `Messages (${msgs.filter((m) => !m.heard).length} new of ${msgs.length})`);
    const rows = table<VoicemailMessage>(
      'Voicemail messages',
      [
        { label: 'Received', cell: (m) => dateTime(m.received_at) },
        { label: 'From', cell: (m) => m.caller },
        { label: 'Length', cell: (m) => duration(m.duration_ms) },
        { label: 'Status', cell: (m) => (m.heard ? 'Heard' : h('strong', null, 'New')) },
        {
          label: 'Listen',
          cell: (m) => {
            const audio = h('audio', { controls: true, preload: 'none', hidden: true, 'aria-label': `Message from ${m.caller}` });
            return h('div', { class: 'voicemail-player' }, button(`Play message from ${m.caller}`, () => void play(m, audio)), audio);
          },
        },
        {
          label: 'Actions',
          cell: (m) =>
            canEdit
              ? h(
                  'div',
                  { class: 'actions' },
                  button(m.heard ? 'Mark new' : 'Mark heard', () => void mark(m, !m.heard)),
                  button('Delete', () => void remove(m), 'danger'),
                )
              : '—',
        },
      ],
      msgs,
      'No messages.',
    );
    replace(list, rows);
  };

  const loadMessages = async () => {
    try {
      showMessages(await ctx.api.get<VoicemailMessage[]>(`${base()}/messages`));
    } catch (e) {
      replace(list, h('p', { class: 'form-error', role: 'alert' }, e instanceof Error ? e.message : String(e)));
    }
  };

  const mark = async (m: VoicemailMessage, heard: boolean) => {
    try {
      await ctx.api.patch<VoicemailMessage>(`${base()}/messages/${m.id}`, { heard });
      await loadMessages();
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), 'error');
    }
  };

  const remove = async (m: VoicemailMessage) => {
    if (!(await confirmDialog('Delete message', `Delete the message from ${m.caller} (${dateTime(m.received_at)})? Its audio is deleted too.`, 'Delete'))) return;
    try {
      await ctx.api.del(`${base()}/messages/${m.id}`);
      toast('Message deleted');
      await loadMessages();
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), 'error');
    }
  };

  const load = async (n: string) => {
    number = n;
    try {
      showBox(await ctx.api.get<VoicemailBox>(`${base()}`));
    } catch (e) {
      showApiError(e, [which], general);
      return;
    }
    await loadMessages();
  };

  const form = h(
    'form',
    { class: 'card narrow', novalidate: true, 'aria-label': 'Voicemail settings' },
    heading,
    fields.map((f) => f.wrap),
    general,
    updated,
    canEdit ? h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save voicemail') : null,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!canEdit || !number) return;
    if (showErrors(fields, checkMaxSecs(maxSecs.input.value))) return;
    ctx.api
      .put<VoicemailBox>(base(), { enabled: (enabled.input as HTMLInputElement).checked, max_message_secs: Number(maxSecs.input.value) })
      .then((b) => {
        showBox(b);
        toast(`Voicemail of ${b.number} saved`);
      })
      .catch((e: unknown) => showApiError(e, fields, general));
  });

  const picker = extensionPicker(own, which, (n) => void load(n));

  if (number) void load(number);
  else replace(updated, own ? 'This account has no extension.' : 'Choose an extension.');

  return {
    title: 'Voicemail',
    element: h('section', { class: 'page' }, h('h1', null, 'Voicemail'), picker, form, h('div', { class: 'card' }, listHeading, list)),
    dispose: () => {
      for (const u of urls) URL.revokeObjectURL(u);
    },
  };
}
