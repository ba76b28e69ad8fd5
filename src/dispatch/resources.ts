// The daemon-wide out-of-resources episode. File descriptors, memory and processes belong to the
// whole supervisor, so when an accept or a spawn fails for want of one, every service stops
// accepting (level-triggered readiness would otherwise spin), one record says so, and one more
// says when they are back. Connections wait in the kernel's backlog meanwhile; none is accepted
// only to be dropped.
//
// A spare descriptor is held while all is well. When a spawn fails with EMFILE after its
// connection was accepted (the accept took the last fd, the handler's pidfd needs one more), the
// spare is given up so that one retry serves the client; the episode then starts. Resources are
// back when two descriptors can be opened again (the spare, and room for the next accept).
import type { Logger } from '../log/logger.js';
import type { TimerHandle, Timers } from './core.js';

/** Error codes that mean "out of resources": stop accepting for a while instead of spinning. */
export const RESOURCE_ERRORS: ReadonlySet<string> = new Set(['EAGAIN', 'EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

/**
 * How long an episode lasts at least, and how often to look whether resources are back after
 * that (besides each time something is released). Ending an episode as soon as two descriptors
 * are free would let the next accept burst start another one at once.
 */
export const PROBE_MS = 1000;

/** Opens and closes the spare descriptor (/dev/null in the daemon). */
export interface Reserve {
  /** Opens one descriptor; throws when none is left. */
  open(): number;
  close(fd: number): void;
}

type State =
  /** Accepting; `spare` is held for the spawn that needs it (-1 when it could not be opened). */
  | { kind: 'ok'; spare: number }
  | { kind: 'exhausted'; code: string; since: number; timer: TimerHandle }
  | { kind: 'closed' };

/** Whether the supervisor has the resources to accept, and the episode when it has not. */
export class Resources {
  private state: State;
  /** Told when an episode starts or ends (the services, which then settle). */
  private readonly watchers = new Set<() => void>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly timers: Timers,
    private readonly reserve: Reserve,
  ) {
    this.state = { kind: 'ok', spare: this.tryOpen() };
  }

  /** Calls `fn` whenever an episode starts or ends, until unwatch(fn). */
  watch(fn: () => void): void {
    this.watchers.add(fn);
  }

  unwatch(fn: () => void): void {
    this.watchers.delete(fn);
  }

  private changed(): void {
    for (const fn of [...this.watchers]) fn();
  }

  /** True during an episode: nobody accepts. */
  get exhausted(): boolean {
    return this.state.kind === 'exhausted';
  }

  /**
   * An accept or spawn failed with `err`: starts the episode (logged once) if it is about
   * resources. Returns true when that freed the spare descriptor, so one retry of a call that
   * needed a descriptor can succeed.
   */
  ranOut(err: NodeJS.ErrnoException): boolean {
    const code = err.code ?? '';
    if (!RESOURCE_ERRORS.has(code) || this.state.kind !== 'ok') return false;
    const freed = this.state.spare >= 0;
    if (freed) this.reserve.close(this.state.spare);
    this.state = { kind: 'exhausted', code, since: this.now(), timer: this.timers.set(() => this.probe(), PROBE_MS) };
    this.log.error({ err: { code, message: err.message } }, `out of resources (${code}): not accepting until they are back`);
    this.changed();
    return freed && (code === 'EMFILE' || code === 'ENFILE');
  }

  /** Something was given back (a handler ended, a connection closed): look now, not at the next probe. */
  released(): void {
    if (this.state.kind === 'exhausted' && this.now() - this.state.since >= PROBE_MS) this.probe();
  }

  /** Ends the episode when two descriptors can be had: the spare, and room for one more accept. */
  private probe(): void {
    const s = this.state;
    if (s.kind !== 'exhausted') return;
    const spare = this.tryOpen();
    const room = spare >= 0 ? this.tryOpen() : -1;
    if (room < 0) {
      if (spare >= 0) this.reserve.close(spare);
      this.timers.clear(s.timer);
      s.timer = this.timers.set(() => this.probe(), PROBE_MS);
      return;
    }
    this.reserve.close(room);
    this.timers.clear(s.timer);
    this.state = { kind: 'ok', spare };
    this.log.info({ ms: this.now() - s.since }, `resources are back (${s.code}): accepting again`);
    this.changed();
  }

  private tryOpen(): number {
    try {
      return this.reserve.open();
    } catch {
      return -1;
    }
  }

  /** Stops probing and gives the spare back (daemon stop). */
  close(): void {
    const s = this.state;
    if (s.kind === 'exhausted') this.timers.clear(s.timer);
    if (s.kind === 'ok' && s.spare >= 0) this.reserve.close(s.spare);
    this.state = { kind: 'closed' };
  }
}
