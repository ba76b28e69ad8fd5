// One live service: its socket, its watcher, and what happens when the socket is readable —
// accept and start a handler (nowait), hand the socket itself to a handler (wait), or answer
// in-process (internal). Limits (max children, spawn rate, resource back-off) decide when the
// socket is watched. It does not parse, bind or reload; the daemon does.
import { Socket } from 'node:net';
import type { ServiceEntry } from '../config/types.js';
import { BUILTINS } from '../builtins/table.js';
import type { Logger } from '../log/logger.js';
import { peerString } from '../log/logger.js';
import * as native from '../net/native.js';
import type { SockAddr } from '../net/native.js';
import { closeService } from '../net/listener.js';
import { handlerEnv } from '../spawn/env.js';
import { spawnHandler, type HandlerEnd } from '../spawn/spawn.js';
import { RateGuard } from './rate.js';
import { badDatagramSource } from './dgram-guard.js';

/** Connections accepted (or datagrams read) per readiness event before yielding to the loop. */
const BURST = 32;
/** How long to stop watching after the process or system ran out of fds or memory. */
const RESOURCE_BACKOFF_MS = 1000;
/** Errors that mean "out of resources": stop watching for a while instead of spinning. */
const RESOURCE_ERRORS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);
/** Largest datagram an internal service reads. */
const DGRAM_MAX = 65536;

/** Daemon-wide values a service consults at dispatch time. */
export interface DispatchSettings {
  /** Spawns per minute before suspension when the entry sets none; 0 = no guard. */
  rate: number;
  /** Children per service when the entry sets none; 0 = unlimited. */
  maxChildren: number;
  /** How long a suspended service stays suspended. */
  retryTimeMs: number;
  /** Log one record per connection. */
  logConnections: boolean;
  /** Answer internal UDP services from loopback sources. */
  udpLoopback: boolean;
}

/** What a service needs from the daemon that owns it. */
export interface DispatchContext {
  logger: Logger;
  settings: DispatchSettings;
  /** Ports of every internal UDP service, for the reflection-loop check. */
  internalUdpPorts(): ReadonlySet<number>;
}

/** Counters reported in the state dump. */
export interface ServiceCounters {
  connections: number;
  spawns: number;
  spawnErrors: number;
  suspensions: number;
  drops: number;
}

/** A bound service and the rules for watching it. */
export class Service {
  readonly counters: ServiceCounters = { connections: 0, spawns: 0, spawnErrors: 0, suspensions: 0, drops: 0 };
  /** Handlers (and internal connections) running now. */
  children = 0;
  private readonly poller: native.Poller;
  private watching = false;
  private closed = false;
  /** A wait handler holds the socket. */
  private busyPid = 0;
  private suspendedUntil = 0;
  private backingOff = false;
  private timer: NodeJS.Timeout | undefined;
  private guard: RateGuard;
  private readonly log: Logger;
  private dgramBuf: Buffer | undefined;

  constructor(
    public entry: ServiceEntry,
    readonly fd: number,
    private readonly ctx: DispatchContext,
    /** Passed by the service manager: its socket file is not ours to remove. */
    private readonly inherited = false,
  ) {
    this.guard = new RateGuard(entry.rate || ctx.settings.rate);
    this.log = ctx.logger.child({ service: entry.service, proto: entry.protocol });
    this.poller = new native.Poller(fd, (err) => this.onReadable(err));
  }

  /** Starts watching the socket. */
  start(): void {
    this.sync();
  }

  /** Takes new attributes (args, user, limits) for the next dispatch; the socket stays. */
  update(entry: ServiceEntry): void {
    const rate = entry.rate || this.ctx.settings.rate;
    if (rate !== (this.entry.rate || this.ctx.settings.rate)) this.guard = new RateGuard(rate);
    this.entry = entry;
    this.sync();
  }

  /** Stops watching and closes the socket; running handlers run on. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.poller.close();
    if (this.inherited) native.close(this.fd);
    else closeService(this.entry, this.fd);
  }

  /** Where the service stands, for logs and the state dump. */
  state(): string {
    if (this.closed) return 'closed';
    if (this.suspendedUntil) return 'suspended';
    if (this.backingOff) return 'backoff';
    if (this.busyPid) return 'busy';
    if (this.atCapacity()) return 'full';
    return 'listening';
  }

  private maxChildren(): number {
    return this.entry.maxChild || this.ctx.settings.maxChildren;
  }

  private atCapacity(): boolean {
    const max = this.maxChildren();
    return max > 0 && this.children >= max;
  }

  /** Watches the socket exactly when nothing holds it back. */
  private sync(): void {
    const want = this.state() === 'listening';
    if (want === this.watching) return;
    this.watching = want;
    if (want) this.poller.start();
    else this.poller.stop();
  }

  private onReadable(err: Error | null): void {
    if (this.closed) return;
    if (err) {
      this.log.error({ err }, 'poll failed');
      return this.backOff(err as NodeJS.ErrnoException);
    }
    const e = this.entry;
    if (e.server === 'internal' && e.socketType === 'dgram') return this.serveDatagrams();
    // Datagram services are always handed the socket: a nowait dgram handler would race us for
    // the queued datagram and the socket would stay readable, so it runs as wait (documented).
    if (e.wait || e.socketType === 'dgram') return this.handOver();
    this.acceptBurst();
  }

  /** True (and the service suspended) when this dispatch exceeds the spawn-rate guard. */
  private tripsGuard(): boolean {
    if (!this.guard.hit(Date.now())) return false;
    const ms = this.ctx.settings.retryTimeMs;
    this.counters.suspensions += 1;
    this.suspendedUntil = Date.now() + ms;
    this.log.warn(
      { ms },
      `looping: more than ${this.entry.rate || this.ctx.settings.rate} connections in 60 s; suspended for ${Math.round(ms / 1000)} s`,
    );
    this.timer = setTimeout(() => {
      this.suspendedUntil = 0;
      this.guard.reset();
      this.log.info('resumed after suspension');
      this.sync();
    }, ms);
    this.sync();
    return true;
  }

  /** Stops watching for a while after running out of fds or memory; never spins. */
  private backOff(err: NodeJS.ErrnoException): void {
    if (this.backingOff) return;
    this.backingOff = true;
    this.log.error({ err: { code: err.code, message: err.message } }, `out of resources (${err.code}); pausing ${RESOURCE_BACKOFF_MS} ms`);
    this.timer = setTimeout(() => {
      this.backingOff = false;
      this.sync();
    }, RESOURCE_BACKOFF_MS);
    this.sync();
  }

  private acceptBurst(): void {
    for (let i = 0; i < BURST && this.state() === 'listening'; i++) {
      let conn;
      try {
        // Blocking: the handler expects a blocking socket, and O_NONBLOCK would be shared with it.
        conn = native.accept(this.fd, false);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (RESOURCE_ERRORS.has(e.code ?? '')) return this.backOff(e);
        this.log.error({ err: { code: e.code, message: e.message } }, 'accept failed');
        return;
      }
      if (!conn) return;
      this.counters.connections += 1;
      if (this.tripsGuard()) {
        native.close(conn.fd);
        return;
      }
      if (this.entry.server === 'internal') this.serveStream(conn.fd, conn);
      else this.startHandler(conn.fd, conn, true);
    }
    this.sync();
  }

  /** Runs an internal stream service on an accepted connection. */
  private serveStream(fd: number, peer: SockAddr): void {
    const builtin = BUILTINS[this.entry.builtin!];
    const t0 = Date.now();
    let sock: Socket;
    try {
      sock = new Socket({ fd, readable: true, writable: true });
    } catch (err) {
      native.close(fd);
      this.log.error({ err }, 'cannot adopt connection');
      return;
    }
    this.children += 1;
    sock.on('error', () => sock.destroy());
    sock.once('close', () => {
      this.children -= 1;
      if (this.ctx.settings.logConnections) this.log.info({ peer: peerString(peer), ms: Date.now() - t0 }, 'connection');
      this.sync();
    });
    builtin.stream(sock, () => new Date());
  }

  /** Starts the handler with `fd` as its stdio; a nowait connection fd is ours to close. */
  private startHandler(fd: number, peer: SockAddr | null, ownsFd: boolean): void {
    const e = this.entry;
    const t0 = Date.now();
    let pid = -1;
    try {
      const local = native.getsockname(fd);
      const cred = e.family === 'unix' && ownsFd && e.socketType !== 'dgram' ? safePeerCred(fd) : null;
      const env = handlerEnv({ transport: e.transport, local, remote: peer, cred });
      pid = spawnHandler({ file: e.server, argv: e.argv, fd, env, uid: e.uid, gid: e.gid }, (end) =>
        this.handlerEnded(pid, end, peer, t0, !ownsFd),
      );
    } catch (err) {
      this.counters.spawnErrors += 1;
      this.log.error({ err: { code: (err as NodeJS.ErrnoException).code, message: (err as Error).message } }, 'cannot start handler');
      if (!ownsFd) this.releaseWait();
      return;
    } finally {
      // spawn() returns after the child has its own copies (or failed), so ours can go now.
      if (ownsFd) native.close(fd);
    }
    this.counters.spawns += 1;
    this.children += 1;
    if (!ownsFd) this.busyPid = pid > 0 ? pid : -1;
  }

  private handlerEnded(pid: number, end: HandlerEnd, peer: SockAddr | null, t0: number, wait: boolean): void {
    this.children -= 1;
    const ms = Date.now() - t0;
    if (end.err) {
      this.counters.spawnErrors += 1;
      this.log.error({ pid, err: { code: end.err.code, message: end.err.message } }, 'handler failed to start');
      if (RESOURCE_ERRORS.has(end.err.code ?? '')) this.backOff(end.err);
    } else if (this.ctx.settings.logConnections) {
      this.log.info({ peer: peerString(peer), pid, code: end.code, signal: end.signal, ms }, 'connection');
    } else if (end.signal || end.code) {
      this.log.debug({ peer: peerString(peer), pid, code: end.code, signal: end.signal, ms }, 'handler ended abnormally');
    }
    if (wait) this.releaseWait();
    else this.sync();
  }

  /** A wait handler gave the socket back: make it non-blocking again (the child may have changed
   * the shared flag) and watch it. */
  private releaseWait(): void {
    this.busyPid = 0;
    if (this.closed) return;
    native.setNonBlocking(this.fd, true);
    this.sync();
  }

  /** wait mode: stop watching and give the socket itself to one handler. */
  private handOver(): void {
    this.counters.connections += 1;
    this.busyPid = -1; // held from here; startHandler sets the pid
    this.sync();
    if (this.tripsGuard()) {
      this.busyPid = 0;
      this.sync();
      return;
    }
    this.startHandler(this.fd, null, false);
  }

  /** Internal datagram services: read, check, answer; never forks. */
  private serveDatagrams(): void {
    const builtin = BUILTINS[this.entry.builtin!];
    this.dgramBuf ??= Buffer.allocUnsafe(DGRAM_MAX);
    for (let i = 0; i < BURST; i++) {
      let r;
      try {
        r = native.recvfrom(this.fd, this.dgramBuf);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (RESOURCE_ERRORS.has(e.code ?? '')) return this.backOff(e);
        continue; // e.g. ECONNREFUSED left by an ICMP error: the next datagram is fine
      }
      if (!r) return;
      this.counters.connections += 1;
      const why = badDatagramSource(r.from, this.ctx.internalUdpPorts(), this.ctx.settings.udpLoopback);
      if (why) {
        this.counters.drops += 1;
        this.log.debug({ peer: peerString(r.from), reason: why }, 'datagram dropped');
        continue;
      }
      const reply = builtin.dgram(this.dgramBuf.subarray(0, r.bytes), () => new Date());
      if (!reply) continue;
      try {
        native.sendto(this.fd, reply, r.from);
      } catch {
        // a full send buffer or an unreachable peer loses this one reply only
      }
    }
  }
}

function safePeerCred(fd: number): { pid: number; uid: number; gid: number } | null {
  try {
    return native.getpeercred(fd);
  } catch {
    return null;
  }
}
