// Hash-based routing (`#/extensions`): the server only serves `/`, so no rewrite rules are
// needed anywhere.

export type Route = 'login' | 'overview' | 'extensions' | 'forwarding' | 'voicemail' | 'calls' | 'users' | 'audit' | 'account' | 'docs';

const ROUTES: readonly Route[] = ['login', 'overview', 'extensions', 'forwarding', 'voicemail', 'calls', 'users', 'audit', 'account'];

/** The route named by a location hash; unknown hashes give `null`. */
export function parseHash(hash: string): Route | null {
  const name = hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
  if (name === '') return null;
  return (ROUTES as readonly string[]).includes(name) ? (name as Route) : null;
}

export function navigate(route: Route): void {
  const target = `#/${route}`;
  if (location.hash === target) {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    location.hash = target;
  }
}
