// The fast path of a nowait stream service that needs no decision per connection: the addon's
// Launcher accepts and starts the handler on threads of its own, from a template made here once per plan, and reports
// in batches (native/launch.c). This module decides which plans may take it, makes the
// template, and turns each batch into what the ordinary path would have done one connection at
// a time: the counts, the slots, the rate guard, the records and the running handlers. The
// Launcher serves at most the service's `instances` at once and no more than the rate guard's
// remaining budget; a connection it will not serve comes back here and takes the ordinary path.
import { clientAddress } from '../addr/client.js';
import type { ServicePlan } from '../config/resolve.js';
import * as native from '../native/index.js';
import type { LaunchRecord } from '../native/index.js';
import { settingsEnv, slotOf, templateEnv } from '../spawn/env.js';
import { childSetup, type HandlerEnd } from '../spawn/request.js';
import { watchExit } from '../spawn/exit.js';
import { controllingTerminal } from '../spawn/spawn.js';
import type { Host, ServiceCore } from './core.js';
import { handlerRequest, reportEnd } from './handler.js';
import { serveAccepted } from './nowait.js';
import type { Slot } from './slot.js';

/**
 * Why `plan` must take the ordinary path (the first reason found), or null when the fast path
 * serves it exactly as the ordinary path would. Anything that is decided per connection keeps
 * it ordinary: access rules and hosts files, per-client limits, a PROXY header, banners,
 * socket options, in-process and relayed services, and a unix socket (whose peer credentials
 * go into the environment).
 */
export function ordinaryBecause(plan: ServicePlan, host: Pick<Host, 'hosts'>): string | null {
  const e = plan.entry;
  const a = plan.access;
  if (e.wait || e.socketType !== 'stream') return 'not a nowait stream service';
  if (e.transport !== 'tcp') return 'not tcp';
  if (e.server === 'internal' || e.builtin || e.redirect || e.tcpmux) return 'served by the supervisor';
  if (host.hosts) return 'hosts files';
  if (a.only_from?.length || a.no_access?.length || a.access_times?.length) return 'access rules';
  if (a.banner || a.banner_fail || a.banner_success) return 'banners';
  if (plan.limits.perSource.value > 0 || plan.limits.cps.value > 0) return 'per-client limits';
  if (plan.proxy) return 'PROXY header';
  if (plan.socket.nodelay || plan.socket.keepalive) return 'socket options';
  return null;
}

/** The Launcher's template for `plan`: the ordinary path's spawn request, with the addresses as slots. */
export function launchTemplate(plan: ServicePlan, host: Pick<Host, 'env' | 'uid'>, id: number): native.LaunchTemplate {
  const { entry: e, process: p } = plan;
  const env = templateEnv(settingsEnv(p.passenv, p.env, host.env));
  const req = handlerRequest(plan, 0, env);
  const asRoot = host.uid === 0;
  const { file, argv, opts } = childSetup(req, asRoot, controllingTerminal());
  const lines: string[] = [];
  const slots: number[] = [];
  for (const [name, value] of Object.entries(env)) {
    const slot = slotOf(value);
    lines.push(slot === native.ENV_SLOTS.fixed ? `${name}=${value}` : `${name}=`);
    slots.push(slot);
  }
  const user = asRoot && e.uid >= 0 && e.user !== '-' ? e.user : null;
  return { id, file, argv, env: lines, slots, opts, user };
}

/** The owner of each live launcher's records, by id. */
const owners = new Map<number, FastLaunch>();
let nextId = 1;
let listening = false;

function deliver(records: LaunchRecord[]): void {
  const touched = new Set<FastLaunch>();
  for (const r of records) {
    const owner = owners.get(r.id);
    if (!owner) continue;
    owner.take(r);
    touched.add(owner);
  }
  for (const owner of touched) owner.settled();
}

/** Hands over the records the addon still holds (the state dump wants exact counts). */
export function drainLaunches(): void {
  if (owners.size > 0) deliver(native.launchDrain());
}

/** A service's watch on the fast path: its Launcher, and what the batches mean for the service. */
export class FastLaunch {
  private readonly id = nextId++;
  private readonly launcher: native.Launcher;
  /** The handlers running, by pid; made on the first (an empty Map is some 150 bytes, and many services are idle). */
  private started: Map<number, { slot: Slot; peer: { peer: string }; t0: number }> | null = null;
  private watching = false;
  private closed = false;

  constructor(
    private readonly svc: ServiceCore & { spawnBudget(): number },
    fd: number,
  ) {
    if (!listening) {
      native.launchRecords(deliver);
      listening = true;
    }
    this.launcher = new native.Launcher(fd, launchTemplate(svc.plan, svc.host, this.id));
    owners.set(this.id, this);
  }

  /** Watches the socket with the service's limit and the rate guard's remaining budget. */
  start(): void {
    // Records still in the addon may hold dispatches the budget must count.
    if (this.svc.plan.limits.rate.value > 0) drainLaunches();
    if (this.closed || !this.svc.accepting()) return;
    this.launcher.start(this.svc.plan.limits.instances.value, this.svc.spawnBudget());
    this.watching = true;
  }

  stop(): void {
    this.watching = false;
    this.launcher.stop();
  }

  /** For good; handlers started are still reported until they have ended. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    // Starts still in the addon's batch are ours: take them before the owner can be forgotten.
    drainLaunches();
    this.launcher.close();
    if (!this.started?.size) owners.delete(this.id);
  }

  /** One record of a batch. */
  take(r: LaunchRecord): void {
    const svc = this.svc;
    switch (r.kind) {
      case 'start': {
        svc.counters.connections += 1;
        svc.counters.spawns += 1;
        const peer = { peer: r.peer };
        const e = svc.plan.entry;
        (this.started ??= new Map()).set(r.pid, { slot: svc.slot(null), peer, t0: r.at });
        svc.peers.handlerStarted(r.pid, { service: e.service, proto: e.protocol, peer: peer.peer, since: r.at });
        if (svc.host.settings.logConnections) svc.log.info({ ...peer, pid: r.pid, user: e.user }, 'handler started');
        if (svc.plan.limits.rate.value > 0) svc.looping();
        if (r.fd !== undefined) watchExit(r.fd, (end) => this.ended(r.pid, end, svc.host.now()));
        return;
      }
      case 'end':
        return this.ended(r.pid, { code: r.code, signal: r.signal, usage: { utimeUs: r.utimeUs, stimeUs: r.stimeUs, maxRssKb: r.maxRssKb } }, r.at);
      case 'handback':
        svc.counters.connections += 1;
        return serveAccepted(svc, r.fd, clientAddress(r.peer));
      case 'error':
        if (!svc.host.resources.ranOut(r.error)) svc.log.error({ err: { code: r.error.code, message: r.error.message } }, 'accept failed');
        return;
      case 'paused':
        this.watching = false;
        return;
    }
  }

  /** After a batch: watch again when the launcher paused and the service still takes connections. */
  settled(): void {
    if (!this.closed && !this.watching && this.svc.accepting()) this.start();
  }

  private ended(pid: number, end: HandlerEnd, at: number): void {
    const started = this.started;
    const s = started?.get(pid);
    if (!started || !s) return;
    started.delete(pid);
    s.slot.release();
    this.svc.peers.handlerEnded(pid);
    reportEnd(this.svc, pid, end, s.peer, s.t0, at);
    if (this.closed && started.size === 0) owners.delete(this.id);
  }
}
