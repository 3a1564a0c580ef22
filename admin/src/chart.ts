// Calls per second from the `calls_started` counter of the stats events, and a small SVG
// line chart (attributes only, no inline styles).

export interface RatePoint {
  t: number;
  rate: number;
}

/** Keeps the last `capacity` rates computed from a monotonic counter. */
export class RateSeries {
  private last: { t: number; count: number } | null = null;
  private readonly pts: RatePoint[] = [];

  constructor(readonly capacity = 120) {}

  /** Adds a sample (`t` in ms); the first sample only sets the baseline. */
  push(t: number, count: number): void {
    const prev = this.last;
    this.last = { t, count };
    if (!prev || t <= prev.t) return;
    // A counter that went down means the server restarted: restart from zero.
    const delta = count >= prev.count ? count - prev.count : count;
    this.pts.push({ t, rate: delta / ((t - prev.t) / 1000) });
    if (this.pts.length > this.capacity) this.pts.shift();
  }

  points(): readonly RatePoint[] {
    return this.pts;
  }

  latest(): number {
    return this.pts.at(-1)?.rate ?? 0;
  }
}

const SVG = 'http://www.w3.org/2000/svg';

/** `points` attribute of a polyline for `values` in a `width` x `height` box. */
export function polyline(values: readonly number[], width: number, height: number, capacity: number): string {
  const max = Math.max(1, ...values);
  const step = capacity > 1 ? width / (capacity - 1) : width;
  const start = width - step * (values.length - 1);
  return values
    .map((v, i) => `${(start + i * step).toFixed(1)},${(height - (v / max) * (height - 2) - 1).toFixed(1)}`)
    .join(' ');
}

/** Draws the series into `svg` (replacing what was there). */
export function drawRate(svg: SVGSVGElement, series: RateSeries): void {
  const width = 300;
  const height = 80;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const base = document.createElementNS(SVG, 'line');
  for (const [k, v] of [['x1', '0'], ['x2', String(width)], ['y1', String(height - 1)], ['y2', String(height - 1)], ['class', 'chart-axis']]) {
    base.setAttribute(k as string, v as string);
  }
  svg.appendChild(base);
  const values = series.points().map((p) => p.rate);
  if (values.length < 2) return;
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', polyline(values, width, height, series.capacity));
  line.setAttribute('class', 'chart-line');
  svg.appendChild(line);
}
