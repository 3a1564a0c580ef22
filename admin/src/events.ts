// The live-events stream (server-sent events): one connection for the app, shared by the
// pages. The access token goes in the query string (EventSource cannot send headers); when
// the stream fails or the token's lifetime ends, the token is refreshed and the stream
// reopened, with a growing delay while the server is unreachable.

import type { Api } from './api';
import type { CallLifecycleEvent, LiveCall, RegistrationEvent, StatsEvent } from './types';

export interface EventMap {
  stats: StatsEvent;
  calls: { calls: LiveCall[] };
  call: CallLifecycleEvent;
  registration: RegistrationEvent;
  status: 'connecting' | 'live' | 'offline';
}

type Listener<K extends keyof EventMap> = (data: EventMap[K]) => void;

/** What the stream needs from the browser (replaced in tests). */
export type EventSourceFactory = (url: string) => EventSource;

export class LiveEvents {
  private source: EventSource | null = null;
  private readonly listeners: { [K in keyof EventMap]: Set<Listener<K>> } = {
    stats: new Set(),
    calls: new Set(),
    call: new Set(),
    registration: new Set(),
    status: new Set(),
  };
  private status: EventMap['status'] = 'offline';
  private delay = 1000;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;

  constructor(
    private readonly api: Api,
    private readonly open: EventSourceFactory = (url) => new EventSource(url),
  ) {}

  /** Subscribes; a `status` listener is told the current status at once. */
  on<K extends keyof EventMap>(kind: K, fn: Listener<K>): () => void {
    this.listeners[kind].add(fn);
    if (kind === 'status') (fn as Listener<'status'>)(this.status);
    return () => this.listeners[kind].delete(fn);
  }

  private emit<K extends keyof EventMap>(kind: K, data: EventMap[K]): void {
    if (kind === 'status') this.status = data as EventMap['status'];
    for (const fn of this.listeners[kind]) fn(data);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.source?.close();
    this.source = null;
    this.emit('status', 'offline');
  }

  private connect(): void {
    const token = this.api.accessToken;
    if (this.stopped || !token) return;
    this.emit('status', 'connecting');
    const src = this.open(`/api/v1/events?access_token=${encodeURIComponent(token)}`);
    this.source = src;
    const json = <K extends keyof EventMap>(kind: K) => (ev: Event) => {
      try {
        this.emit(kind, JSON.parse((ev as MessageEvent<string>).data) as EventMap[K]);
      } catch {
        // A malformed event is skipped.
      }
    };
    src.addEventListener('hello', () => {
      this.delay = 1000;
      this.emit('status', 'live');
    });
    src.addEventListener('stats', json('stats'));
    src.addEventListener('calls', json('calls'));
    src.addEventListener('call', json('call'));
    src.addEventListener('registration', json('registration'));
    src.addEventListener('expired', () => this.reconnect(0));
    src.onerror = () => this.reconnect(this.delay);
  }

  private reconnect(after: number): void {
    this.source?.close();
    this.source = null;
    if (this.stopped) return;
    this.emit('status', after > 0 ? 'offline' : 'connecting');
    this.delay = Math.min(this.delay * 2, 30_000);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.api.refresh().then((ok) => {
        if (ok) this.connect();
        else if (!this.stopped) this.reconnect(this.delay);
      });
    }, after);
  }
}
