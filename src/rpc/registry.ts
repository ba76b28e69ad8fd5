// Keeps ninetd's registrations with rpcbind in step with its bound rpc services. An entry that
// is bound claims each (program, version, netid) of its range; each claim is registered (after
// removing whatever stale registration rpcbind holds for it) and removed again when the entry
// goes away, unless another entry has claimed it since (a reload that replaced a version range).
// When rpcbind cannot be reached the service is served unregistered, the failure is logged once,
// and registration is retried every retry time. All rpcbind calls run one at a time, in order.
// It does not bind or close sockets (the daemon does) or speak the protocol (client.ts does).
import { serviceKey } from '../config/diff.js';
import type { RpcService, ServiceEntry } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { RPCBIND_SOCKET, RpcbindClient, RpcbindError, type RpcbindCalls } from './client.js';
import { registeredHost, universalAddress, type Registration } from './rpcbind.js';

/** Timer functions, injected so tests decide when a retry fires. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Node's own timers. */
const NODE_TIMERS: Timers = { set: (fn, ms) => setTimeout(fn, ms), clear: (h) => clearTimeout(h as NodeJS.Timeout) };

/** What a registry is given. */
export interface RpcRegistryOptions {
  logger: Logger;
  /** Wait between registration attempts while rpcbind cannot be reached (the daemon's retry time). */
  retryMs: number;
  /** rpcbind's unix socket for the default client; default /run/rpcbind.sock. */
  socketPath?: string;
  /** The rpcbind calls; default a RpcbindClient on socketPath. */
  client?: RpcbindCalls;
  timers?: Timers;
}

/** One (program, version, netid) an entry claims, and whether rpcbind has it now. */
interface Claim extends Registration {
  /** serviceKey of the entry that claims it. */
  owner: string;
  registered: boolean;
}

/** A bound rpc entry and the claims it made. */
interface Bound {
  entry: ServiceEntry;
  port: number;
  claims: string[];
  /** Its last registration attempt failed (so the next failure is not logged again). */
  failing: boolean;
}

/** `1` or `1-5`, as the versions of an entry are written in logs and the state dump. */
export function versionsText(r: Pick<RpcService, 'low' | 'high'>): string {
  return r.low === r.high ? String(r.low) : `${r.low}-${r.high}`;
}

/** `file:line: rpc program 100001 (rstatd) versions 1-5 over udp, port picked when bound`, for --check. */
export function formatRpcEntry(e: ServiceEntry): string {
  const r = e.rpc!;
  const versions = r.low === r.high ? `version ${r.low}` : `versions ${versionsText(r)}`;
  const name = r.name === String(r.program) ? '' : ` (${r.name})`;
  return `${e.file}:${e.line}: rpc program ${r.program}${name} ${versions} over ${r.netids.join(' and ')}, port picked when bound`;
}

/** Key of a claim: rpcbind holds one address per program, version and netid. */
function claimKey(c: Pick<Registration, 'program' | 'version' | 'netid'>): string {
  return `${c.program}/${c.version}/${c.netid}`;
}

/** The registrations of the rpc services the daemon has bound. */
export class RpcRegistry {
  private readonly services = new Map<string, Bound>();
  private readonly claims = new Map<string, Claim>();
  private queue: Promise<void> = Promise.resolve();
  private retryTimer: unknown;
  private stopping = false;
  private readonly client: RpcbindCalls;
  private readonly timers: Timers;
  private readonly logger: Logger;

  constructor(private readonly opts: RpcRegistryOptions) {
    this.logger = opts.logger;
    this.client = opts.client ?? new RpcbindClient({ socketPath: opts.socketPath ?? RPCBIND_SOCKET });
    this.timers = opts.timers ?? NODE_TIMERS;
  }

  /** An rpc entry's socket is bound to `port`: register every version of its range for each of its netids. */
  bound(entry: ServiceEntry, port: number): void {
    const r = entry.rpc;
    if (!r || this.stopping) return;
    const key = serviceKey(entry);
    const claims: string[] = [];
    // Bounded: the parser allows at most 64 versions and two netids per entry.
    for (let version = r.low; version <= r.high; version += 1) {
      for (const netid of r.netids) {
        const claim: Claim = { program: r.program, version, netid, address: universalAddress(registeredHost(entry.host, netid), port), owner: key, registered: false };
        this.claims.set(claimKey(claim), claim);
        claims.push(claimKey(claim));
      }
    }
    this.services.set(key, { entry, port, claims, failing: false });
    this.enqueue(() => this.register(key));
  }

  /** An rpc entry's socket is closed: unregister what it claimed and no other entry claims now. */
  closed(entry: ServiceEntry): void {
    const key = serviceKey(entry);
    const b = this.services.get(key);
    if (!b) return;
    this.services.delete(key);
    const gone: Claim[] = [];
    for (const k of b.claims) {
      const claim = this.claims.get(k);
      if (claim?.owner !== key) continue;
      this.claims.delete(k);
      gone.push(claim);
    }
    // Claims whose registration is still under way are included: unregister() runs after it.
    if (gone.length > 0) this.enqueue(() => this.unregister(b.entry, gone));
  }

  /** Unregisters everything, stops retrying, and resolves once rpcbind has been told (or could not be). */
  async stopAll(): Promise<void> {
    for (const b of [...this.services.values()]) this.closed(b.entry);
    this.stopping = true;
    if (this.retryTimer !== undefined) this.timers.clear(this.retryTimer);
    this.retryTimer = undefined;
    await this.settled();
  }

  /** Resolves when every call asked for has been made, including calls those calls asked for. */
  async settled(): Promise<void> {
    // Bounded: a task enqueues more only to re-register after an UNSET, which stops once registered.
    for (let queue = this.queue; ; queue = this.queue) {
      await queue;
      if (queue === this.queue) return;
    }
  }

  /** Program, versions, netids and, once bound, the port and whether rpcbind has every version: for the state dump. */
  describe(entry: ServiceEntry): Record<string, unknown> {
    const r = entry.rpc!;
    const key = serviceKey(entry);
    const b = this.services.get(key);
    const base = { program: r.program, versions: versionsText(r), netids: r.netids };
    if (!b) return base;
    const registered = b.claims.every((k) => {
      const claim = this.claims.get(k);
      return claim?.owner === key && claim.registered;
    });
    return { ...base, port: b.port, registered };
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((err: unknown) => this.logger.error({ err }, 'rpc registration failed'));
  }

  /** Registers the claims of one entry that rpcbind does not have yet; on failure, retries later. */
  private async register(key: string): Promise<void> {
    const b = this.services.get(key);
    if (!b || this.stopping) return;
    const e = b.entry;
    const todo = b.claims.map((k) => this.claims.get(k)).filter((c): c is Claim => c?.owner === key && !c.registered);
    if (todo.length === 0) return;
    try {
      for (const claim of todo) await this.registerClaim(claim);
    } catch (err) {
      const e2 = err as RpcbindError;
      const seconds = Math.round(this.opts.retryMs / 1000);
      const record = { service: e.service, proto: e.protocol, code: 'ERR_RPC_REGISTER', err: { code: e2.code, message: e2.message } };
      const text = `${e.service}/${e.protocol}: rpcbind: ${e2.message}; serving unregistered, retrying every ${seconds} s`;
      if (b.failing) this.logger.debug(record, text);
      else this.logger.error(record, text);
      b.failing = true;
      this.scheduleRetry();
      return;
    }
    b.failing = false;
    const r = e.rpc!;
    this.logger.info({ service: e.service, proto: e.protocol, program: r.program, versions: versionsText(r), netids: r.netids, port: b.port }, 'registered with rpcbind');
  }

  /**
   * Registers one claim, first removing any stale registration (a previous ninetd, a server
   * started by hand) that would make SET fail. While another of our claims holds the same
   * version over the other IPv4 transport, the stale one is removed only if SET is refused:
   * portmapper version 2 removes tcp and udp together, and two claims that each removed the
   * other's registration before their own SET would take turns for ever.
   */
  private async registerClaim(claim: Claim): Promise<void> {
    const other = claim.netid === 'udp' ? 'tcp' : claim.netid === 'tcp' ? 'udp' : null;
    const sibling = other ? this.claims.get(claimKey({ ...claim, netid: other })) : undefined;
    if (!sibling?.registered) {
      this.forgetSiblings(claim, await this.client.unset(claim));
      await this.client.set(claim);
    } else {
      try {
        await this.client.set(claim);
      } catch (err) {
        if ((err as RpcbindError).code !== 'ERR_RPCBIND_REFUSED') throw err;
        this.forgetSiblings(claim, await this.client.unset(claim));
        await this.client.set(claim);
      }
    }
    claim.registered = true;
  }

  /** Removes the registrations of a closed entry, skipping any another entry has claimed since. */
  private async unregister(e: ServiceEntry, gone: Claim[]): Promise<void> {
    let done = 0;
    for (const claim of gone) {
      if (!claim.registered || this.claims.has(claimKey(claim))) continue;
      try {
        this.forgetSiblings(claim, await this.client.unset(claim));
        claim.registered = false;
        done += 1;
      } catch (err) {
        const e2 = err as RpcbindError;
        this.logger.warn(
          { service: e.service, proto: e.protocol, code: 'ERR_RPC_UNREGISTER', err: { code: e2.code, message: e2.message } },
          `${e.service}/${e.protocol}: rpcbind: ${e2.message}; registrations left in place`,
        );
        // rpcbind drops a registration itself once nothing is bound to its port.
        if (e2.code === 'ERR_RPCBIND_UNREACHABLE') return;
      }
    }
    const r = e.rpc!;
    if (done > 0) this.logger.info({ service: e.service, proto: e.protocol, program: r.program, versions: versionsText(r), netids: r.netids }, 'unregistered from rpcbind');
  }

  /**
   * An UNSET that removed more than the claim's own netid (portmapper v2 removes tcp and udp of
   * a version together) took registrations of other entries with it: register those again.
   */
  private forgetSiblings(claim: Claim, removed: readonly string[]): void {
    for (const netid of removed) {
      if (netid === claim.netid) continue;
      const sibling = this.claims.get(`${claim.program}/${claim.version}/${netid}`);
      if (!sibling?.registered) continue;
      sibling.registered = false;
      const owner = sibling.owner;
      this.enqueue(() => this.register(owner));
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.stopping) return;
    this.retryTimer = this.timers.set(() => {
      this.retryTimer = undefined;
      for (const key of this.services.keys()) this.enqueue(() => this.register(key));
    }, this.opts.retryMs);
  }
}
