// What every page gets, and what it gives back.

import type { Api } from './api';
import type { LiveEvents } from './events';
import type { Route } from './router';
import type { User } from './types';

export interface Ctx {
  api: Api;
  live: LiveEvents;
  user: User;
  go: (route: Route) => void;
}

export interface PageView {
  title: string;
  element: HTMLElement;
  /** Stops timers and live subscriptions when the page is left. */
  dispose?: () => void;
}

/** Runs `fn` at most once per `ms` (trailing call kept). */
export function throttle(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending = false;
  return () => {
    if (timer) {
      pending = true;
      return;
    }
    fn();
    timer = setTimeout(function tick() {
      timer = null;
      if (pending) {
        pending = false;
        fn();
        timer = setTimeout(tick, ms);
      }
    }, ms);
  };
}
