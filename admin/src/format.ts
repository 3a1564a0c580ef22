// Formatting of durations, times and numbers for display.

/** `m:ss` or `h:mm:ss`. */
export function duration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A timestamp in the browser's locale. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Seconds as `3d 4h`, `4h 5m`, `5m 6s` or `6s`. */
export function uptime(secs: number): string {
  const d = Math.floor(secs / 86400);
  const h = Math.floor((secs % 86400) / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = Math.floor(secs % 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** A number with at most `digits` decimals. */
export function num(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits).replace(/\.0+$/, '') : '—';
}

/** The value of an `<input type="datetime-local">` as RFC 3339 (UTC), or '' when empty. */
export function localInputToIso(v: string): string {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** Human label of a call disposition. */
export function disposition(d: string): string {
  return d.replace('_', ' ');
}
