import { describe, expect, it } from 'vitest';

import { checkExtension, displayName, extensionNumber, maxCalls, password, sipSecret, username, voicemailPin } from './validate';

describe('extension rules (same as the server)', () => {
  it('accepts SIP-safe numbers only', () => {
    expect(extensionNumber('1001')).toBeNull();
    expect(extensionNumber('sales.desk+1_a-b')).toBeNull();
    expect(extensionNumber('')).toMatch(/1 to 32/);
    expect(extensionNumber('x'.repeat(33))).toMatch(/1 to 32/);
    expect(extensionNumber('10 01')).toMatch(/Only digits/);
    expect(extensionNumber('10@01')).toMatch(/Only digits/);
  });

  it('checks names, secrets, PINs and limits', () => {
    expect(displayName('Alice')).toBeNull();
    expect(displayName('   ')).not.toBeNull();
    expect(displayName('a\u0007b')).toMatch(/control/);
    expect(sipSecret('12345678')).toBeNull();
    expect(sipSecret('1234567')).toMatch(/8 to 128/);
    expect(voicemailPin('')).toBeNull();
    expect(voicemailPin('1234')).toBeNull();
    expect(voicemailPin('12a4')).toMatch(/digits/);
    expect(maxCalls('')).toBeNull();
    expect(maxCalls('4')).toBeNull();
    expect(maxCalls('-1')).not.toBeNull();
  });

  it('requires the secret only when creating', () => {
    const form = { number: '1003', name: 'Carol', secret: '', voicemail_pin: '', max_concurrent_calls: '' };
    expect(checkExtension(form, true)).toEqual({ secret: 'Must be 8 to 128 characters.' });
    expect(checkExtension(form, false)).toEqual({});
    expect(Object.keys(checkExtension({ ...form, number: 'a b', name: '', voicemail_pin: '1' }, true)).sort()).toEqual([
      'name',
      'number',
      'secret',
      'voicemail_pin',
    ]);
  });

  it('checks accounts', () => {
    expect(username('ops.team@site')).toBeNull();
    expect(username('a b')).not.toBeNull();
    expect(password('long enough')).toBeNull();
    expect(password('short')).toMatch(/8 to 256/);
    expect(password('Operator1', 'operator1')).toMatch(/user name/);
  });
});
