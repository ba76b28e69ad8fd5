// Turns a ServiceEntry into a bound (and, for connection types, listening) socket. It does not
// watch the socket or dispatch connections.
import { lstatSync, unlinkSync } from 'node:fs';
import type { ServiceEntry } from '../config/types.js';
import * as native from '../native/index.js';

const { constants: C } = native;

/** Default listen backlog (-q changes it); the kernel caps it at net.core.somaxconn. */
export const BACKLOG = 1024;

/** How to bind: the listen backlog of stream and seqpacket sockets (default BACKLOG). */
export interface BindOptions {
  backlog?: number;
}

// Names of native constants, read when a socket is made: reading them at import would load the addon.
const DOMAIN = { inet4: 'AF_INET', inet6: 'AF_INET6', inet46: 'AF_INET6', unix: 'AF_UNIX' } as const;
const TYPE = { dgram: 'SOCK_DGRAM', seqpacket: 'SOCK_SEQPACKET', stream: 'SOCK_STREAM' } as const;

/** Error raised when a service's socket cannot be set up; `cause` is the OS error. */
export class BindError extends Error {
  readonly code = 'ERR_BIND';
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
  }
}

/** True when a unix socket path is in use by a live server (something accepts or receives there). */
function unixPathLive(path: string, type: number): boolean {
  const probe = native.socket(C.AF_UNIX, type);
  try {
    native.connect(probe, path);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ECONNREFUSED';
  } finally {
    native.close(probe);
  }
}

/** Removes a socket file left by a dead instance; refuses to touch a live one or a non-socket. */
function clearStaleUnixPath(path: string, type: number): void {
  if (path.startsWith('@')) return;
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) return; // bind will fail with EADDRINUSE and say so
  if (unixPathLive(path, type)) return;
  unlinkSync(path);
}

/** Where an entry binds, as people write it: `127.0.0.1:7`, `[::1]:7`, `*:7`, or the unix path. */
export function bindAddressText(e: ServiceEntry): string {
  if (e.family === 'unix') return e.path;
  return `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

/**
 * The BindError message: where the entry is, what it binds, the call and the OS's words, and for
 * EACCES on a port below 1024 what it takes: `etc/inetd.conf:3: echo/tcp on *:7: bind: permission
 * denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)`.
 */
export function bindErrorMessage(e: ServiceEntry, err: NodeJS.ErrnoException): string {
  const what = err.syscall ?? 'socket';
  const why = err.message.replace(/^\w+: /, '');
  const low = err.code === 'EACCES' && e.family !== 'unix' && e.port > 0 && e.port < 1024;
  const hint = low ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : '';
  return `${e.file}:${e.line}: ${e.service}/${e.protocol} on ${bindAddressText(e)}: ${what}: ${why}${hint}`;
}

/** Binds the entry's socket and returns its fd; stream and seqpacket sockets also listen. */
export function bindService(e: ServiceEntry, opts: BindOptions = {}): number {
  const type = C[TYPE[e.socketType]];
  if (e.family === 'unix') clearStaleUnixPath(e.path, type);
  let fd = -1;
  try {
    fd = native.socket(C[DOMAIN[e.family]], type);
    if (e.family !== 'unix' && e.socketType !== 'dgram') native.setsockopt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1);
    if (e.family === 'inet6' || e.family === 'inet46') {
      native.setsockopt(fd, C.IPPROTO_IPV6, C.IPV6_V6ONLY, e.family === 'inet6' ? 1 : 0);
    }
    if (e.unixOwner) bindSocketFile(fd, e.path, e.unixOwner);
    else native.bind(fd, e.family === 'unix' ? e.path : e.host === '*' ? '' : e.host, e.port);
    if (e.socketType !== 'dgram') native.listen(fd, opts.backlog ?? BACKLOG);
    return fd;
  } catch (err) {
    if (fd >= 0) native.close(fd);
    throw new BindError(bindErrorMessage(e, err as NodeJS.ErrnoException), { cause: err });
  }
}

/**
 * Binds a unix socket file born with its mode, then gives it its owner through a descriptor
 * that must be the socket just bound: never a chmod or chown by path, which a user who can write
 * the directory could point at another file between bind and chown.
 */
function bindSocketFile(fd: number, path: string, o: NonNullable<ServiceEntry['unixOwner']>): void {
  native.bindUnix(fd, path, o.mode);
  if (process.getuid?.() !== 0 || (!o.user && !o.group)) return;
  const pw = o.user ? native.getpwnam(o.user) : null;
  const gr = o.group ? native.getgrnam(o.group) : null;
  native.chownSocketFile(fd, path, pw?.uid ?? -1, gr?.gid ?? -1);
}

/** Closes a service socket and removes its unix socket file. */
export function closeService(e: ServiceEntry, fd: number): void {
  native.close(fd);
  if (e.family === 'unix' && !e.path.startsWith('@')) {
    try {
      unlinkSync(e.path);
    } catch {
      // already gone
    }
  }
}
