// The narrow interfaces of dispatch: what the world gives a service (Host, injected so tests can
// build services directly with their own clock, environment, uid, poller and spawn), what a
// service's neighbours in the table give it (Peers), and what the dispatch modes (nowait, wait,
// datagram, tcpmux, in-process) may do with the service they serve (ServiceCore). Types only;
// the modes import this file, never service.ts.
import type { ClientAddress } from '../addr/client.js';
import type { AccessOutcome, ClientName, HostsFiles } from '../access/gate.js';
import type { PerSource } from '../access/per-source.js';
import type { ServicePlan } from '../config/resolve.js';
import type { ServiceEntry } from '../config/types.js';
import type { ServiceLog } from '../log/file.js';
import type { Logger } from '../log/logger.js';
import type { PollCallback, Poller } from '../native/index.js';
import type { HandlerEnd, SpawnRequest } from '../spawn/request.js';
import type { ReplyBudget } from './reply-budget.js';
import type { RefusalReason, ServiceCounters } from './counters.js';
import type { Resources } from './resources.js';
import type { Slot } from './slot.js';
import type { Streams } from './streams.js';

/** Daemon-wide values a service consults at dispatch time. */
export interface DispatchSettings {
  /** How long a suspended service stays suspended, and the time between bind retries. */
  retryTimeMs: number;
  /** Log one record per connection. */
  logConnections: boolean;
  /** Answer internal UDP services from loopback sources. */
  udpLoopback: boolean;
  /** In-process stream connections are closed after this long without a byte moving; 0: never. */
  internalIdleMs: number;
  /** In-process stream connections open at once in the whole daemon; 0: derived from the fd limit. */
  internalMax: number;
}

/** Timers, injected so a test can run them by hand. */
export interface Timers {
  set(fn: () => void, ms: number): TimerHandle;
  clear(handle: TimerHandle): void;
}

/** What `Timers.set` returns; only ever handed back to `Timers.clear`. */
export type TimerHandle = { readonly __timer: unique symbol } | NodeJS.Timeout;

/** What the world gives every service: clock, timers, identity, system calls that start things. */
export interface Host {
  readonly logger: Logger;
  readonly settings: DispatchSettings;
  /** hosts.allow and hosts.deny, when tcp_wrappers are on. */
  readonly hosts: HostsFiles | null;
  /** The daemon-wide out-of-resources episode. */
  readonly resources: Resources;
  /** The daemon's in-process stream connections: their byte pump, cap and idle timeout. */
  readonly streams: Streams;
  /** ninetd's own environment, for `passenv`. */
  readonly env: NodeJS.ProcessEnv;
  /** ninetd's own uid: only root switches users. */
  readonly uid: number;
  /** Milliseconds since the epoch. */
  now(): number;
  readonly timers: Timers;
  /** Whether the addon serves what needs no decision per client: nowait stream services accept and spawn there (fast.ts), internal echo and discard over UDP answer there (datagram.ts); tests that inject `spawn` leave it off. */
  readonly fastPath?: boolean;
  /** Watches an fd for readiness without reading it. */
  poller(fd: number, cb: PollCallback): Poller;
  /** Binds the entry's socket (again, after a suspension or a failed bind; `port` replaces a port 0 when not 0); throws BindError. */
  bind(entry: ServiceEntry, port: number): number;
  /** Closes a service's socket, and removes its socket file unless it was passed to us. */
  closeSocket(entry: ServiceEntry, fd: number, inherited: boolean): void;
  /** Starts a handler; `onEnd` is called once when it has ended. Throws SpawnError. */
  spawn(req: SpawnRequest, onEnd: (end: HandlerEnd) => void): number;
  /** Whether a user still exists (checked again before starting a handler as root). */
  userExists(name: string): boolean;
  /** A logger for one service that also writes to the service's own `file`; throws when the file cannot be used. */
  serviceLog(file: string, bindings: Record<string, unknown>): ServiceLog;
}

/** A service that takes connections the multiplexer accepted (a tcpmux sub-service). */
export interface MuxTarget {
  /** Serves `fd` under the sub-service's own rules and limits; false when it will not (the multiplexer answers "-"). */
  acceptMuxed(fd: number, client: ClientAddress, name?: ClientName): boolean;
}

/** What a service may ask of the rest of the table. */
export interface Peers {
  /** The reflection-loop guard (dgram-guard.ts) over the ports of every internal UDP service; the same Buffer, rewritten when they change. */
  datagramGuard(): Buffer;
  /** `dev:ino` of the socket file of every internal unix datagram service, for the same check. */
  internalUnixSockets(): ReadonlySet<string>;
  /** The tcpmux sub-service of that (lower-case) name. */
  tcpmux(name: string): MuxTarget | undefined;
  /** Names of the tcpmux sub-services, for HELP. */
  tcpmuxNames(): string[];
  /** A handler started: kept (also past its service's removal) until handlerEnded, for the shutdown record. */
  handlerStarted(pid: number, handler: RunningHandler): void;
  handlerEnded(pid: number): void;
}

/** A handler that runs now. */
export interface RunningHandler {
  service: string;
  proto: string;
  /** The client ('' for a wait service's handler). */
  peer: string;
  /** When it started (ms since the epoch). */
  since: number;
}

/** An access rule that refuses a client: where it is written, and which kind of rule it is. */
export interface Refusal {
  readonly rule: string;
  readonly reason: Extract<RefusalReason, 'hosts' | 'no_access' | 'only_from'>;
}

export type { ServiceCounters } from './counters.js';

/**
 * What access control said about one client: the rule that refuses it (null: not refused), and
 * the hosts files' outcome, whose options (spawn, banners, twist, …) apply either way.
 */
export interface AccessDecision {
  readonly refusedBy: Refusal | null;
  readonly hosts: AccessOutcome | null;
}

/** What admission decided for one client; `hosts` as in AccessDecision. */
export type Admission =
  | { readonly kind: 'admitted'; readonly slot: Slot; readonly hosts: AccessOutcome | null }
  /** An access rule or a per-client limit said no; `rule` names the setting, `reason` its kind. */
  | { readonly kind: 'refused'; readonly rule: string; readonly reason: RefusalReason; readonly hosts: AccessOutcome | null }
  /** The service cannot take it now (full, suspended, or the rate guard just tripped). */
  | { readonly kind: 'unavailable'; readonly state: string; readonly reason: Extract<RefusalReason, 'full' | 'rate' | 'suspended'> | null };

/** The service as the dispatch modes see it. */
export interface ServiceCore {
  readonly plan: ServicePlan;
  /** The service's socket; -1 when it has none (tcpmux sub-service, unbound, suspended). */
  readonly fd: number;
  readonly log: Logger;
  readonly host: Host;
  readonly peers: Peers;
  readonly counters: ServiceCounters;
  readonly perSource: PerSource;
  /** Banner files' contents, read when the plan was taken. */
  readonly banner: Buffer | null;
  readonly bannerFail: Buffer | null;
  readonly bannerSuccess: Buffer | null;
  /** A read buffer for datagrams and for draining connections before they close. */
  scratch(): Buffer;
  /** Replies per sender of an internal datagram service (made on first use). */
  replyBudget(): ReplyBudget;
  /** Whether the service takes connections now (its state is listening). */
  accepting(): boolean;
  /** The name of its state: listening, full, busy, suspended, backoff, unbound, closed. */
  stateName(): string;
  /** Service rules, then hosts files, for `client` (on the connection `fd`, whose local address `%A` and `daemon@host` need). */
  access(client: ClientAddress, name?: ClientName, fd?: number): AccessDecision;
  /** The rule (service rules, then hosts files) that refuses `client`, or null; for datagrams, where no option applies. */
  refusal(client: ClientAddress, name?: ClientName): Refusal | null;
  /** Counts one dispatch (for `client`, when known) against the rate guard; true when it tripped (the service is then suspended). */
  looping(client?: ClientAddress): boolean;
  /** A slot for one connection or handler: counts it until released. */
  slot(client: ClientAddress | null): Slot;
  /** wait mode: the handler `pid` holds the socket until `release()`. */
  hold(pid: number): void;
  /** wait mode: the handler gave the socket back. */
  release(): void;
  /** The socket failed in a way that is not about resources: close it, rebind after a pause. */
  socketFailed(err: Error): void;
}
