import { describe, expect, it } from 'vitest';

import { navFor, resolve } from './app';
import { parseHash } from './router';

describe('navigation', () => {
  it('parses hashes', () => {
    expect(parseHash('#/extensions')).toBe('extensions');
    expect(parseHash('#/calls?x=1')).toBe('calls');
    expect(parseHash('')).toBeNull();
    expect(parseHash('#/nope')).toBeNull();
  });

  it('shows each role its pages', () => {
    expect(navFor('admin').map((n) => n.route)).toEqual(['overview', 'extensions', 'forwarding', 'voicemail', 'calls', 'users', 'audit', 'account']);
    expect(navFor('operator').map((n) => n.route)).toEqual(['overview', 'extensions', 'forwarding', 'voicemail', 'calls', 'account']);
    expect(navFor('user').map((n) => n.route)).toEqual(['extensions', 'forwarding', 'voicemail', 'calls', 'account']);
  });

  it('sends a role away from pages it may not open', () => {
    expect(resolve('users', 'operator').route).toBe('overview');
    expect(resolve('overview', 'user').route).toBe('extensions');
    expect(resolve(null, 'admin').route).toBe('overview');
    expect(resolve('audit', 'admin').route).toBe('audit');
  });
});
