// A Host for tests that build services directly: a clock and timers the test moves by hand, a
// Poller the test fires by hand, a spawn that records requests and ends when told, a spare-fd
// reserve that can be made to run dry, and a logger whose records the test reads. Sockets are
// real (bound on 127.0.0.1 by the real binder).
import pino from 'pino';
import type { HostsFiles } from '../../src/access/gate.js';
import type { DispatchSettings, Host, Peers, TimerHandle, Timers } from '../../src/dispatch/core.js';
import { guardTable } from '../../src/dispatch/dgram-guard.js';
import { Resources, type Reserve } from '../../src/dispatch/resources.js';
import { Streams } from '../../src/dispatch/streams.js';
import type { PollCallback, Poller } from '../../src/native/index.js';
import * as native from '../../src/native/index.js';
import { bindService, closeService } from '../../src/net/listener.js';
import { serviceLog } from '../../src/log/file.js';
import type { HandlerEnd, SpawnRequest } from '../../src/spawn/request.js';

const NO_GUARD = guardTable([], true);

/** The neighbours of a service that stands alone: no tcpmux, no internal datagram services. */
export const NO_PEERS: Peers = {
  datagramGuard: () => NO_GUARD,
  internalUnixSockets: () => new Set(),
  tcpmux: () => undefined,
  tcpmuxNames: () => [],
  handlerStarted: () => {},
  handlerEnded: () => {},
};

/** Timers that fire only when the test says so. */
export class ManualTimers implements Timers {
  private next = 1;
  readonly pending = new Map<number, { at: number; fn: () => void }>();
  constructor(private readonly clock: { now: number }) {}
  set(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    this.pending.set(id, { at: this.clock.now + ms, fn });
    return id as unknown as TimerHandle;
  }
  clear(handle: TimerHandle): void {
    this.pending.delete(handle as unknown as number);
  }
  /** Moves the clock to `ms` later, firing every timer due by then, in order. */
  advance(ms: number): void {
    const end = this.clock.now + ms;
    for (;;) {
      const due = [...this.pending].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.clock.now = due[1].at;
      due[1].fn();
    }
    this.clock.now = end;
  }
}

/** A Poller the test fires; it says whether the service watches. */
export class ManualPoller implements Poller {
  watching = false;
  closed = false;
  constructor(
    readonly fd: number,
    readonly cb: PollCallback,
  ) {}
  start(): void {
    if (this.closed) throw new Error('start after close');
    this.watching = true;
  }
  stop(): void {
    this.watching = false;
  }
  close(): void {
    this.watching = false;
    this.closed = true;
  }
  ref(): void {}
  /** Reports readiness, as the event loop would while the fd is readable and watched. */
  fire(): void {
    if (!this.watching) throw new Error(`fd ${this.fd} is not watched`);
    this.cb(null, 1);
  }
}

/** A spawn the test ends by hand. */
export interface FakeChild {
  pid: number;
  req: SpawnRequest;
  end(end: HandlerEnd): void;
}

/** Everything a test controls and observes of its Host. */
export interface TestHost {
  host: Host;
  clock: { now: number };
  timers: ManualTimers;
  pollers: ManualPoller[];
  children: FakeChild[];
  records: Array<Record<string, unknown> & { msg: string }>;
  /** Makes the next spawns throw this error code (EMFILE, …); one per entry. */
  spawnFailures: string[];
  /** While true, the spare-fd reserve has no descriptor to give. */
  dry: { value: boolean };
  /** The poller of the socket bound last for `fd`. */
  poller(fd: number): ManualPoller;
}

/** A Host for direct tests; settings default to logging nothing extra. */
export function testHost(settings: Partial<DispatchSettings> = {}, hosts: HostsFiles | null = null): TestHost {
  const clock = { now: 1_000_000 };
  const timers = new ManualTimers(clock);
  const records: TestHost['records'] = [];
  const logger = pino({ level: 'debug', base: null }, { write: (s: string) => void records.push(JSON.parse(s) as TestHost['records'][number]) });
  const pollers: ManualPoller[] = [];
  const children: FakeChild[] = [];
  const spawnFailures: string[] = [];
  const dry = { value: false };
  const reserve: Reserve = {
    open: () => {
      if (dry.value) throw Object.assign(new Error('too many open files'), { code: 'EMFILE' });
      return native.socket(native.constants.AF_UNIX, native.constants.SOCK_DGRAM);
    },
    close: (fd) => native.close(fd),
  };
  let nextPid = 1000;
  const full: DispatchSettings = { retryTimeMs: 60_000, logConnections: false, udpLoopback: true, internalIdleMs: 0, internalMax: 0, ...settings };
  const host: Host = {
    logger,
    settings: full,
    hosts,
    resources: new Resources(logger, () => clock.now, timers, reserve),
    streams: new Streams({ idleMs: full.internalIdleMs, max: full.internalMax || 64 }),
    env: { TZ: 'UTC' },
    uid: 4242,
    now: () => clock.now,
    timers,
    poller: (fd, cb) => {
      const p = new ManualPoller(fd, cb);
      pollers.push(p);
      return p;
    },
    bind: (entry, port) => bindService(entry.port === 0 && port > 0 ? { ...entry, port } : entry),
    closeSocket: (entry, fd) => closeService(entry, fd),
    spawn: (req, onEnd) => {
      const code = spawnFailures.shift();
      if (code) throw Object.assign(new Error(`spawn: ${code}`), { cause: Object.assign(new Error(code), { code, syscall: 'pidfd_open' }) });
      let ended = false;
      const child: FakeChild = {
        pid: nextPid++,
        req,
        end: (end) => {
          if (ended) throw new Error('ended twice');
          ended = true;
          onEnd(end);
        },
      };
      children.push(child);
      return child.pid;
    },
    userExists: () => true,
    serviceLog: (file, bindings) => serviceLog(logger, file, bindings),
  };
  return {
    host,
    clock,
    timers,
    pollers,
    children,
    records,
    spawnFailures,
    dry,
    poller: (fd) => [...pollers].reverse().find((p) => p.fd === fd && !p.closed)!,
  };
}
