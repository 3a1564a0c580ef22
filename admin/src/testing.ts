// Test helpers: a scripted fetch for the API client, and a fake EventSource.

import { Api, type TokenStore } from './api';
import type { User } from './types';

export interface Call {
  method: string;
  path: string;
  body: unknown;
  auth: string | null;
}

type Reply = { status: number; body?: unknown } | ((call: Call) => { status: number; body?: unknown });

/** A fetch that answers from a table of `METHOD path` → reply (a list is consumed in order). */
export function scriptedFetch(routes: Record<string, Reply | Reply[]>) {
  const calls: Call[] = [];
  const fetchImpl = async (input: string, init?: RequestInit): Promise<Response> => {
    const method = init?.method ?? 'GET';
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const call: Call = {
      method,
      path: input,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      auth: headers.Authorization ?? null,
    };
    calls.push(call);
    const key = `${method} ${input.split('?')[0]}`;
    let entry = routes[key];
    if (Array.isArray(entry)) entry = entry.length > 1 ? entry.shift() : entry[0];
    if (!entry) return new Response(JSON.stringify({ error: { code: 'not_found', message: `no route ${key}` } }), { status: 404 });
    const reply = typeof entry === 'function' ? entry(call) : entry;
    const body = reply.body === undefined ? null : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    return new Response(reply.status === 204 ? null : body, { status: reply.status, headers: { 'Content-Type': 'application/json' } });
  };
  return { fetchImpl, calls };
}

export function memoryStore(): TokenStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

export const ADMIN: User = {
  id: 1,
  username: 'admin',
  role: 'admin',
  extension: null,
  disabled: false,
  failed_logins: 0,
  locked_until: null,
  created_at: '2024-01-01T00:00:00Z',
  updated_at: '2024-01-01T00:00:00Z',
};

export function tokens(n: number, user: User = ADMIN) {
  return { access_token: `access-${n}`, token_type: 'Bearer', expires_in: 900, refresh_token: `refresh-${n}`, refresh_expires_in: 604800, user };
}

/** An API client logged in as `user` with the given routes. */
export async function loggedIn(routes: Record<string, Reply | Reply[]>, user: User = ADMIN) {
  const f = scriptedFetch({ 'POST /api/v1/auth/login': { status: 200, body: tokens(1, user) }, ...routes });
  const api = new Api(f.fetchImpl, memoryStore());
  await api.login(user.username, 'pw');
  return { api, calls: f.calls };
}

/** A minimal EventSource stand-in that the test drives. */
export class FakeEventSource extends EventTarget {
  static opened: FakeEventSource[] = [];
  onerror: ((ev: Event) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    super();
    FakeEventSource.opened.push(this);
  }
  send(type: string, data: unknown): void {
    this.dispatchEvent(new MessageEvent(type, { data: JSON.stringify(data) }));
  }
  fail(): void {
    this.onerror?.(new Event('error'));
  }
  close(): void {
    this.closed = true;
  }
}

/** Lets pending promises and microtasks run. */
export async function settle(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((r) => setTimeout(r, 0));
}
