// Builds a handler's environment: PATH plus the UCSPI variables describing the connection
// (tcp-environ(5)), and REMOTE_HOST. Pure: addresses in, a plain object out.
import { unmapAddress } from '../addr/client.js';
import type { Transport } from '../config/types.js';
import type { SockAddr } from '../native/index.js';

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

function put(env: Record<string, string>, prefix: string, side: 'LOCAL' | 'REMOTE', a: SockAddr | null): void {
  if (!a) return;
  if (a.family === 'unix') {
    if (a.path) env[`${prefix}${side}PATH`] = a.path;
    return;
  }
  env[`${prefix}${side}IP`] = unmapAddress(a.address);
  env[`${prefix}${side}PORT`] = String(a.port);
}

/** The environment for one handler; `extra` (settings) is applied last. */
export function handlerEnv(info: ConnectionInfo, extra: Record<string, string> = {}): Record<string, string> {
  const prefix = PREFIX[info.transport];
  const env: Record<string, string> = { PATH: HANDLER_PATH, PROTO: prefix };
  put(env, prefix, 'LOCAL', info.local);
  put(env, prefix, 'REMOTE', info.remote);
  if (info.remote && info.remote.family !== 'unix') env.REMOTE_HOST = unmapAddress(info.remote.address);
  if (info.cred) {
    env[`${prefix}REMOTEPID`] = String(info.cred.pid);
    // Effective ids, named as ucspi-ipc (s6-ipcserver) names them.
    env[`${prefix}REMOTEEUID`] = String(info.cred.uid);
    env[`${prefix}REMOTEEGID`] = String(info.cred.gid);
  }
  return { ...env, ...extra };
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
