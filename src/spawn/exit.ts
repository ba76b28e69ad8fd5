// Reports the end of a natively spawned child, once, from its pidfd: readable means exited, and
// waitid on it reaps the child. It does not start children (spawn.ts does) and never signals them.
import * as native from '../native/index.js';
import type { HandlerEnd } from './request.js';

/** How often to look when the event loop cannot watch the pidfd (a Poller could not be made). */
const SLOW_POLL_MS = 100;

/**
 * Takes ownership of `pidfd`: calls `onEnd` exactly once after the child has ended and been
 * reaped, with the watch and the pidfd already closed. The watch does not keep the process
 * alive: a supervisor that stops leaves its handlers running, as inetd does.
 */
export function watchExit(pidfd: number, onEnd: (end: HandlerEnd) => void): void {
  let poller: native.Poller | null = null;
  let timer: NodeJS.Timeout | null = null;
  let ended = false;

  /** True once the child was reaped and reported. */
  const check = (): boolean => {
    if (ended) return true;
    let status: HandlerEnd | null;
    try {
      const s = native.waitPidfd(pidfd);
      status = s && { code: s.code, signal: s.signal, usage: { utimeUs: s.utimeUs, stimeUs: s.stimeUs, maxRssKb: s.maxRssKb } };
    } catch {
      // ECHILD: someone else reaped it (a waitpid(-1) elsewhere); how it ended is lost.
      status = { code: null, signal: null };
    }
    if (status === null) return false;
    ended = true;
    poller?.close();
    if (timer) clearInterval(timer);
    native.close(pidfd);
    onEnd(status);
    return true;
  };
  const pollSlowly = (): void => {
    poller?.close();
    if (timer) return;
    timer = setInterval(check, SLOW_POLL_MS);
    timer.unref();
  };

  try {
    poller = new native.Poller(pidfd, () => {
      // Readable should mean reapable; if not (or on a poll error), never spin on it.
      if (!check()) pollSlowly();
    });
    poller.ref(false);
    poller.start();
  } catch {
    // ENOMEM or ENOSPC from epoll: the child runs anyway, so keep an eye on it the slow way.
    pollSlowly();
  }
}
