// `redirect ADDRESS PORT` services (xinetd's `redirect`): the supervisor connects to the target
// and relays the client's connection to it, both ways, with splice(2) through one pipe per
// direction, so the bytes stay in the kernel. Backpressure: a direction reads its source only
// while its pipe has room, and the pipe drains only as fast as the destination takes it, so a
// slow side closes the TCP window of the fast one. Half-close: when one side ends its sending,
// the other side's sending is shut down once the pipe is empty, and the other direction goes on.
// The connection holds its slot (it counts against `instances` and `per_source`) until both
// directions have ended, or an error or the connect timeout ends them at once. It does not
// decide admission (admission.ts) and does not resolve names (the target is an address).
import type { ClientAddress } from '../addr/client.js';
import * as native from '../native/index.js';
import type { NativeError, Poller, RelayPipe } from '../native/index.js';
import type { ServiceCore, TimerHandle } from './core.js';
import type { Slot } from './slot.js';

/** How long the target may take to accept the connection. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Calls per direction per readiness event before yielding to the event loop. */
const MOVES_PER_EVENT = 64;

/** One direction: from `src` through `pipe` to `dst`. */
interface Direction {
  readonly src: number;
  readonly dst: number;
  readonly pipe: RelayPipe;
  /** Bytes in the pipe now. */
  queued: number;
  /** Bytes relayed so far. */
  bytes: number;
  /** The source ended its sending. */
  eof: boolean;
  /** The destination's sending side was shut down: this direction is over. */
  done: boolean;
  /** What the direction waits for, if it could not move. */
  wantRead: boolean;
  wantWrite: boolean;
}

/** The relay of one connection. */
class Relay {
  private readonly up: Direction;
  private readonly down: Direction;
  private readonly pollers = new Map<number, Poller>();
  private closed = false;

  constructor(
    private readonly svc: ServiceCore,
    private readonly client: number,
    private readonly target: number,
    private readonly slot: Slot,
    private readonly peer: string,
    private readonly t0: number,
  ) {
    const [up, down] = pipes();
    this.up = direction(client, target, up);
    this.down = direction(target, client, down);
    for (const fd of [client, target]) this.pollers.set(fd, svc.host.poller(fd, (err) => this.onReady(err)));
    this.pump();
  }

  private onReady(err: NativeError | null): void {
    if (err) return this.end(err);
    this.pump();
  }

  /** Moves what can move in both directions, then watches for what each waits on. */
  private pump(): void {
    try {
      step(this.up);
      step(this.down);
    } catch (err) {
      return this.end(err as NativeError);
    }
    if (this.up.done && this.down.done) return this.end(null);
    this.watch();
  }

  /** Each socket is watched for reading when its outgoing direction waits to read, for writing when its incoming one waits to write. */
  private watch(): void {
    const C = native.constants;
    for (const [fd, poller] of this.pollers) {
      const out = fd === this.client ? this.up : this.down;
      const inc = fd === this.client ? this.down : this.up;
      const events = (out.wantRead ? C.UV_READABLE : 0) | (inc.wantWrite ? C.UV_WRITABLE : 0);
      if (events) poller.start(events);
      else poller.stop();
    }
  }

  /** Ends the relay: closes both sockets and pipes, gives the slot back, and logs. */
  end(err: NativeError | null): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pollers.values()) p.close();
    for (const fd of [this.client, this.target, this.up.pipe.read, this.up.pipe.write, this.down.pipe.read, this.down.pipe.write]) native.close(fd);
    this.slot.release();
    const fields = { peer: this.peer, ms: this.svc.host.now() - this.t0, bytesIn: this.up.bytes, bytesOut: this.down.bytes };
    if (err) this.svc.log.info({ ...fields, err: { code: err.code, message: err.message } }, 'redirect ended by an error');
    else if (this.svc.host.settings.logConnections || this.svc.plan.log?.onSuccess.length) this.svc.log.info(fields, 'redirect');
  }
}

/** Two relay pipes, or none: the first is closed again when the second cannot be had. */
function pipes(): [RelayPipe, RelayPipe] {
  const first = native.pipe();
  try {
    return [first, native.pipe()];
  } catch (err) {
    native.close(first.read);
    native.close(first.write);
    throw err;
  }
}

/** A direction through its own pipe. */
function direction(src: number, dst: number, pipe: RelayPipe): Direction {
  return { src, dst, pipe, queued: 0, bytes: 0, eof: false, done: false, wantRead: false, wantWrite: false };
}

/** Moves a direction's bytes as far as it can without blocking; throws the socket's error. */
function step(d: Direction): void {
  for (let i = 0; i < MOVES_PER_EVENT; i++) {
    if (d.done) return;
    let read: 'again' | 'moved' | 'skip' = 'skip';
    let write: 'again' | 'moved' | 'skip' = 'skip';
    if (!d.eof && d.queued < d.pipe.size) {
      const n = native.splice(d.src, d.pipe.write, d.pipe.size - d.queued);
      if (n === null) read = 'again';
      else if (n === 0) d.eof = true;
      else {
        d.queued += n;
        read = 'moved';
      }
    }
    if (d.queued > 0) {
      const n = native.splice(d.pipe.read, d.dst, d.queued);
      if (n === null || n === 0) write = 'again';
      else {
        d.queued -= n;
        d.bytes += n;
        write = 'moved';
      }
    }
    if (d.eof && d.queued === 0) {
      // Half-close: the destination learns the source has finished; its own sending goes on.
      native.shutdown(d.dst, native.constants.SHUT_WR);
      d.done = true;
      d.wantRead = d.wantWrite = false;
      return;
    }
    if (read !== 'moved' && write !== 'moved') {
      // Nothing moved: wait for what blocked. A full pipe reads nothing more (backpressure).
      d.wantRead = read === 'again';
      d.wantWrite = write === 'again';
      return;
    }
  }
  // Out of moves for this event with work left; readiness is level-triggered, so it comes back.
  d.wantRead = !d.eof && d.queued < d.pipe.size;
  d.wantWrite = d.queued > 0;
}

/** Connects to the service's target and relays `fd` to it; the slot is held until the relay ends. */
export function serveRedirect(svc: ServiceCore, fd: number, client: ClientAddress, slot: Slot): void {
  const target = svc.plan.entry.redirect!;
  const C = native.constants;
  const t0 = svc.host.now();
  let sock = -1;
  const fail = (err: { code?: string; message: string }): void => {
    svc.log.error({ peer: client.text, err: { code: err.code, message: err.message } }, `redirect to ${target.host} port ${target.port} failed`);
    if (sock >= 0) native.close(sock);
    native.close(fd);
    slot.release();
  };
  try {
    sock = native.socket(target.host.includes(':') ? C.AF_INET6 : C.AF_INET, C.SOCK_STREAM);
    native.connect(sock, target.host, target.port);
  } catch (err) {
    const e = err as NativeError;
    if (e.code !== 'EINPROGRESS') {
      svc.host.resources.ranOut(e);
      return fail(e);
    }
  }
  // The connect finishes when the socket is writable; the timer ends a connect that never does.
  let timer: TimerHandle | null = null;
  const poller = svc.host.poller(sock, (err) => {
    svc.host.timers.clear(timer!);
    poller.close();
    // A failed connect shows as POLLERR, which libuv reports as EBADF: SO_ERROR has the real cause.
    let soError: number;
    try {
      soError = native.getsockopt(sock, C.SOL_SOCKET, C.SO_ERROR);
    } catch (e) {
      return fail(e as NativeError);
    }
    if (soError === 0 && err) return fail(err);
    if (soError !== 0) return fail({ code: `errno ${soError}`, message: `connect: ${errnoText(soError)}` });
    try {
      new Relay(svc, fd, sock, slot, client.text, t0);
    } catch (e) {
      // Out of descriptors for the pipes: the daemon-wide episode starts, as for an accept.
      svc.host.resources.ranOut(e as NativeError);
      fail(e as NativeError);
    }
  });
  timer = svc.host.timers.set(() => {
    poller.close();
    fail({ code: 'ETIMEDOUT', message: `connect: no answer in ${CONNECT_TIMEOUT_MS / 1000} s` });
  }, CONNECT_TIMEOUT_MS);
  poller.start(C.UV_WRITABLE);
}

/** Common connect errors by number, for the log; others by number. */
const ERRNO_TEXT: Readonly<Record<number, string>> = { 110: 'connection timed out', 111: 'connection refused', 113: 'no route to host', 101: 'network is unreachable' };

function errnoText(n: number): string {
  return ERRNO_TEXT[n] ?? `error ${n}`;
}
