// The application shell: session, navigation (by role), the live-events connection, and
// routing between pages.

import { Api } from './api';
import type { Ctx, PageView } from './context';
import { h, replace } from './dom';
import { LiveEvents } from './events';
import { accountPage } from './pages/account';
import { auditPage } from './pages/audit';
import { callsPage } from './pages/calls';
import { extensionsPage } from './pages/extensions';
import { forwardingPage } from './pages/forwarding';
import { loginPage } from './pages/login';
import { overviewPage } from './pages/overview';
import { usersPage } from './pages/users';
import { voicemailPage } from './pages/voicemail';
import { navigate, parseHash, type Route } from './router';
import type { Role, User } from './types';

interface NavItem {
  route: Route;
  label: string;
  roles: readonly Role[];
  page: (ctx: Ctx) => PageView;
}

const STAFF: readonly Role[] = ['admin', 'operator'];
const ALL: readonly Role[] = ['admin', 'operator', 'user'];

export const NAV: readonly NavItem[] = [
  { route: 'overview', label: 'Overview', roles: STAFF, page: overviewPage },
  { route: 'extensions', label: 'Extensions', roles: ALL, page: extensionsPage },
  { route: 'forwarding', label: 'Forwarding', roles: ALL, page: forwardingPage },
  { route: 'voicemail', label: 'Voicemail', roles: ALL, page: voicemailPage },
  { route: 'calls', label: 'Calls', roles: ALL, page: callsPage },
  { route: 'users', label: 'Users', roles: ['admin'], page: usersPage },
  { route: 'audit', label: 'Audit log', roles: ['admin'], page: auditPage },
  { route: 'account', label: 'Account', roles: ALL, page: accountPage },
];

/** The pages a role may open, in menu order. */
export function navFor(role: Role): NavItem[] {
  return NAV.filter((n) => n.roles.includes(role));
}

/** The page to show for a route and role (the first allowed one when not allowed). */
export function resolve(route: Route | null, role: Role): NavItem {
  const allowed = navFor(role);
  const fallback = allowed[0] ?? NAV[NAV.length - 1]!;
  return allowed.find((n) => n.route === route) ?? fallback;
}

export class App {
  readonly api = new Api();
  readonly live = new LiveEvents(this.api);
  private current: PageView | null = null;
  private statusOff: () => void = () => undefined;

  constructor(private readonly root: HTMLElement) {
    this.api.onSessionEnd = () => this.showLogin();
    window.addEventListener('hashchange', () => this.route());
  }

  async start(): Promise<void> {
    if (await this.api.resume()) this.route();
    else this.showLogin();
  }

  private showLogin(): void {
    this.live.stop();
    this.current?.dispose?.();
    this.current = null;
    document.title = 'Log in · Warden';
    replace(
      this.root,
      loginPage(this.api, () => {
        const target = parseHash(location.hash);
        if (target === null || target === 'login') navigate(resolve(null, this.api.user?.role ?? 'user').route);
        else this.route();
      }),
    );
  }

  private route(): void {
    const user = this.api.user;
    if (!user) {
      this.showLogin();
      return;
    }
    const wanted = parseHash(location.hash);
    const item = resolve(wanted, user.role);
    if (wanted !== item.route) {
      navigate(item.route);
      return;
    }
    if (user.role !== 'user') this.live.start();
    this.current?.dispose?.();
    const ctx: Ctx = { api: this.api, live: this.live, user, go: navigate };
    const view = item.page(ctx);
    this.current = view;
    document.title = `${view.title} · Warden`;
    replace(this.root, this.shell(user, item.route), h('main', { id: 'main', tabindex: '-1' }, view.element));
  }

  private shell(user: User, active: Route): HTMLElement {
    const status = h('span', { class: 'live-status', role: 'status', 'aria-live': 'polite' });
    this.statusOff();
    this.statusOff = () => undefined;
    if (user.role !== 'user') {
      this.statusOff = this.live.on('status', (s) => {
        status.textContent = s === 'live' ? 'live' : s === 'connecting' ? 'connecting…' : 'offline';
        status.className = `live-status live-${s}`;
      });
    }
    const links = navFor(user.role).map((n) =>
      h('li', null, h('a', { href: `#/${n.route}`, 'aria-current': n.route === active ? 'page' : undefined }, n.label)),
    );
    return h(
      'header',
      { class: 'topbar' },
      h('a', { class: 'brand', href: '#/' }, 'Warden'),
      h('nav', { 'aria-label': 'Main' }, h('ul', null, links, h('li', null, h('a', { href: '/api/docs/' }, 'API docs')))),
      h(
        'div',
        { class: 'who' },
        status,
        h('span', { class: 'muted' }, `${user.username} (${user.role})`),
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-secondary btn-small',
            onclick: () => {
              void this.api.logout().then(() => this.showLogin());
            },
          },
          'Log out',
        ),
      ),
    );
  }
}
