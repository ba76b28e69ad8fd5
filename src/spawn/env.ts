// Builds a handler's environment: PATH plus the UCSPI variables describing the connection
// (tcp-environ(5)), and REMOTE_HOST. Pure: addresses in, a plain object out.
import { unmapAddress } from '../addr/client.js';
import type { Transport } from '../config/types.js';
import { ENV_SLOTS, type SockAddr } from '../native/index.js';

/** PATH given to every handler; the supervisor's own PATH is not passed on. */
export const HANDLER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** UCSPI PROTO value and variable prefix for each transport. */
const PREFIX = { tcp: 'TCP', udp: 'UDP', unix: 'IPC' } as const;

/** What a handler is told about its connection; any part may be unknown (null). */
export interface ConnectionInfo {
  transport: Transport;
  local: SockAddr | null;
  remote: SockAddr | null;
  /** Peer credentials of a unix stream or seqpacket connection. */
  cred?: { pid: number; uid: number; gid: number } | null;
}

/** An address as the environment shows it. */
type Shown = { ip: string; port: string } | { path: string };

function shown(a: SockAddr | null): Shown | null {
  if (!a) return null;
  return a.family === 'unix' ? { path: a.path } : { ip: unmapAddress(a.address), port: String(a.port) };
}

function put(env: Record<string, string>, prefix: string, side: 'LOCAL' | 'REMOTE', a: Shown | null): void {
  if (!a) return;
  if ('path' in a) {
    if (a.path) env[`${prefix}${side}PATH`] = a.path;
    return;
  }
  env[`${prefix}${side}IP`] = a.ip;
  env[`${prefix}${side}PORT`] = a.port;
}

function build(transport: Transport, local: Shown | null, remote: Shown | null, cred: ConnectionInfo['cred'], extra: Record<string, string>): Record<string, string> {
  const prefix = PREFIX[transport];
  const env: Record<string, string> = { PATH: HANDLER_PATH, PROTO: prefix };
  put(env, prefix, 'LOCAL', local);
  put(env, prefix, 'REMOTE', remote);
  if (remote && 'ip' in remote) env.REMOTE_HOST = remote.ip;
  if (cred) {
    env[`${prefix}REMOTEPID`] = String(cred.pid);
    // Effective ids, named as ucspi-ipc (s6-ipcserver) names them.
    env[`${prefix}REMOTEEUID`] = String(cred.uid);
    env[`${prefix}REMOTEEGID`] = String(cred.gid);
  }
  return { ...env, ...extra };
}

/** The environment for one handler; `extra` (settings) is applied last. */
export function handlerEnv(info: ConnectionInfo, extra: Record<string, string> = {}): Record<string, string> {
  return build(info.transport, shown(info.local), shown(info.remote), info.cred, extra);
}

/**
 * Stand-ins for the connection's addresses in a tcp handler's environment made once for every
 * connection (the addon's Launcher puts the real ones in): NUL cannot occur in a real value.
 */
const SLOTS = { '\0local.ip': 1, '\0local.port': 2, '\0remote.ip': 3, '\0remote.port': 4 } as const satisfies Record<string, (typeof ENV_SLOTS)[keyof typeof ENV_SLOTS]>;

/** The environment of every connection to a tcp service, with its addresses as slots; `slotOf` names each value's. */
export function templateEnv(extra: Record<string, string> = {}): Record<string, string> {
  return build('tcp', { ip: '\0local.ip', port: '\0local.port' }, { ip: '\0remote.ip', port: '\0remote.port' }, null, extra);
}

/** The slot of a templateEnv value (ENV_SLOTS): 0 for a value of its own. */
export function slotOf(value: string): number {
  return (SLOTS as Record<string, number>)[value] ?? ENV_SLOTS.fixed;
}

/** Variables a service's settings add: the `passenv` names from ninetd's own environment, then `env`. */
export function settingsEnv(passenv: readonly string[] | undefined, env: Record<string, string> | undefined, own: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of passenv ?? []) {
    const v = own[name];
    if (v !== undefined) out[name] = v;
  }
  return { ...out, ...env };
}
