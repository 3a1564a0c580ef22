// Client-side checks with the server's rules, so forms say what is wrong before sending.
// The server checks again and its field errors are shown the same way.

export type Errors = Record<string, string>;

const CONTROL = /[\u0000-\u001f\u007f]/;

export function extensionNumber(v: string): string | null {
  if (v.length < 1 || v.length > 32) return 'Must be 1 to 32 characters.';
  if (!/^[0-9A-Za-z_.+-]+$/.test(v)) return 'Only digits, letters and _ . + - are allowed.';
  return null;
}

export function displayName(v: string): string | null {
  if (v.trim().length === 0 || [...v].length > 64) return 'Must be 1 to 64 characters.';
  if (CONTROL.test(v)) return 'Must not contain control characters.';
  return null;
}

export function sipSecret(v: string): string | null {
  const n = [...v].length;
  if (n < 8 || n > 128) return 'Must be 8 to 128 characters.';
  if (CONTROL.test(v)) return 'Must not contain control characters.';
  return null;
}

export function voicemailPin(v: string): string | null {
  if (v === '') return null;
  return /^[0-9]{4,12}$/.test(v) ? null : 'Must be 4 to 12 digits.';
}

export function maxCalls(v: string): string | null {
  if (v === '') return null;
  return /^[0-9]{1,6}$/.test(v) ? null : 'Must be a whole number (empty for no limit).';
}

export function username(v: string): string | null {
  if (v.length < 1 || v.length > 64) return 'Must be 1 to 64 characters.';
  return /^[A-Za-z0-9._@-]+$/.test(v) ? null : 'Only letters, digits and . _ @ - are allowed.';
}

export function password(v: string, user = ''): string | null {
  const n = [...v].length;
  if (n < 8 || n > 256) return 'Must be 8 to 256 characters.';
  if (CONTROL.test(v)) return 'Must not contain control characters.';
  if (user && v.toLowerCase() === user.toLowerCase()) return 'Must not be the user name.';
  return null;
}

export interface ExtensionForm {
  number: string;
  name: string;
  secret: string;
  voicemail_pin: string;
  max_concurrent_calls: string;
}

/** Checks an extension form; `creating` makes the secret required. */
export function checkExtension(f: ExtensionForm, creating: boolean): Errors {
  const errors: Errors = {};
  const add = (field: string, msg: string | null) => {
    if (msg) errors[field] = msg;
  };
  if (creating) add('number', extensionNumber(f.number));
  add('name', displayName(f.name));
  if (creating || f.secret !== '') add('secret', sipSecret(f.secret));
  add('voicemail_pin', voicemailPin(f.voicemail_pin));
  add('max_concurrent_calls', maxCalls(f.max_concurrent_calls));
  return errors;
}
