import { describe, expect, it } from 'vitest';

import { disposition, duration, localInputToIso, num, uptime } from './format';

describe('formatting', () => {
  it('formats durations', () => {
    expect(duration(0)).toBe('0:00');
    expect(duration(65_400)).toBe('1:05');
    expect(duration(3_723_000)).toBe('1:02:03');
    expect(duration(-5)).toBe('0:00');
  });

  it('formats uptimes and numbers', () => {
    expect(uptime(5)).toBe('5s');
    expect(uptime(125)).toBe('2m 5s');
    expect(uptime(3 * 3600 + 60)).toBe('3h 1m');
    expect(uptime(2 * 86400 + 7200)).toBe('2d 2h');
    expect(num(2.5)).toBe('2.5');
    expect(num(3)).toBe('3');
    expect(num(0.1234, 2)).toBe('0.12');
    expect(num(Number.NaN)).toBe('—');
    expect(disposition('no_answer')).toBe('no answer');
  });

  it('turns datetime-local values into RFC 3339', () => {
    expect(localInputToIso('')).toBe('');
    expect(localInputToIso('nonsense')).toBe('');
    const iso = localInputToIso('2024-05-01T10:30');
    expect(new Date(iso).getTime()).toBe(new Date('2024-05-01T10:30').getTime());
    expect(iso.endsWith('Z')).toBe(true);
  });
});
