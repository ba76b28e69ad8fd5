// Starts a handler program for one connection (nowait: the accepted socket) or for a wait
// service (the listening or datagram socket itself), and reports its end: the spawn request is
// built from the service's plan and the client, the slot is given back exactly once, and the
// record names the client. It does not decide whether to start anything (admission does).
import { peerFields, type ClientAddress } from '../addr/client.js';
import type { RlimitKey, ServicePlan } from '../config/resolve.js';
import * as native from '../native/index.js';
import { handlerEnv, settingsEnv } from '../spawn/env.js';
import { SpawnError, type HandlerEnd, type SpawnRequest } from '../spawn/request.js';
import type { ServiceCore } from './core.js';
import { countExit } from './counters.js';
import type { Slot } from './slot.js';

/** Resource-limit settings → RLIMIT_* names of the addon's constants. Sorted. */
const RLIMITS = {
  rlimit_as: 'RLIMIT_AS',
  rlimit_cpu: 'RLIMIT_CPU',
  rlimit_data: 'RLIMIT_DATA',
  rlimit_nofile: 'RLIMIT_NOFILE',
  rlimit_nproc: 'RLIMIT_NPROC',
  rlimit_rss: 'RLIMIT_RSS',
  rlimit_stack: 'RLIMIT_STACK',
} as const satisfies Record<RlimitKey, keyof native.Constants>;

/**
 * Starts the handler with `fd` as its fds 0, 1 and 2. A nowait connection's fd is ours and is
 * closed once the child holds it; a wait service's socket is held by the handler until it ends.
 * Returns the pid, or null when it could not start (logged, counted, slot given back).
 */
export function startHandler(
  svc: ServiceCore,
  fd: number,
  client: ClientAddress | null,
  slot: Slot,
  wait: boolean,
  override: HandlerOverride = {},
): number | null {
  const { entry: e } = svc.plan;
  const t0 = svc.host.now();
  const peer = peerFields(client);
  let pid: number;
  try {
    // The ids were resolved when the config was read; a user deleted since must not get a
    // process under its old uid (FreeBSD's inetd checks again at spawn time too).
    if (e.uid >= 0 && e.user !== '-' && svc.host.uid === 0 && !svc.host.userExists(e.user)) {
      const cause = Object.assign(new Error('no such user'), { code: 'ENOENT', syscall: 'getpwnam' });
      throw new SpawnError(`user "${e.user}" no longer exists`, { cause });
    }
    const onEnd = (end: HandlerEnd): void => {
      slot.release();
      svc.peers.handlerEnded(pid);
      reportEnd(svc, pid, end, peer, t0);
      if (wait) svc.release();
    };
    pid = spawnOnce(svc, { ...request(svc.plan, fd, client, wait, svc.host.env, override.env), ...withoutEnv(override) }, onEnd);
    svc.peers.handlerStarted(pid, { service: e.service, proto: e.protocol, peer: peer.peer, since: t0 });
    if (svc.host.settings.logConnections) svc.log.info({ ...peer, pid, user: e.user }, 'handler started');
  } catch (err) {
    slot.release();
    svc.counters.spawnErrors += 1;
    const cause = ((err as Error).cause ?? err) as NodeJS.ErrnoException;
    svc.log.error({ ...peer, code: 'ERR_SPAWN', err: { code: cause.code, syscall: cause.syscall, message: (err as Error).message } }, 'cannot start handler');
    svc.host.resources.ranOut(cause);
    return null;
  } finally {
    // spawn() returns after the child has its own copies (or failed), so ours can go now.
    if (!wait) native.close(fd);
  }
  svc.counters.spawns += 1;
  if (wait) svc.hold(pid);
  return pid;
}

/**
 * One spawn, and one more when the first failed for want of a descriptor and the episode that
 * starts gave up the spare: the client was already accepted, so it is served.
 */
function spawnOnce(svc: ServiceCore, req: SpawnRequest, onEnd: (end: HandlerEnd) => void): number {
  try {
    return svc.host.spawn(req, onEnd);
  } catch (err) {
    const cause = ((err as Error).cause ?? err) as NodeJS.ErrnoException;
    if (!svc.host.resources.ranOut(cause)) throw err;
    return svc.host.spawn(req, onEnd);
  }
}

/** What a hosts_options rule changes about one handler (options.ts): the program (twist), ids, mask, priority, extra variables. */
export type HandlerOverride = Partial<Pick<SpawnRequest, 'file' | 'argv' | 'uid' | 'gid' | 'groups' | 'umask' | 'nice' | 'env'>>;

function withoutEnv(o: HandlerOverride): Omit<HandlerOverride, 'env'> {
  const { env: _env, ...rest } = o;
  return rest;
}

/**
 * The spawn request for a handler of `plan` on `fd`; `extra` variables (a hosts rule's setenv)
 * are added last. Behind a load balancer the local address is the one the client connected to
 * (the header's destination), and the balancer's variables come before the settings' (which may
 * replace them).
 */
function request(plan: ServicePlan, fd: number, client: ClientAddress | null, wait: boolean, own: NodeJS.ProcessEnv, extra: Record<string, string> = {}): SpawnRequest {
  const { entry: e, process: p } = plan;
  const local = client?.proxy?.destination ?? native.getsockname(fd);
  const cred = e.family === 'unix' && !wait && e.socketType !== 'dgram' ? peerCred(fd) : null;
  const env = handlerEnv({ transport: e.transport, local, remote: client?.sockaddr ?? null, cred }, { ...client?.proxy?.env, ...settingsEnv(p.passenv, p.env, own), ...extra });
  return handlerRequest(plan, fd, env);
}

/** The spawn request for a handler of `plan` on `fd` with the environment `env`. */
export function handlerRequest(plan: ServicePlan, fd: number, env: Record<string, string>): SpawnRequest {
  const { entry: e, process: p } = plan;
  const C = native.constants;
  const rlimits = (Object.entries(p.rlimits) as Array<[RlimitKey, number]>).map(([k, v]): native.Rlimit => [C[RLIMITS[k]], v, v]);
  return { file: e.server, argv: e.argv, fd, env, uid: e.uid, gid: e.gid, groups: e.groups, umask: p.umask, nice: p.nice, rlimits, cwd: p.cwd };
}

/** Logs and counts a handler's end at `at` (outcome, duration, CPU time), or one that never ran. */
export function reportEnd(svc: ServiceCore, pid: number, end: HandlerEnd, peer: { peer: string; proxy?: string }, t0: number, at = svc.host.now()): void {
  const ms = at - t0;
  if (end.err) {
    svc.counters.spawnErrors += 1;
    svc.log.error({ ...peer, pid, err: { code: end.err.code, message: end.err.message } }, 'handler failed to start');
    svc.host.resources.ranOut(end.err);
    return;
  }
  countExit(svc.counters, pid, end, ms, at);
  if (svc.host.settings.logConnections || svc.plan.log?.onSuccess.length) svc.log.info({ ...peer, pid, code: end.code, signal: end.signal, ms, ...usageFields(end) }, 'connection');
  else if (end.signal || end.code) svc.log.debug({ ...peer, pid, code: end.code, signal: end.signal, ms, ...usageFields(end) }, 'handler ended abnormally');
}

/** What a handler's end record says of its cost (only when logged: this runs once per exit). */
function usageFields(end: HandlerEnd): { cpuUserMs?: number; cpuSystemMs?: number; maxRssKb?: number } {
  const u = end.usage;
  return u ? { cpuUserMs: Math.round(u.utimeUs / 1000), cpuSystemMs: Math.round(u.stimeUs / 1000), maxRssKb: u.maxRssKb } : {};
}

function peerCred(fd: number): { pid: number; uid: number; gid: number } | null {
  try {
    return native.getpeercred(fd);
  } catch {
    return null;
  }
}
