// One live service: its socket, its watcher, and what happens when the socket is readable —
// accept and start a handler (nowait), hand the socket itself to a handler (wait), or answer
// in-process (internal). Limits (max children, spawn rate, resource back-off) decide when the
// socket is watched. It does not parse, bind or reload; the daemon does.
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import { serviceRefusal, type ClientName, type HostsFiles } from '../access/gate.js';
import { PerSource } from '../access/per-source.js';
import type { ServiceSettings } from '../config/settings.js';
import type { ServiceEntry } from '../config/types.js';
import type { BuiltinName } from '../builtins/names.js';
import { BUILTINS, type Builtin } from '../builtins/table.js';
import type { Logger } from '../log/logger.js';
import { peerString } from '../log/logger.js';
import * as native from '../native/index.js';
import type { SockAddr } from '../native/index.js';
import { closeService } from '../net/listener.js';
import { RawSockaddr } from '../net/sockaddr.js';
import { handlerEnv, settingsEnv, unmapAddress } from '../spawn/env.js';
import { SpawnError, spawnHandler, type HandlerEnd } from '../spawn/spawn.js';
import { RateGuard } from './rate.js';
import { badDatagramSource } from './dgram-guard.js';

/** Connections accepted (or datagrams read) per readiness event before yielding to the loop. */
const BURST = 32;
/** How long to stop watching after the process or system ran out of fds or memory. */
const RESOURCE_BACKOFF_MS = 1000;
/** Errors that mean "out of resources": stop watching for a while instead of spinning. */
const RESOURCE_ERRORS = new Set(['EAGAIN', 'EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);
/** Longest tcpmux request line (RFC 1078 names are short). */
const TCPMUX_LINE_MAX = 256;
/** How long the multiplexer waits for the request line. */
const TCPMUX_TIMEOUT_MS = 30_000;
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
  /** Handlers at once per client address when the service sets none; 0 = no limit (-s). */
  perSource: number;
  /** Connections per minute per client address when the service sets none; 0 = no limit (-C). */
  perSourceRate: number;
}

/** What a service needs from the daemon that owns it. */
export interface DispatchContext {
  logger: Logger;
  settings: DispatchSettings;
  /** Ports of every internal UDP service, for the reflection-loop check. */
  internalUdpPorts(): ReadonlySet<number>;
  /** The tcpmux sub-service of that (lower-case) name. */
  tcpmux(name: string): Service | undefined;
  /** Names of the tcpmux sub-services, for HELP. */
  tcpmuxNames(): string[];
  /** hosts.allow and hosts.deny, when tcp_wrappers are on. */
  hosts: HostsFiles | null;
}

/** Counters reported in the state dump. */
export interface ServiceCounters {
  connections: number;
  spawns: number;
  spawnErrors: number;
  suspensions: number;
  drops: number;
  refused: number;
}

/** A bound service and the rules for watching it. */
export class Service {
  readonly counters: ServiceCounters = { connections: 0, spawns: 0, spawnErrors: 0, suspensions: 0, drops: 0, refused: 0 };
  /** Handlers (and internal connections) running now. */
  children = 0;
  /** Watches the socket; null for a tcpmux sub-service, which has none of its own. */
  private readonly poller: native.Poller | null;
  private watching = false;
  private closed = false;
  /** A wait handler holds the socket. */
  private busyPid = 0;
  private suspendedUntil = 0;
  private backingOff = false;
  private timer: NodeJS.Timeout | undefined;
  private guard: RateGuard;
  private readonly log: Logger;
  /** Read buffer for datagrams and for draining connections before they close. */
  private scratch: Buffer | undefined;
  private dgramFrom: RawSockaddr | undefined;
  private readonly perSource: PerSource;
  /** Banner files' contents, read when the settings are taken. */
  private banner: Buffer | null = null;
  private bannerFail: Buffer | null = null;

  constructor(
    public entry: ServiceEntry,
    readonly fd: number,
    private readonly ctx: DispatchContext,
    /** How handlers are started (umask, nice, limits, environment, cwd) and who may connect. */
    private attrs: ServiceSettings,
    /** Passed by the service manager: its socket file is not ours to remove. */
    private readonly inherited = false,
  ) {
    this.guard = new RateGuard(entry.rate || ctx.settings.rate);
    this.log = ctx.logger.child({ service: entry.service, proto: entry.protocol });
    this.perSource = new PerSource(this.perSourceLimits());
    this.readBanners();
    this.poller = fd >= 0 ? new native.Poller(fd, (err) => this.onReadable(err)) : null;
  }

  /** `[service:NAME/PROTO]`, how refusals name the settings section. */
  private section(): string {
    return `[service:${this.entry.service}/${this.entry.protocol}]`;
  }

  private perSourceLimits(): { maxConcurrent: number; perMinute: number } {
    const { settings } = this.ctx;
    return {
      maxConcurrent: this.attrs.per_source ?? (this.entry.perIpChildren || settings.perSource),
      perMinute: this.attrs.cps ?? (this.entry.perIpPerMinute || settings.perSourceRate),
    };
  }

  /**
   * What a per-client refusal names, or null when admitted: the setting the limit came from, as
   * perSourceLimits picks it (the section's key, the inetd.conf entry, or the daemon-wide default).
   */
  private admissionRule(a: 'ok' | 'concurrent' | 'rate'): string | null {
    if (a === 'ok') return null;
    const e = this.entry;
    if (a === 'rate') {
      if (this.attrs.cps !== undefined) return `${this.section()} cps`;
      return e.perIpPerMinute ? `${e.file}:${e.line} per-ip-per-minute` : '[daemon] cps (-C)';
    }
    if (this.attrs.per_source !== undefined) return `${this.section()} per_source`;
    return e.perIpChildren ? `${e.file}:${e.line} per-ip-children` : '[daemon] per_source (-s)';
  }

  /** Reads the banner files; one that cannot be read is logged and not sent. */
  private readBanners(): void {
    const read = (file: string | undefined): Buffer | null => {
      if (!file) return null;
      try {
        return readFileSync(file);
      } catch (err) {
        this.log.error({ file, err: { code: (err as NodeJS.ErrnoException).code } }, `banner ${file}: cannot read`);
        return null;
      }
    };
    this.banner = read(this.attrs.banner);
    this.bannerFail = read(this.attrs.banner_fail);
  }

  /** Starts watching the socket. */
  start(): void {
    this.sync();
  }

  /** Takes new attributes (args, user, limits) for the next dispatch; the socket stays. */
  update(entry: ServiceEntry, attrs: ServiceSettings): void {
    this.attrs = attrs;
    this.readBanners();
    const rate = entry.rate || this.ctx.settings.rate;
    if (rate !== (this.entry.rate || this.ctx.settings.rate)) this.guard = new RateGuard(rate);
    this.entry = entry;
    this.perSource.setLimits(this.perSourceLimits());
    this.sync();
  }

  /** Stops watching and closes the socket; running handlers run on. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    if (!this.poller) return;
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
    return this.attrs.instances ?? (this.entry.maxChild || this.ctx.settings.maxChildren);
  }

  /** Whether any address rule applies to this service's clients. */
  private checksAddresses(): boolean {
    return Boolean(this.attrs.only_from || this.attrs.no_access || this.ctx.hosts);
  }

  /** The rule that refuses a client at `ip`, or null to serve it: service rules, then hosts files. */
  private refusal(ip: string, name?: ClientName): string | null {
    // The common case, checked first: no rule at all, nothing to parse per connection.
    if (!this.checksAddresses()) return null;
    const own = serviceRefusal(this.attrs, this.section(), ip);
    if (own) return own;
    if (!this.ctx.hosts || !ip) return null;
    const e = this.entry;
    const daemons = [path.basename(e.argv[0] ?? e.server), e.service];
    return this.ctx.hosts.refusal(daemons, ip, name);
  }

  /** Closes a connection we wrote to, after reading what the client already sent: closing with
   * unread data sends a reset, which could destroy the reply before the client reads it. */
  private closeAfterReply(fd: number): void {
    this.scratch ??= Buffer.allocUnsafe(DGRAM_MAX);
    for (let i = 0; i < 16 && drain(fd, this.scratch); i++);
    native.close(fd);
  }

  /** Refuses an accepted connection: banner_fail, then close; logged with the rule and counted. */
  private refuse(fd: number, peer: SockAddr, rule: string): void {
    this.counters.refused += 1;
    if (this.bannerFail) writeQuietly(fd, this.bannerFail);
    this.closeAfterReply(fd);
    this.log.info({ peer: peerString(peer), rule }, 'refused');
  }

  private atCapacity(): boolean {
    const max = this.maxChildren();
    return max > 0 && this.children >= max;
  }

  /** Watches the socket exactly when nothing holds it back. */
  private sync(): void {
    const want = this.state() === 'listening';
    if (!this.poller || want === this.watching) return;
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
      const ip = conn.family === 'unix' ? '' : unmapAddress(conn.address);
      if (ip && this.ctx.hosts?.wantsNames) this.admitAfterLookup(conn.fd, conn, ip);
      else if (!this.admit(conn.fd, conn, ip)) return;
    }
    this.sync();
  }

  /**
   * Checks and serves an accepted connection: access rules, per-source limits, the spawn-rate
   * guard, the banner. False when the guard tripped (the caller stops accepting).
   */
  private admit(fd: number, peer: SockAddr, ip: string, name?: ClientName): boolean {
    const rule = this.refusal(ip, name);
    if (rule) {
      this.refuse(fd, peer, rule);
      return true;
    }
    const limited = ip ? this.admissionRule(this.perSource.admit(ip, Date.now())) : null;
    if (limited) {
      this.refuse(fd, peer, limited);
      return true;
    }
    if (this.tripsGuard()) {
      native.close(fd);
      return false;
    }
    if (this.banner) writeQuietly(fd, this.banner);
    if (ip) this.perSource.started(ip);
    this.serveConnection(fd, peer, ip, name);
    return true;
  }

  /** hosts files that name hosts need the client's name: look it up (bounded), then admit. The
   * connection counts as a child meanwhile, so lookups cannot pile up past the service's limit. */
  private admitAfterLookup(fd: number, peer: SockAddr, ip: string): void {
    this.children += 1;
    void this.ctx.hosts!.clientName(ip).then((name) => {
      this.children -= 1;
      if (this.closed) native.close(fd);
      else this.admit(fd, peer, ip, name);
      this.sync();
    });
  }

  /** Serves an admitted connection: the multiplexer, a builtin, or a handler. */
  private serveConnection(fd: number, peer: SockAddr, ip: string, name?: ClientName): void {
    if (this.entry.builtin === 'tcpmux') this.serveTcpmux(fd, peer, ip, name);
    else if (this.entry.server === 'internal') this.serveStream(fd, peer, ip);
    else this.startHandler(fd, peer, true, ip);
  }

  /**
   * tcpmux (RFC 1078): read the client's service-name line without reading a byte past it (one
   * byte per read: the rest belongs to the service), then hand the connection to that tcpmux
   * sub-service, answer HELP with the sub-service names, or refuse with "-".
   */
  private serveTcpmux(fd: number, peer: SockAddr, ip: string, name?: ClientName): void {
    this.children += 1;
    const byte = Buffer.alloc(1);
    let line = '';
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      poller.close();
      this.children -= 1;
      if (ip) this.perSource.ended(ip);
      this.sync();
    };
    const finish = (reply: string | null): void => {
      release();
      if (reply) writeQuietly(fd, Buffer.from(reply));
      this.closeAfterReply(fd);
    };
    const answer = (request: string): void => {
      const wanted = request.trim().toLowerCase();
      if (wanted === 'help') return finish(this.ctx.tcpmuxNames().map((n) => `${n}\r\n`).join(''));
      const sub = this.ctx.tcpmux(wanted);
      if (!sub) return finish('-Service not available\r\n');
      release();
      // The Poller made the socket non-blocking; the handler must get it blocking.
      native.setNonBlocking(fd, false);
      if (!sub.acceptMuxed(fd, peer, ip, name)) {
        writeQuietly(fd, Buffer.from('-Service not available\r\n'));
        this.closeAfterReply(fd);
      }
    };
    const poller = new native.Poller(fd, (err) => {
      if (err) return finish(null);
      for (;;) {
        let r;
        try {
          r = native.recvfrom(fd, byte);
        } catch {
          return finish(null);
        }
        if (!r) return; // more to come
        if (r.bytes === 0) return finish(null); // the client left
        if (byte[0] === 0x0a) return answer(line.replace(/\r$/, ''));
        line += String.fromCharCode(byte[0]!);
        if (line.length > TCPMUX_LINE_MAX) return finish('-Request too long\r\n');
      }
    });
    const timer = setTimeout(() => finish(null), TCPMUX_TIMEOUT_MS);
    poller.start();
  }

  /**
   * A tcpmux sub-service takes a connection the multiplexer accepted, under its own access rules
   * and limits; false when it refuses (the multiplexer then answers "-" and closes).
   */
  acceptMuxed(fd: number, peer: SockAddr, ip: string, name?: ClientName): boolean {
    this.counters.connections += 1;
    const rule = this.refusal(ip, name) ?? (ip ? this.admissionRule(this.perSource.admit(ip, Date.now())) : null);
    if (rule) {
      this.counters.refused += 1;
      this.log.info({ peer: peerString(peer), rule }, 'refused');
      return false;
    }
    if (this.state() !== 'listening' || this.tripsGuard()) {
      // Full or suspended: the client is told so at once. Debug only, as a full service is busy, not wrong.
      this.log.debug({ peer: peerString(peer), state: this.state() }, 'unavailable');
      return false;
    }
    if (this.entry.tcpmux?.plus) writeQuietly(fd, Buffer.from('+Go\r\n'));
    if (ip) this.perSource.started(ip);
    if (this.entry.server === 'internal') this.serveStream(fd, peer, ip);
    else this.startHandler(fd, peer, true, ip);
    return true;
  }

  /** Runs an internal stream service on an accepted connection. */
  private serveStream(fd: number, peer: SockAddr, ip: string): void {
    const builtin: Builtin = BUILTINS[this.entry.builtin as Exclude<BuiltinName, 'tcpmux'>];
    const t0 = Date.now();
    if (builtin.once) {
      // The fd is blocking and the reply a few bytes: the write cannot block on a new connection.
      writeQuietly(fd, builtin.once(() => new Date()));
      this.closeAfterReply(fd);
      if (ip) this.perSource.ended(ip);
      if (this.ctx.settings.logConnections) this.log.info({ peer: peerString(peer), ms: Date.now() - t0 }, 'connection');
      return;
    }
    let sock: Socket;
    try {
      sock = new Socket({ fd, readable: true, writable: true });
    } catch (err) {
      native.close(fd);
      if (ip) this.perSource.ended(ip);
      this.log.error({ err }, 'cannot adopt connection');
      return;
    }
    this.children += 1;
    sock.on('error', () => sock.destroy());
    sock.once('close', () => {
      this.children -= 1;
      if (ip) this.perSource.ended(ip);
      if (this.ctx.settings.logConnections) this.log.info({ peer: peerString(peer), ms: Date.now() - t0 }, 'connection');
      this.sync();
    });
    builtin.stream(sock, () => new Date());
  }

  /** Starts the handler with `fd` as its stdio; a nowait connection fd is ours to close. */
  private startHandler(fd: number, peer: SockAddr | null, ownsFd: boolean, ip = ''): void {
    const e = this.entry;
    const t0 = Date.now();
    let pid = -1;
    try {
      // The ids were resolved when the config was read; a user deleted since must not get a
      // process under its old uid (FreeBSD's inetd checks again at spawn time too).
      if (e.uid >= 0 && e.user !== '-' && process.getuid?.() === 0 && !native.getpwnam(e.user)) {
        throw new SpawnError(`user "${e.user}" no longer exists`, { cause: Object.assign(new Error('no such user'), { code: 'ENOENT', syscall: 'getpwnam' }) });
      }
      const local = native.getsockname(fd);
      const cred = e.family === 'unix' && ownsFd && e.socketType !== 'dgram' ? safePeerCred(fd) : null;
      const a = this.attrs;
      const env = handlerEnv({ transport: e.transport, local, remote: peer, cred }, settingsEnv(a.passenv, a.env, process.env));
      pid = spawnHandler(
        {
          file: e.server,
          argv: e.argv,
          fd,
          env,
          uid: e.uid,
          gid: e.gid,
          groups: e.groups,
          umask: a.umask ?? 0o022,
          nice: a.nice ?? 0,
          rlimits: rlimits(a),
          cwd: a.cwd ?? '/',
        },
        (end) => {
          if (ip) this.perSource.ended(ip);
          this.handlerEnded(pid, end, peer, t0, !ownsFd);
        },
      );
    } catch (err) {
      if (ip) this.perSource.ended(ip);
      this.counters.spawnErrors += 1;
      const cause = ((err as Error).cause ?? err) as NodeJS.ErrnoException;
      this.log.error({ code: 'ERR_SPAWN', err: { code: cause.code, syscall: cause.syscall, message: (err as Error).message } }, 'cannot start handler');
      if (!ownsFd) this.releaseWait();
      // Out of processes, fds or memory: pause the service rather than fail every connection.
      if (RESOURCE_ERRORS.has(cause.code ?? '')) this.backOff(cause);
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
    if (this.entry.socketType === 'dgram' && this.droppedRefusedDatagram()) return;
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

  /**
   * A wait datagram service with access rules: peek at the sender of the queued datagram; if it
   * is refused, read and drop that datagram (so the socket does not stay readable) and start
   * nothing. True when it dropped one.
   */
  private droppedRefusedDatagram(): boolean {
    if (!this.attrs.only_from && !this.attrs.no_access && !this.ctx.hosts) return false;
    const probe = Buffer.allocUnsafe(1);
    let r;
    try {
      r = native.recvfrom(this.fd, probe, true);
    } catch {
      return false; // let the handler see whatever error is pending
    }
    if (!r || r.from.family === 'unix') return false;
    const rule = this.refusal(unmapAddress(r.from.address));
    if (!rule) return false;
    try {
      native.recvfrom(this.fd, probe);
    } catch {
      // gone already
    }
    this.counters.refused += 1;
    this.log.info({ peer: peerString(r.from), rule }, 'refused');
    return true;
  }

  /** Internal datagram services: read, check, answer; never forks. */
  private serveDatagrams(): void {
    const builtin = BUILTINS[this.entry.builtin as Exclude<BuiltinName, 'tcpmux'>];
    const buf = (this.scratch ??= Buffer.allocUnsafe(DGRAM_MAX));
    // IPv4 and IPv6 senders stay the kernel's sockaddr (no object per datagram); a unix sender,
    // which no address rule or source check concerns, comes as a SockAddr.
    const raw = this.entry.family === 'unix' ? null : (this.dgramFrom ??= new RawSockaddr());
    for (let i = 0; i < BURST; i++) {
      let n: number | null;
      let unixFrom: SockAddr | null = null;
      try {
        if (raw) n = native.recvfromRaw(this.fd, buf, raw.buf);
        else {
          const r = native.recvfrom(this.fd, buf);
          n = r ? r.bytes : null;
          unixFrom = r ? r.from : null;
        }
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (RESOURCE_ERRORS.has(e.code ?? '')) return this.backOff(e);
        continue; // e.g. ECONNREFUSED left by an ICMP error: the next datagram is fine
      }
      if (n === null) return;
      this.counters.connections += 1;
      if (raw && this.dropsDatagram(raw)) continue;
      const reply = builtin.dgram(buf.subarray(0, n), () => new Date());
      if (!reply) continue;
      try {
        if (raw) native.sendtoRaw(this.fd, reply, raw.buf);
        // An unbound unix sender has no address to answer.
        else if (unixFrom?.family === 'unix' && unixFrom.path) native.sendto(this.fd, reply, unixFrom);
      } catch {
        // a full send buffer or an unreachable peer loses this one reply only
      }
    }
  }

  /** True (counted, and logged at debug) when an internal service must not answer this sender. */
  private dropsDatagram(from: RawSockaddr): boolean {
    const family = from.family === 4 ? 4 : 6;
    const rule = this.checksAddresses() ? this.refusal(unmapAddress(from.text())) : null;
    // Logged at debug only: a datagram flood must not become a log flood.
    if (rule) {
      this.counters.refused += 1;
      if (this.log.isLevelEnabled('debug')) this.log.debug({ peer: peerString(from.toSockAddr()), rule }, 'refused');
      return true;
    }
    const why = badDatagramSource(family, from.addr, from.port, this.ctx.internalUdpPorts(), this.ctx.settings.udpLoopback);
    if (!why) return false;
    this.counters.drops += 1;
    if (this.log.isLevelEnabled('debug')) this.log.debug({ peer: peerString(from.toSockAddr()), reason: why }, 'datagram dropped');
    return true;
  }
}

/** The settings' resource limits as [RLIMIT_*, soft, hard] (soft = hard; -1 = unlimited). */
function rlimits(a: ServiceSettings): native.Rlimit[] {
  const C = native.constants;
  const pairs: Array<[number, number | undefined]> = [
    [C.RLIMIT_AS, a.rlimit_as],
    [C.RLIMIT_CPU, a.rlimit_cpu],
    [C.RLIMIT_NOFILE, a.rlimit_nofile],
    [C.RLIMIT_NPROC, a.rlimit_nproc],
  ];
  return pairs.filter((p): p is [number, number] => p[1] !== undefined).map(([r, v]) => [r, v, v]);
}

/** Reads and drops what is queued on `fd` without waiting; false when nothing more is there. */
function drain(fd: number, buf: Buffer): boolean {
  try {
    const r = native.recvfrom(fd, buf);
    return r !== null && r.bytes > 0;
  } catch {
    return false;
  }
}

/**
 * Writes a banner or a short reply to a fresh connection without waiting: what does not fit in
 * the socket's send buffer is cut, so a client that never reads cannot stall the supervisor.
 * A client already gone misses it.
 */
function writeQuietly(fd: number, data: Buffer): void {
  try {
    native.send(fd, data);
  } catch {
    // EAGAIN, EPIPE, ECONNRESET: the client gets what fitted, or nothing
  }
}

function safePeerCred(fd: number): { pid: number; uid: number; gid: number } | null {
  try {
    return native.getpeercred(fd);
  } catch {
    return null;
  }
}
