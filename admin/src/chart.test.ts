import { describe, expect, it } from 'vitest';

import { drawRate, polyline, RateSeries } from './chart';

describe('calls per second', () => {
  it('derives rates from the counter', () => {
    const s = new RateSeries(3);
    s.push(0, 10);
    expect(s.points()).toHaveLength(0);
    s.push(1000, 13);
    s.push(3000, 17);
    expect(s.points().map((p) => p.rate)).toEqual([3, 2]);
    expect(s.latest()).toBe(2);
    // A restarted server resets the counter.
    s.push(4000, 1);
    s.push(5000, 1);
    expect(s.points().map((p) => p.rate)).toEqual([2, 1, 0]);
    // Out-of-order samples are ignored.
    s.push(4500, 9);
    expect(s.points()).toHaveLength(3);
  });

  it('scales the line into the box', () => {
    expect(polyline([0, 5, 10], 100, 50, 3)).toBe('0.0,49.0 50.0,25.0 100.0,1.0');
    // A short series sits at the right edge.
    expect(polyline([1, 1], 100, 50, 5)).toBe('75.0,1.0 100.0,1.0');
  });

  it('draws into an svg without inline styles', () => {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    const s = new RateSeries(10);
    s.push(0, 0);
    s.push(1000, 2);
    s.push(2000, 3);
    drawRate(svg, s);
    const line = svg.querySelector('polyline');
    expect(line?.getAttribute('points')).toBeTruthy();
    expect(svg.innerHTML).not.toContain('style=');
  });
});
