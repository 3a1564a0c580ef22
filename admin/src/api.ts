// The API client: JSON requests with the access token, one transparent refresh (rotating
// refresh token) when the access token has expired, and the API's error body as ApiError.

import type { TokenResponse, User } from './types';

/** An error answered by the API (`{"error": {"code", "message", "field"}}`) or the network. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Where the refresh token is kept between page loads (per browser tab). */
export interface TokenStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const REFRESH_KEY = 'warden.refresh';

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export class Api {
  private access: string | null = null;
  private refreshing: Promise<boolean> | null = null;
  user: User | null = null;
  /** Called when the session is over (refresh refused): the app shows the login page. */
  onSessionEnd: () => void = () => {};

  constructor(
    private readonly fetchImpl: Fetch = (i, init) => fetch(i, init),
    private readonly store: TokenStore = sessionStorage,
  ) {}

  get accessToken(): string | null {
    return this.access;
  }

  get loggedIn(): boolean {
    return this.user !== null;
  }

  async login(username: string, password: string): Promise<User> {
    const tokens = await this.call<TokenResponse>('POST', '/api/v1/auth/login', { username, password }, false);
    return this.adopt(tokens);
  }

  /** Resumes a session from the stored refresh token; false when there is none or it expired. */
  async resume(): Promise<boolean> {
    if (!this.store.getItem(REFRESH_KEY)) return false;
    return this.refresh();
  }

  async logout(): Promise<void> {
    const token = this.store.getItem(REFRESH_KEY);
    this.clear();
    if (token) {
      await this.call('POST', '/api/v1/auth/logout', { refresh_token: token }, false).catch(() => undefined);
    }
  }

  /** Exchanges the refresh token (once at a time); false when the session is over. */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const token = this.store.getItem(REFRESH_KEY);
    if (!token) return false;
    try {
      const tokens = await this.call<TokenResponse>('POST', '/api/v1/auth/refresh', { refresh_token: token }, false);
      this.adopt(tokens);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        this.clear();
        this.onSessionEnd();
      }
      return false;
    }
  }

  private adopt(tokens: TokenResponse): User {
    this.access = tokens.access_token;
    this.user = tokens.user;
    this.store.setItem(REFRESH_KEY, tokens.refresh_token);
    return tokens.user;
  }

  private clear(): void {
    this.access = null;
    this.user = null;
    this.store.removeItem(REFRESH_KEY);
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }
  put<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('PUT', path, body);
  }
  patch<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>('PATCH', path, body);
  }
  del<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }

  /** Fetches a file (e.g. the CSV export) with the access token. */
  async download(path: string): Promise<Blob> {
    const res = await this.send('GET', path, undefined, true);
    return res.blob();
  }

  private async call<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    const res = await this.send(method, path, body, auth);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async send(method: string, path: string, body: unknown, auth: boolean, retry = true): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth && this.access) headers.Authorization = `Bearer ${this.access}`;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    let res: Response;
    try {
      res = await this.fetchImpl(path, init);
    } catch {
      throw new ApiError(0, 'network', 'Cannot reach the server.');
    }
    if (res.ok) return res;
    const err = await toError(res);
    if (auth && retry && res.status === 401 && (await this.refresh())) {
      return this.send(method, path, body, auth, false);
    }
    if (auth && res.status === 401) {
      this.clear();
      this.onSessionEnd();
    }
    throw err;
  }
}

async function toError(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; field?: string } };
    const e = body.error ?? {};
    return new ApiError(res.status, e.code ?? 'error', e.message ?? res.statusText, e.field ?? null);
  } catch {
    return new ApiError(res.status, 'error', res.statusText || `HTTP ${res.status}`);
  }
}

/** Builds a query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
