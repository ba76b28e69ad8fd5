// One live service: its socket, its watcher and its state. Each state is one member of a union,
// each transition goes through `enter`, and each timer belongs to the state that set it and is
// cleared when that state is left. What happens on readiness is the modes' job (nowait.ts,
// wait.ts, datagram.ts, tcpmux.ts, internal.ts), reached through the ServiceCore interface. It
// does not parse, reconcile or reload; the table does.
import path from 'node:path';
import { peerFields, unmapAddress, type ClientAddress } from '../addr/client.js';
import { serviceRefusal, type ClientName } from '../access/gate.js';
import { PerSource } from '../access/per-source.js';
import { fileProblemReason, isFileProblem, readRegularFile } from '../files/regular-file.js';
import type { ServicePlan } from '../config/resolve.js';
import type { ServiceLog } from '../log/file.js';
import type { Logger } from '../log/logger.js';
import * as native from '../native/index.js';
import type { NativeError, Poller } from '../native/index.js';
import { admit } from './admission.js';
import type { AccessDecision, Host, MuxTarget, Peers, Refusal, ServiceCore, TimerHandle } from './core.js';
import { copyCounters, countRefusal, newCounters, type ServiceCounters, type ServiceCounts } from './counters.js';
import { answeredInAddon, FastDatagrams, serveDatagrams } from './datagram.js';
import { pumped, serveInternal } from './internal.js';
import { startHandler } from './handler.js';
import { handlerOverride, prepareConnection, runSpawns } from './options.js';
import { acceptBurst } from './nowait.js';
import { drainLaunches, FastLaunch, ordinaryBecause } from './fast.js';
import { RateGuard } from './rate.js';
import { ReplyBudget } from './reply-budget.js';
import { sendQuietly } from './reply.js';
import { Slot, type SlotOwner } from './slot.js';
import { handOver } from './wait.js';

/** Largest datagram an internal service reads; also the drain buffer's size. */
const SCRATCH_BYTES = 65536;
/** How long a socket whose watch failed stays closed before it is bound again. */
const SOCKET_RETRY_MS = 1000;

/** Where a service stands. */
export type State =
  /** Watching its socket. */
  | { readonly kind: 'listening' }
  /** At its `instances` limit: not watching until a connection ends. */
  | { readonly kind: 'full' }
  /** wait mode: the handler `pid` holds the socket. */
  | { readonly kind: 'busy'; readonly pid: number }
  /** The rate guard tripped: socket closed (clients are refused) until `until`. */
  | { readonly kind: 'suspended'; readonly until: number; readonly timer: TimerHandle }
  /** The supervisor is out of resources (resources.ts): not watching until they are back. */
  | { readonly kind: 'backoff' }
  /** No socket: bind failed with `error`; tried again at `retryAt`. */
  | { readonly kind: 'unbound'; readonly error: string; readonly retryAt: number; readonly timer: TimerHandle }
  /** Removed from the table or the daemon stopped; its handlers run on. */
  | { readonly kind: 'closed' };

/** A service's socket and its watch: a Poller, or on the fast path the addon's Launcher (fast.ts) or a Poller that answers datagrams (datagram.ts). */
interface Socket {
  readonly fd: number;
  watcher: Pick<Poller, 'start' | 'stop' | 'close'>;
  watching: boolean;
}

/** The state dump's view of one service. */
export interface ServiceSnapshot extends ServiceCounts {
  service: string;
  proto: string;
  /** `127.0.0.1:7`, `[::1]:7`, `*:7` (the bound port), a unix path, or `tcpmux` for a sub-service. */
  address: string;
  /** `wait` or `nowait`, and `internal` for in-process services. */
  mode: string;
  state: State['kind'];
  /** Handlers (and in-process connections) running now. */
  children: number;
  /** busy: the handler holding the socket. */
  pid?: number;
  /** suspended: until when (ISO time). */
  until?: string;
  /** unbound: why, and when it is tried again. */
  error?: string;
  retryAt?: string;
  /** rpc services: program, versions and registration (rpc/registry.ts). */
  rpc?: Record<string, unknown>;
}

/** Told when a service's socket is bound (with its port) and when the service is closed for good; one for the whole table. */
export interface ServiceEvents {
  bound(entry: ServicePlan['entry'], port: number): void;
  closed(entry: ServicePlan['entry']): void;
}

/** One service of the table. */
export class Service implements ServiceCore, MuxTarget, SlotOwner {
  readonly counters: ServiceCounters = newCounters();
  readonly perSource: PerSource;
  /** The service's logger once made (see `log`). */
  private logger: Logger | null;
  /** The service's own log file (`log_file`), when it has one. */
  private ownLog: ServiceLog | null = null;
  banner: Buffer | null = null;
  bannerFail: Buffer | null = null;
  bannerSuccess: Buffer | null = null;
  private state: State = { kind: 'listening' };
  private socket: Socket | null = null;
  /** Handlers and in-process connections running now. */
  private running = 0;
  private guard: RateGuard;
  private buffer: Buffer | undefined;
  private budget: ReplyBudget | undefined;
  /** The port bound last: a port-0 service keeps it across a suspension. */
  private boundPort = 0;
  /** Settles the state when the resources episode or the streams' cap changes (one function per service, for both). */
  private readonly onChange = (): void => this.settle();

  constructor(
    public plan: ServicePlan,
    readonly host: Host,
    readonly peers: Peers,
    /** A socket the service manager passed for this service; it is never closed before stop. */
    private inherited: number | null = null,
    private readonly events?: ServiceEvents,
  ) {
    const e = plan.entry;
    this.logger = this.fileLog(plan);
    this.guard = new RateGuard(plan.limits.rate.value, plan.looping.windowMs);
    this.perSource = new PerSource(perSourceLimits(plan));
    this.readBanners();
    host.resources.watch(this.onChange);
    host.streams.watch(this.onChange);
  }

  get fd(): number {
    return this.socket?.fd ?? -1;
  }

  /** Binds (or adopts) the socket and starts watching; false when the bind failed (retried, and logged unless `quiet`). */
  start(quiet = false): boolean {
    return this.open(quiet);
  }

  /** Binds again now, when the service has no socket for want of a bind. */
  retryBind(): void {
    if (this.state.kind === 'unbound') this.open(false);
  }

  /**
   * The service's logger. Without a log file it is made on first use: a pino child is some 400
   * bytes, and most services log nothing after 'listening', which does without it (`logStart`).
   */
  get log(): Logger {
    return (this.logger ??= this.makeLog(this.plan));
  }

  /** What every record of the service carries. */
  private bindings(plan: ServicePlan): { service: string; proto: string } {
    return { service: plan.entry.service, proto: plan.entry.protocol };
  }

  /** An info record that every service writes at start-up: through the daemon's logger, with the bindings, until the service has its own. */
  private logStart(fields: Record<string, unknown>, msg: string): void {
    if (this.logger) this.logger.info(fields, msg);
    else this.host.logger.info({ ...this.bindings(this.plan), ...fields }, msg);
  }

  /** The logger that the plan's log file needs at once, after closing the old plan's file; null without one (made on first use). */
  private fileLog(plan: ServicePlan): Logger | null {
    this.ownLog?.close();
    this.ownLog = null;
    return plan.logFile ? this.makeLog(plan) : null;
  }

  /** The service's logger: the daemon's, and its own file too when the plan names one (a file that cannot be used is logged and left out). */
  private makeLog(plan: ServicePlan): Logger {
    const bindings = this.bindings(plan);
    if (plan.logFile) {
      try {
        this.ownLog = this.host.serviceLog(plan.logFile, bindings);
        return this.ownLog.logger;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        this.host.logger.error({ ...bindings, file: plan.logFile, code: 'ERR_LOG_DESTINATION', err: { code: e.code, message: e.message } }, `cannot write log file ${plan.logFile}; this service logs to the daemon's log only`);
      }
    }
    return this.host.logger.child(bindings);
  }

  /** Opens the service's own log file again (SIGUSR1, after logrotate). */
  reopenLog(): void {
    try {
      this.ownLog?.reopen();
    } catch (err) {
      this.log.error({ file: this.plan.logFile, err: { code: (err as NodeJS.ErrnoException).code } }, 'cannot reopen log file; writing to the old one');
    }
  }

  /**
   * Takes a new plan for the next dispatch (arguments, user, limits, rules); the socket stays.
   * `unchanged`: the plan is the same but for where it was written (a reload's unchanged one).
   */
  update(plan: ServicePlan, unchanged = false): void {
    if (plan.logFile !== this.plan.logFile) this.logger = this.fileLog(plan);
    const { rate } = plan.limits;
    if (rate.value !== this.plan.limits.rate.value || plan.looping.windowMs !== this.plan.looping.windowMs) this.guard = new RateGuard(rate.value, plan.looping.windowMs);
    this.plan = plan;
    this.perSource.setLimits(perSourceLimits(plan));
    this.readBanners();
    // A Launcher's template is the plan's, so an unchanged plan keeps its watch: unless it is
    // on the ordinary path only because no Launcher could be made, which is tried again.
    const fastNow = this.inAddon();
    const fastNext = this.fast() || answeredInAddon(this);
    if (this.socket && (unchanged ? fastNow !== fastNext : fastNow || fastNext)) this.rewatch();
    this.settle();
  }

  /** How many more handlers the rate guard allows now before it trips; -1: no limit (the fast path's budget). */
  spawnBudget(): number {
    return this.guard.remaining(this.host.now());
  }

  /** Stops watching and closes the socket; running handlers run on. */
  close(): void {
    if (this.state.kind === 'closed') return;
    this.enter({ kind: 'closed' });
    this.host.resources.unwatch(this.onChange);
    this.host.streams.unwatch(this.onChange);
    this.closeSocket(true);
    this.events?.closed(this.plan.entry);
    this.ownLog?.close();
  }

  /** The name of its state. */
  stateName(): State['kind'] {
    return this.state.kind;
  }

  /** The state dump's record. */
  snapshot(): ServiceSnapshot {
    drainLaunches();
    if (this.socket?.watcher instanceof FastDatagrams) this.socket.watcher.drain();
    const e = this.plan.entry;
    const s = this.state;
    const out: ServiceSnapshot = {
      service: e.service,
      proto: e.protocol,
      address: this.address(),
      mode: `${e.wait ? 'wait' : 'nowait'}${e.server === 'internal' ? ' internal' : ''}`,
      state: s.kind,
      children: this.running,
      ...copyCounters(this.counters),
    };
    if (s.kind === 'busy') out.pid = s.pid;
    if (s.kind === 'suspended') out.until = new Date(s.until).toISOString();
    if (s.kind === 'unbound') Object.assign(out, { error: s.error, retryAt: new Date(s.retryAt).toISOString() });
    return out;
  }

  /** Where it listens, as the snapshot shows it. */
  private address(): string {
    const e = this.plan.entry;
    if (e.tcpmux) return 'tcpmux';
    if (e.family === 'unix') return e.path;
    const port = this.boundPort || e.port;
    return `${e.host.includes(':') ? `[${e.host}]` : e.host}:${port}`;
  }

  /** The port it listens on (the bound one for port 0); 0 for unix sockets and sub-services. */
  get port(): number {
    return this.boundPort;
  }

  // ---- ServiceCore: what the modes use ----

  accepting(): boolean {
    return this.state.kind === 'listening';
  }

  scratch(): Buffer {
    return (this.buffer ??= Buffer.allocUnsafe(SCRATCH_BYTES));
  }

  replyBudget(): ReplyBudget {
    return (this.budget ??= new ReplyBudget());
  }

  access(client: ClientAddress, name?: ClientName, fd = -1): AccessDecision {
    const { access, section, entry } = this.plan;
    const hosts = this.host.hosts;
    // The common case, checked first: no rule at all, nothing to look at per connection.
    if (!access.only_from && !access.no_access && !hosts) return NO_RULES;
    const own = serviceRefusal(access, section, client.addr);
    if (own) return { refusedBy: { rule: own, reason: own.endsWith(' no_access') ? 'no_access' : 'only_from' }, hosts: null };
    if (!hosts || !client.ip) return NO_RULES;
    // Behind a load balancer the server address is the one the client connected to (the header's).
    const dest = client.proxy?.destination;
    const serverIp = dest && dest.family !== 'unix' ? unmapAddress(dest.address) : fd >= 0 ? localIp(fd) : undefined;
    const outcome = hosts.decide({
      daemons: [path.basename(entry.argv[0] ?? entry.server), entry.service],
      clientIp: client.ip,
      ...(name ? { client: name } : {}),
      ...(serverIp ? { serverIp } : {}),
    });
    const refusedBy = outcome.action === 'refuse' ? { rule: outcome.rule ?? 'hosts.deny', reason: 'hosts' as const } : null;
    return { refusedBy, hosts: outcome };
  }

  refusal(client: ClientAddress, name?: ClientName): Refusal | null {
    const d = this.access(client, name);
    // A datagram has no connection to twist: a twist rule refuses it.
    return d.refusedBy ?? (d.hosts?.action === 'twist' ? { rule: d.hosts.rule ?? 'hosts.deny', reason: 'hosts' } : null);
  }

  looping(client?: ClientAddress): boolean {
    if (!this.guard.hit(this.host.now())) return false;
    const { windowMs, suspendMs } = this.plan.looping;
    const ms = suspendMs ?? this.host.settings.retryTimeMs;
    this.counters.suspensions += 1;
    this.log.warn({ ms, ...(client ? { peer: client.text } : {}) }, `looping: more than ${this.plan.limits.rate.value} connections in ${windowMs / 1000} s; suspended for ${Math.round(ms / 1000)} s`);
    this.suspend(ms);
    return true;
  }

  slot(client: ClientAddress | null): Slot {
    return new Slot(this, client);
  }

  take(client: ClientAddress | null): void {
    this.running += 1;
    if (client) this.perSource.started(client.key);
    this.settle();
  }

  give(client: ClientAddress | null): void {
    this.running -= 1;
    if (client) this.perSource.ended(client.key);
    this.host.resources.released();
    this.settle();
  }

  hold(pid: number): void {
    this.enter({ kind: 'busy', pid });
  }

  release(): void {
    if (this.state.kind !== 'busy') return;
    // The handler may have changed O_NONBLOCK on the shared open file description.
    if (this.socket) native.setNonBlocking(this.socket.fd, true);
    this.ready();
  }

  socketFailed(err: Error): void {
    this.log.error({ err: { code: (err as NativeError).code, message: err.message } }, 'socket failed; binding it again');
    this.closeSocket(false);
    this.unbound(err.message, SOCKET_RETRY_MS);
  }

  /** A tcpmux sub-service takes a connection the multiplexer accepted, under its own rules and limits. */
  acceptMuxed(fd: number, client: ClientAddress, name?: ClientName): boolean {
    this.counters.connections += 1;
    const a = admit(this, client, name, fd);
    if (a.kind !== 'unavailable' && a.hosts) runSpawns(this, a.hosts);
    if (a.kind === 'refused') {
      countRefusal(this.counters, a.reason);
      this.log.info({ ...peerFields(client), rule: a.rule }, 'refused');
      return false;
    }
    if (a.kind === 'unavailable') {
      if (a.reason) countRefusal(this.counters, a.reason);
      // Full or suspended: the client is told so at once. Debug only: a full service is busy, not wrong.
      this.log.debug({ ...peerFields(client), state: a.state }, 'unavailable');
      return false;
    }
    const override = handlerOverride(this, a.hosts);
    if (typeof override === 'string') {
      a.slot.release();
      countRefusal(this.counters, 'hosts');
      this.log.info({ ...peerFields(client), rule: override }, 'refused');
      return false;
    }
    if (this.plan.entry.tcpmux?.plus) sendQuietly(fd, Buffer.from('+Go\r\n'));
    if (a.hosts) prepareConnection(this, fd, a.hosts);
    if (this.plan.entry.server === 'internal' && !override.file) serveInternal(this, fd, client, a.slot);
    else startHandler(this, fd, client, a.slot, false, override);
    return true;
  }

  // ---- states ----

  /** Leaves the current state (clearing its timer) for `next`, and watches the socket exactly when listening. */
  private enter(next: State): void {
    const prev = this.state;
    if (prev.kind === 'suspended' || prev.kind === 'unbound') this.host.timers.clear(prev.timer);
    this.state = next;
    this.watch(next.kind === 'listening');
  }

  /** Back to taking connections (after busy, suspended or unbound): listening, full, or backoff. */
  private ready(): void {
    this.enter({ kind: this.available() });
  }

  /** Among listening, full and backoff, moves to the one that now holds; other states stay. */
  settle(): void {
    const k = this.state.kind;
    if (k !== 'listening' && k !== 'full' && k !== 'backoff') return;
    const next = this.available();
    if (next !== k) this.enter({ kind: next });
  }

  private available(): 'listening' | 'full' | 'backoff' {
    if (this.host.resources.exhausted) return 'backoff';
    const max = this.plan.limits.instances.value;
    if (max > 0 && this.running >= max) return 'full';
    // The daemon-wide cap on in-process stream connections (streams.ts) fills every such service.
    return this.host.streams.full && pumped(this.plan.entry) ? 'full' : 'listening';
  }

  /** The rate guard tripped: close the socket so clients are refused, and bind it again after `ms`. */
  private suspend(ms: number): void {
    if (this.inherited === null) this.closeSocket(false);
    const timer = this.host.timers.set(() => this.resume(), ms);
    this.enter({ kind: 'suspended', until: this.host.now() + ms, timer });
  }

  private resume(): void {
    this.guard.reset();
    // Said once the socket is back, so that whoever reads the record can connect at once.
    if (this.socket || this.plan.entry.tcpmux) this.ready();
    else if (!this.open(false)) return;
    this.log.info('resumed after suspension');
  }

  private unbound(error: string, retryMs: number): void {
    const timer = this.host.timers.set(() => this.open(false), retryMs);
    this.enter({ kind: 'unbound', error, retryAt: this.host.now() + retryMs, timer });
  }

  // ---- the socket ----

  /** Binds the socket (or adopts the passed one) and becomes ready; on failure, unbound with a retry. */
  private open(quiet: boolean): boolean {
    const e = this.plan.entry;
    if (e.tcpmux) {
      // Reached through the multiplexer only: nothing to bind.
      this.log.info({ plus: e.tcpmux.plus }, 'tcpmux service');
      this.ready();
      return true;
    }
    let fd: number;
    try {
      fd = this.inherited ?? this.host.bind(e, this.boundPort);
    } catch (err) {
      const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
      if (!quiet) this.log.error({ code: 'ERR_BIND', err: { code: cause?.code } }, (err as Error).message);
      this.unbound((err as Error).message, this.host.settings.retryTimeMs);
      return false;
    }
    this.socket = { fd, watcher: this.watcher(fd), watching: false };
    this.boundPort = localPort(fd);
    const where = e.family === 'unix' ? { path: e.path } : { addr: e.host, port: this.boundPort };
    const how = { ...(this.inherited !== null ? { inherited: true } : {}), ...(this.inAddon() ? { fastPath: true } : {}) };
    this.logStart({ type: e.socketType, wait: e.wait, ...where, ...how }, 'listening');
    this.events?.bound(this.plan.entry, this.boundPort);
    this.ready();
    return true;
  }

  /** Closes the watch and the socket; a passed socket only at the end (`final`). */
  private closeSocket(final: boolean): void {
    const s = this.socket;
    if (!s) return;
    if (this.inherited !== null && !final) return;
    this.socket = null;
    s.watcher.close();
    this.host.closeSocket(this.plan.entry, s.fd, this.inherited !== null);
    this.inherited = null;
  }

  private watch(on: boolean): void {
    const s = this.socket;
    if (!s || s.watching === on) return;
    s.watching = on;
    if (on) s.watcher.start();
    else s.watcher.stop();
  }

  /** The fast path's Launcher when the plan allows it and the host has one, else a Poller. */
  private watcher(fd: number): Socket['watcher'] {
    if (this.fast()) {
      try {
        return new FastLaunch(this, fd);
      } catch (err) {
        this.log.warn({ err: { code: (err as NativeError).code, message: (err as Error).message } }, 'fast path unavailable; accepting in the event loop');
      }
    }
    if (answeredInAddon(this)) {
      try {
        return new FastDatagrams(this, fd, (err) => this.onReadable(err));
      } catch (err) {
        this.log.warn({ err: { code: (err as NativeError).code, message: (err as Error).message } }, 'fast path unavailable; answering in the event loop');
      }
    }
    return this.host.poller(fd, (err) => this.onReadable(err));
  }

  /** Whether the socket is watched by the addon's fast path (a Launcher, or a Poller answering datagrams). */
  private inAddon(): boolean {
    const w = this.socket?.watcher;
    return w instanceof FastLaunch || w instanceof FastDatagrams;
  }

  /** Whether the plan takes the fast path on this host. */
  private fast(): boolean {
    return this.host.fastPath === true && ordinaryBecause(this.plan, this.host) === null;
  }

  /** A new plan may change what the watch does: make it again, watching as before. */
  private rewatch(): void {
    const s = this.socket;
    if (!s) return;
    const on = s.watching;
    this.watch(false);
    s.watcher.close();
    s.watcher = this.watcher(s.fd);
    this.watch(on);
  }

  private onReadable(err: NativeError | null): void {
    if (this.state.kind !== 'listening') return;
    if (err) {
      // A Poller that reports an error has stopped itself.
      this.socket!.watching = false;
      return this.socketFailed(err);
    }
    const e = this.plan.entry;
    if (e.server === 'internal' && e.socketType === 'dgram') serveDatagrams(this);
    // Datagram services are always handed the socket: a nowait dgram handler would race us for
    // the queued datagram and the socket would stay readable, so it runs as wait (documented).
    else if (e.wait || e.socketType === 'dgram') handOver(this);
    else acceptBurst(this);
  }

  /** Reads the banner files (regular files only, capped, never blocking); one that cannot be read is logged and not sent. */
  private readBanners(): void {
    const read = (file: string | undefined): Buffer | null => {
      if (!file) return null;
      const r = readRegularFile(file, 'banner');
      if (!isFileProblem(r)) return r.data;
      this.log.error({ file }, `banner ${file}: ${fileProblemReason(r)}`);
      return null;
    };
    this.banner = read(this.plan.access.banner);
    this.bannerFail = read(this.plan.access.banner_fail);
    this.bannerSuccess = read(this.plan.access.banner_success);
  }
}

/** No access rule applies. */
const NO_RULES: AccessDecision = { refusedBy: null, hosts: null };

/** The local address of a connection, as hosts files see it; undefined for a unix socket. */
function localIp(fd: number): string | undefined {
  try {
    const a = native.getsockname(fd);
    return a.family === 'unix' ? undefined : unmapAddress(a.address);
  } catch {
    return undefined;
  }
}

/** The port a socket is bound to; 0 for a unix socket. */
function localPort(fd: number): number {
  const a = native.getsockname(fd);
  return a.family === 'unix' ? 0 : a.port;
}

/** The per-client limits of a plan, in PerSource's terms. */
function perSourceLimits(plan: ServicePlan): { maxConcurrent: number; perMinute: number } {
  return { maxConcurrent: plan.limits.perSource.value, perMinute: plan.limits.cps.value };
}
