import { describe, expect, it, vi } from 'vitest';

import { Api, ApiError, query } from './api';
import { memoryStore, scriptedFetch, tokens } from './testing';

describe('API client', () => {
  it('logs in, sends the bearer token and keeps the refresh token', async () => {
    const store = memoryStore();
    const f = scriptedFetch({
      'POST /api/v1/auth/login': { status: 200, body: tokens(1) },
      'GET /api/v1/me': { status: 200, body: { username: 'admin' } },
    });
    const api = new Api(f.fetchImpl, store);
    const user = await api.login('admin', 'pw');
    expect(user.username).toBe('admin');
    expect(store.data.get('warden.refresh')).toBe('refresh-1');
    await api.get('/api/v1/me');
    expect(f.calls[1]?.auth).toBe('Bearer access-1');
    expect(f.calls[0]?.auth).toBeNull();
  });

  it('refreshes once on an expired token and retries', async () => {
    const f = scriptedFetch({
      'POST /api/v1/auth/login': { status: 200, body: tokens(1) },
      'GET /api/v1/extensions': [
        { status: 401, body: { error: { code: 'token_expired', message: 'expired' } } },
        { status: 200, body: { items: [], total: 0, limit: 100, offset: 0 } },
      ],
      'POST /api/v1/auth/refresh': { status: 200, body: tokens(2) },
    });
    const store = memoryStore();
    const api = new Api(f.fetchImpl, store);
    await api.login('admin', 'pw');
    const page = await api.get<{ total: number }>('/api/v1/extensions');
    expect(page.total).toBe(0);
    const refresh = f.calls.find((c) => c.path === '/api/v1/auth/refresh');
    expect(refresh?.body).toEqual({ refresh_token: 'refresh-1' });
    expect(f.calls.at(-1)?.auth).toBe('Bearer access-2');
    expect(store.data.get('warden.refresh')).toBe('refresh-2');
  });

  it('ends the session when the refresh is refused', async () => {
    const f = scriptedFetch({
      'POST /api/v1/auth/login': { status: 200, body: tokens(1) },
      'GET /api/v1/me': { status: 401, body: { error: { code: 'token_expired', message: 'expired' } } },
      'POST /api/v1/auth/refresh': { status: 401, body: { error: { code: 'invalid_refresh_token', message: 'no' } } },
    });
    const store = memoryStore();
    const api = new Api(f.fetchImpl, store);
    const ended = vi.fn();
    api.onSessionEnd = ended;
    await api.login('admin', 'pw');
    await expect(api.get('/api/v1/me')).rejects.toMatchObject({ status: 401 });
    expect(ended).toHaveBeenCalled();
    expect(api.loggedIn).toBe(false);
    expect(store.data.size).toBe(0);
  });

  it('runs one refresh for concurrent requests', async () => {
    let refreshes = 0;
    const f = scriptedFetch({
      'POST /api/v1/auth/refresh': () => {
        refreshes += 1;
        return { status: 200, body: tokens(2) };
      },
    });
    const store = memoryStore();
    store.setItem('warden.refresh', 'refresh-1');
    const api = new Api(f.fetchImpl, store);
    const [a, b] = await Promise.all([api.refresh(), api.refresh()]);
    expect([a, b, refreshes]).toEqual([true, true, 1]);
    expect(api.user?.username).toBe('admin');
  });

  it('turns error bodies into ApiError with the field', async () => {
    const f = scriptedFetch({
      'POST /api/v1/auth/login': { status: 200, body: tokens(1) },
      'POST /api/v1/extensions': { status: 422, body: { error: { code: 'validation_failed', message: 'must be 1 to 32 characters', field: 'number' } } },
      'GET /api/v1/broken': { status: 500, body: 'not json' },
    });
    const api = new Api(f.fetchImpl, memoryStore());
    await api.login('admin', 'pw');
    const err = await api.post('/api/v1/extensions', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 422, code: 'validation_failed', field: 'number', message: 'must be 1 to 32 characters' });
    await expect(api.get('/api/v1/broken')).rejects.toMatchObject({ status: 500, field: null });
    const down = new Api(() => Promise.reject(new Error('offline')), memoryStore());
    await expect(down.login('a', 'b')).rejects.toMatchObject({ code: 'network' });
  });

  it('builds query strings from the set values', () => {
    expect(query({ search: 'a b', enabled: '', limit: 25, offset: 0, x: undefined, y: null })).toBe('?search=a+b&limit=25&offset=0');
    expect(query({})).toBe('');
  });
});
