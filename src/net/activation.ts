// Sockets handed to ninetd itself by a service manager (systemd's LISTEN_FDS protocol,
// sd_listen_fds(3)): take them from the environment, and find the one an entry should adopt
// instead of binding its own. It does not bind or watch anything.
import type { ServiceEntry } from '../config/types.js';
import * as native from '../native/index.js';
import type { SockAddr } from '../native/index.js';

/** First fd of the LISTEN_FDS range. */
const SD_LISTEN_FDS_START = 3;

/** A socket the service manager passed us. */
export interface InheritedSocket {
  fd: number;
  /** FileDescriptorName= of the socket unit, or '' when none was given. */
  name: string;
  /** SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET. */
  type: number;
  address: SockAddr;
}

/** The sockets passed to this process, and LISTEN_* removed from `env` so nothing passes them on. */
export function takeListenFds(env: NodeJS.ProcessEnv, pid: number): InheritedSocket[] {
  const count = Number(env.LISTEN_FDS);
  const forUs = Number(env.LISTEN_PID) === pid;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  for (const k of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'LISTEN_PIDFDID']) delete env[k];
  if (!forUs || !Number.isInteger(count) || count <= 0) return [];
  const out: InheritedSocket[] = [];
  for (let i = 0; i < count; i++) {
    const fd = SD_LISTEN_FDS_START + i;
    try {
      const type = native.getsockopt(fd, native.constants.SOL_SOCKET, native.constants.SO_TYPE);
      out.push({ fd, name: names[i] === 'unknown' ? '' : (names[i] ?? ''), type, address: native.getsockname(fd) });
    } catch {
      // not a socket (a FIFO or a closed fd): nothing any entry can adopt
    }
  }
  return out;
}

const TYPES = { dgram: 'SOCK_DGRAM', seqpacket: 'SOCK_SEQPACKET', stream: 'SOCK_STREAM' } as const;

/** True when the passed socket listens where the entry would. */
function sameAddress(e: ServiceEntry, a: SockAddr): boolean {
  if (e.family === 'unix') return a.family === 'unix' && a.path === e.path;
  if (a.family === 'unix' || e.port === 0 || a.port !== e.port) return false;
  if (a.family !== (e.family === 'inet4' ? 'IPv4' : 'IPv6')) return false;
  if (e.host === '*') return a.address === '0.0.0.0' || a.address === '::';
  return a.address === e.host.replace(/%.*$/, '');
}

/** The passed socket for `e`: one named like the service, else one bound to its address; same socket type. */
export function matchInherited(pool: readonly InheritedSocket[], e: ServiceEntry): InheritedSocket | undefined {
  const type = native.constants[TYPES[e.socketType]];
  const candidates = pool.filter((s) => s.type === type);
  return candidates.find((s) => s.name !== '' && s.name === e.service) ?? candidates.find((s) => sameAddress(e, s.address));
}
