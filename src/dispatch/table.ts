// The live services, by key: applies a new set of plans (added ones bound, changed ones updated
// on their socket, removed ones closed while their handlers run on), finds tcpmux sub-services,
// knows the internal datagram ports, and makes the state dump. It does not read files or
// handle signals; the daemon does.
import { guardPort, guardTable } from './dgram-guard.js';
import { drainLaunches } from './fast.js';
import { reconcile, type Changes } from '../config/diff.js';
import { fileId } from '../files/file-id.js';
import type { ServicePlan } from '../config/resolve.js';
import * as native from '../native/index.js';
import { matchInherited, type InheritedSocket } from '../net/activation.js';
import type { RpcRegistry } from '../rpc/registry.js';
import type { Host, MuxTarget, Peers, RunningHandler } from './core.js';
import { Service, type ServiceEvents, type ServiceSnapshot } from './service.js';

/** The service table of one daemon. */
export class ServiceTable implements Peers {
  private readonly services = new Map<string, Service>();
  /** The reflection-loop guard over the internal UDP ports: one table, rewritten in place, which the addon's datagram path reads too. */
  private readonly guard: Buffer;
  private readonly internalUnix = new Set<string>();
  /** What every service tells the table: a port bound after the guard was made (a bind that succeeded on a retry) joins it at once; rpc entries are registered. */
  private readonly events: ServiceEvents = {
    bound: (entry, port) => {
      if (isInternalUdp(entry)) guardPort(this.guard, port);
      this.rpc?.bound(entry, port);
    },
    closed: (entry) => this.rpc?.closed(entry),
  };
  /** Entries already warned about running as the wrong user (not root). */
  private readonly warned = new Set<string>();
  /** Handlers running now, by pid, whether or not their service is still in the table. */
  private readonly handlers = new Map<number, RunningHandler>();

  constructor(
    private readonly host: Host,
    /** Sockets the service manager passed us, adopted by the services they match. */
    private readonly inherited: InheritedSocket[] = [],
    /** Registrations of rpc services with rpcbind; null where there are none to make (tests). */
    private readonly rpc: RpcRegistry | null = null,
  ) {
    this.guard = guardTable([], host.settings.udpLoopback);
  }

  /** Moves the table to `plans` and says what changed. */
  apply(plans: readonly ServicePlan[]): Changes {
    const next = new Map(plans.map((p) => [p.key, p]));
    const changes = reconcile(this.plans(), next);
    // Unchanged ones take the new plan too: only where it was written may differ.
    for (const key of changes.unchanged) this.services.get(key)!.update(next.get(key)!, true);
    for (const { key, to } of changes.changed) {
      this.services.get(key)!.update(to);
      this.warnUser(to);
    }
    const removed = new Set(changes.removed);
    for (const plan of changes.added) {
      const svc = this.add(plan);
      // A service moving to an address that overlaps its old one (127.0.0.1:7 → *:7) cannot bind
      // while the old socket is open: close the old one first, only in that case.
      const overlapping = [...removed].filter((key) => {
        const o = this.services.get(key)!.plan.entry;
        return o.port === plan.entry.port && o.transport === plan.entry.transport;
      });
      if (svc.start(overlapping.length > 0)) continue;
      for (const key of overlapping) {
        this.remove(key);
        removed.delete(key);
      }
      if (overlapping.length > 0) svc.retryBind();
    }
    for (const key of removed) this.remove(key);
    this.refreshInternalUdp();
    return changes;
  }

  /** Closes the passed sockets no service adopted. */
  closeUnclaimed(): void {
    for (const s of this.inherited.splice(0)) {
      this.host.logger.warn({ fd: s.fd, name: s.name }, 'passed socket matches no service; closed');
      native.close(s.fd);
    }
  }

  /** Opens every service's own log file again (SIGUSR1). */
  reopenLogs(): void {
    for (const svc of this.services.values()) svc.reopenLog();
  }

  /** Closes every service; their handlers run on. */
  closeAll(): void {
    for (const key of [...this.services.keys()]) this.remove(key);
  }

  /** How many services there are, and how many of them have no socket for want of a bind. */
  counts(): { services: number; unbound: number } {
    let unbound = 0;
    for (const svc of this.services.values()) if (svc.stateName() === 'unbound') unbound += 1;
    return { services: this.services.size, unbound };
  }

  /** The plan of every service, by key: what the table serves now. */
  plans(): Map<string, ServicePlan> {
    return new Map([...this.services].map(([key, svc]) => [key, svc.plan]));
  }

  /** Every service with its state and counters. */
  snapshot(): ServiceSnapshot[] {
    return [...this.services.values()].map((svc) => {
      const e = svc.plan.entry;
      return e.rpc && this.rpc ? { ...svc.snapshot(), rpc: this.rpc.describe(e) } : svc.snapshot();
    });
  }

  datagramGuard(): Buffer {
    return this.guard;
  }

  internalUnixSockets(): ReadonlySet<string> {
    return this.internalUnix;
  }

  tcpmux(name: string): MuxTarget | undefined {
    return this.services.get(`tcpmux/${name}`);
  }

  handlerStarted(pid: number, handler: RunningHandler): void {
    this.handlers.set(pid, handler);
  }

  handlerEnded(pid: number): void {
    this.handlers.delete(pid);
  }

  /** The handlers running now, with how long each has run. */
  runningHandlers(): Array<RunningHandler & { pid: number; ms: number }> {
    drainLaunches();
    const now = this.host.now();
    return [...this.handlers].map(([pid, h]) => ({ pid, ...h, ms: now - h.since }));
  }

  tcpmuxNames(): string[] {
    return [...this.services.values()].flatMap((s) => (s.plan.entry.tcpmux ? [s.plan.entry.tcpmux.name] : []));
  }

  private add(plan: ServicePlan): Service {
    const passed = matchInherited(this.inherited, plan.entry);
    if (passed) this.inherited.splice(this.inherited.indexOf(passed), 1);
    const svc = new Service(plan, this.host, this, passed?.fd ?? null, this.events);
    this.services.set(plan.key, svc);
    this.warnUser(plan);
    return svc;
  }

  private remove(key: string): void {
    const svc = this.services.get(key);
    if (!svc) return;
    this.services.delete(key);
    svc.close();
    svc.log.info('closed');
  }

  /** The addresses of the internal datagram services, which must never answer each other. */
  private refreshInternalUdp(): void {
    const ports: number[] = [];
    this.internalUnix.clear();
    for (const svc of this.services.values()) {
      const e = svc.plan.entry;
      if (e.server !== 'internal' || e.socketType !== 'dgram') continue;
      if (e.transport === 'udp' && svc.port > 0) ports.push(svc.port);
      const id = e.family === 'unix' ? fileId(e.path) : null;
      if (id) this.internalUnix.add(id);
    }
    guardTable(ports, this.host.settings.udpLoopback, this.guard);
  }

  /** Not root: handlers run as us, so an entry naming another user is warned about, once. */
  private warnUser(plan: ServicePlan): void {
    const e = plan.entry;
    const me = this.host.uid;
    if (me === 0 || e.server === 'internal' || e.uid < 0 || e.uid === me) return;
    const id = `${plan.key}/${e.user}`;
    if (this.warned.has(id)) return;
    this.warned.add(id);
    this.host.logger.warn(
      { service: e.service, proto: e.protocol, file: e.file, line: e.line },
      `not running as root: handler runs as uid ${me}, not as user "${e.user}"`,
    );
  }
}

/** An internal service on a UDP socket: its port is one the reflection-loop guard drops. */
function isInternalUdp(e: ServicePlan['entry']): boolean {
  return e.server === 'internal' && e.socketType === 'dgram' && e.transport === 'udp';
}
