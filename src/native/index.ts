// Loads the C addon (src/native/*.c, its exports table in addon.c) on first use and gives its
// system calls TypeScript types. It is the only module that touches the addon, and importing it
// loads nothing: `ninetd --help` works without a built addon. It adds no policy: no retries, no
// name resolution, no fallbacks; callers decide what an error means.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A socket address as the addon reports and accepts it; unix `path` is '' when unnamed and '@name' when abstract. */
export type SockAddr =
  | { family: 'IPv4' | 'IPv6'; address: string; port: number; scopeId?: number }
  | { family: 'unix'; path: string };

/** An OS error thrown by the addon, shaped like Node's own (`errno` is negative). */
export type NativeError = Error & { code: string; errno: number; syscall: string };

/** The error `lockPidFile` throws when another process holds the lock. */
export type PidFileLockedError = NativeError & { code: 'EAGAIN'; pid: number; path: string };

/** A user as NSS reports it. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** A group as NSS reports it. */
export interface GroupEntry {
  name: string;
  gid: number;
}

/** Called by a Poller on readiness (`events` is a UV_* mask) or with an error; the handle is then already stopped. */
export type PollCallback = (err: NativeError | null, events: number) => void;

/** Watches one fd for readiness through Node's own event loop without ever reading it. */
export interface Poller {
  /** Starts or changes the watch (default UV_READABLE); an active Poller keeps the loop and itself alive. */
  start(events?: number): void;
  /** Stops watching (EPOLL_CTL_DEL); start() may be called again. */
  stop(): void;
  /** Releases the watch for good; does not close the fd; idempotent; start() throws afterwards. */
  close(): void;
  /** Whether an active Poller keeps the process running. */
  ref(on: boolean): void;
}

/** What a Poller does besides watching: the datagram fast path (dgram.c). */
export interface DatagramPath {
  /**
   * From now on answers the socket's datagrams in the addon (an IPv4 or IPv6 socket): DGRAM_MODES.echo
   * sends each one back unless the guard table (dgram-guard.ts; read at every datagram, held until
   * close) drops it, discard answers none. The callback then hears only of errors: a receive error
   * with `syscall` 'recvmmsg' (ENOMEM, ENOBUFS; the watch goes on), or the watch's own. Once only.
   */
  serveDatagrams(mode: (typeof DGRAM_MODES)[keyof typeof DGRAM_MODES], guard: Buffer): void;
  /** The datagrams serveDatagrams read and dropped since the last call: [read, dropped]. */
  takeCounts(): [number, number];
}

/** Constructor of Poller; throws EEXIST when the fd is already watched by this loop, and sets O_NONBLOCK on it. */
export interface PollerConstructor {
  new (fd: number, cb: PollCallback): Poller & DatagramPath;
}

/** What a Poller serving datagrams does with one that may be answered: the `mode` of `serveDatagrams`. */
export const DGRAM_MODES = { echo: 0, discard: 1 } as const;

/** What a Pump does with a connection's bytes: the `mode` of `serve`. */
export const PUMP_MODES = { echo: 0, discard: 1, generate: 2 } as const;

/** Called once when a pumped connection has ended: 'eof' (the client closed), 'idle', or an errno name. */
export type PumpEndCallback = (id: number, reason: string, bytesIn: number, bytesOut: number) => void;

/** What a Pump reports of one open connection (for tests and the state dump). */
export interface PumpInfo {
  bytesIn: number;
  bytesOut: number;
  /** 'write' while bytes wait for the client to read (it is not keeping up), else 'read'. */
  waiting: 'read' | 'write';
}

/**
 * Moves the bytes of in-process stream services on their fds from the event loop's readiness
 * watcher, at most `budget` bytes per connection per turn; no JavaScript runs per byte.
 */
export interface Pump {
  /** Takes a connected fd (made non-blocking, closed when it ends) and serves it; returns its id. On a throw the fd is still the caller's. */
  serve(fd: number, mode: (typeof PUMP_MODES)[keyof typeof PUMP_MODES]): number;
  /** Ends every connection (closing its fd) without calling back; idempotent. */
  close(): void;
  /** An open connection's counts, or null. */
  info(id: number): PumpInfo | null;
  /** Connections open now. */
  readonly size: number;
}

/** Constructor of Pump: `idleMs` (0: none) ends a connection where nothing moved that long; `pattern` is what generate sends. */
export interface PumpConstructor {
  new (onEnd: PumpEndCallback, idleMs: number, budget: number, pattern: Buffer): Pump;
}

/** The names of the addon's numeric constants, sorted. */
const CONSTANT_NAMES = [
  'AF_INET',
  'AF_INET6',
  'AF_UNIX',
  'IPPROTO_IPV6',
  'IPPROTO_TCP',
  'IPV6_V6ONLY',
  'O_NONBLOCK',
  'RLIMIT_AS',
  'RLIMIT_CPU',
  'RLIMIT_DATA',
  'RLIMIT_NOFILE',
  'RLIMIT_NPROC',
  'RLIMIT_RSS',
  'RLIMIT_STACK',
  'SHUT_WR',
  'SOCK_DGRAM',
  'SOCK_SEQPACKET',
  'SOCK_STREAM',
  'SOL_SOCKET',
  'SO_ERROR',
  'SO_KEEPALIVE',
  'SO_REUSEADDR',
  'SO_TYPE',
  'TCP_NODELAY',
  'UV_READABLE',
  'UV_WRITABLE',
] as const;

/** Numeric constants of this platform, for the calls below. */
export type Constants = { readonly [K in (typeof CONSTANT_NAMES)[number]]: number };

/** A resource limit for a child: [RLIMIT_*, soft, hard]; -1 or Infinity is unlimited. */
export type Rlimit = [resource: number, soft: number, hard: number];

/** How a spawned child is set up between clone and execve; see spawnHandler. */
export interface SpawnOptions {
  /** Becomes the child's fds 0, 1 and 2 (left blocking). */
  fd: number;
  /** -1 leaves the id unchanged. */
  uid: number;
  gid: number;
  /** Supplementary groups to set; null leaves them unchanged. */
  groups: number[] | null;
  umask: number;
  /** Absolute nice value; 0 leaves it unchanged. */
  nice: number;
  rlimits: Rlimit[];
  cwd: string;
  /** true (the default): a session of its own (setsid); false: a process group of its own in ours (setpgid). */
  session?: boolean;
}

/** A started child: its pid, and a close-on-exec pidfd that becomes readable when it exits. */
export interface SpawnedChild {
  pid: number;
  pidfd: number;
}

/** How a child ended: exit code, or the name of the signal that killed it ('SIGSEGV'), and what it cost. */
export interface ChildStatus {
  code: number | null;
  signal: string | null;
  /** User CPU time of the child, in microseconds (its own waited-for children included). */
  utimeUs: number;
  /** System CPU time of the child, in microseconds (its own waited-for children included). */
  stimeUs: number;
  /**
   * Peak resident set size, in KiB, of the child or of its largest waited-for child. Never below
   * the supervisor's own RSS at spawn time: until execve the child runs in our memory (CLONE_VM),
   * and Linux keeps that memory's high-water mark as the child's.
   */
  maxRssKb: number;
}

/** Which connection value a Launcher's template variable takes (its `slots`): none, or an address or port. */
export const ENV_SLOTS = { fixed: 0, localIp: 1, localPort: 2, remoteIp: 3, remotePort: 4 } as const;

/** What a Launcher starts for each connection: spawnHandler's arguments once, for every connection. */
export interface LaunchTemplate {
  /** Names the launcher's records. */
  id: number;
  file: string;
  argv: string[];
  /** "NAME=VALUE", or "NAME=" where `slots` names the connection value that follows. */
  env: string[];
  /** One per `env` entry: an ENV_SLOTS value. */
  slots: number[];
  /** As spawnHandler's; `fd` is replaced by each connection's. */
  opts: SpawnOptions;
  /** Checked to exist before each spawn; null: no check. */
  user: string | null;
}

/** What a Launcher reports, in batches (launchRecords); `at` is ms since the epoch. */
export type LaunchRecord =
  /** A handler started for a connection from `peer` ('1.2.3.4:5', '[::1]:5'); `fd` (rare) is its pidfd, when the launcher could not watch it. */
  | { kind: 'start'; id: number; at: number; pid: number; peer: string; fd?: number }
  | ({ kind: 'end'; id: number; at: number; pid: number } & ChildStatus)
  /** A connection accepted but not served (the budget spent, the user gone, the spawn failed): it is the caller's now. */
  | { kind: 'handback'; id: number; at: number; fd: number; peer: SockAddr }
  /** The launcher stopped watching: 'full', 'budget', 'user', 'spawn' or 'error'. */
  | { kind: 'paused'; id: number; at: number; why: string }
  | { kind: 'error'; id: number; at: number; error: NativeError };

/** A batch as the addon hands it over: FIELDS numbers per record, and each record's other part. */
type RawBatch = [nums: Float64Array, extra: unknown[]];

const KINDS = ['start', 'end', 'handback', 'paused', 'error'] as const;
/** Numbers per record: kind, id, pid, fd, at, code, utimeUs, stimeUs, maxRssKb (launch.c). */
const FIELDS = 9;

function decode([nums, extra]: RawBatch): LaunchRecord[] {
  const out: LaunchRecord[] = [];
  for (let i = 0, o = 0; o < nums.length; i++, o += FIELDS) {
    const kind = KINDS[nums[o]!]!;
    const id = nums[o + 1]!;
    const at = nums[o + 4]!;
    const fd = nums[o + 3]!;
    const x = extra[i];
    switch (kind) {
      case 'start':
        out.push(fd >= 0 ? { kind, id, at, pid: nums[o + 2]!, peer: x as string, fd } : { kind, id, at, pid: nums[o + 2]!, peer: x as string });
        break;
      case 'end': {
        const signal = (x as string | undefined) ?? null;
        out.push({ kind, id, at, pid: nums[o + 2]!, code: signal ? null : nums[o + 5]!, signal, utimeUs: nums[o + 6]!, stimeUs: nums[o + 7]!, maxRssKb: nums[o + 8]! });
        break;
      }
      case 'handback':
        out.push({ kind, id, at, fd, peer: x as SockAddr });
        break;
      case 'paused':
        out.push({ kind, id, at, why: x as string });
        break;
      case 'error':
        out.push({ kind, id, at, error: x as NativeError });
        break;
    }
  }
  return out;
}

/**
 * Accepts on a nowait stream socket and starts a handler from its template for each connection,
 * in C, on the addon's launch threads. A Launcher that watches keeps the process alive.
 */
export interface Launcher {
  /** Watches the socket: at most `instances` handlers at once (0: no limit), at most `budget` more (-1: no limit). */
  start(instances: number, budget: number): void;
  /** Stops watching: once it returns, no connection is accepted; started handlers are still reported. */
  stop(): void;
  /** For good (the socket stays open); started handlers are still reported until they end. Idempotent. */
  close(): void;
  /** Handlers started and not yet ended, with those being started (a launch thread's clone in flight). */
  readonly running: number;
}

export interface LauncherConstructor {
  new (fd: number, tpl: LaunchTemplate): Launcher;
}

interface Addon {
  socket(domain: number, type: number): number;
  setsockopt(fd: number, level: number, name: number, value: number): void;
  setLinger(fd: number, seconds: number): void;
  bind(fd: number, host: string, port: number): void;
  bindUnix(fd: number, path: string, mode: number): void;
  chownSocketFile(fd: number, path: string, uid: number, gid: number): void;
  connect(fd: number, host: string, port: number): void;
  listen(fd: number, backlog: number): void;
  accept(fd: number, nonblock: boolean): (SockAddr & { fd: number }) | null;
  getsockname(fd: number): SockAddr;
  getsockopt(fd: number, level: number, name: number): number;
  getpeercred(fd: number): { pid: number; uid: number; gid: number };
  recvfrom(fd: number, buf: Buffer, peek?: boolean): { bytes: number; from: SockAddr } | null;
  send(fd: number, buf: Buffer): number;
  sendto(fd: number, buf: Buffer, to: SockAddr): number;
  recvmmsgRaw(fd: number, bufs: Buffer, stride: number, addrs: Buffer, lens: Buffer): number | null;
  sendmmsgRaw(fd: number, bufs: Buffer, stride: number, addrs: Buffer, lens: Buffer, count: number): number;
  sendtoUnix(fd: number, data: Buffer, path: string): number;
  setNonBlocking(fd: number, on: boolean): void;
  close(fd: number): void;
  cloexecFrom(minFd: number): void;
  lockPidFile(path: string): number;
  getpwnam(name: string): PasswdEntry | null;
  getgrnam(name: string): GroupEntry | null;
  getgrouplist(user: string, gid: number): number[];
  spawnHandler(file: string, argv: string[], env: string[], opts: SpawnOptions): SpawnedChild;
  waitPidfd(pidfd: number): ChildStatus | null;
  pidfdOpen(pid: number): number;
  trimMemory(): boolean;
  pipe(): RelayPipe;
  splice(fdIn: number, fdOut: number, len: number): number | null;
  shutdown(fd: number, how: number): void;
  launchRecords(cb: (batch: RawBatch) => void, ring: boolean): LaunchReaper;
  launchDrain(): RawBatch;
  Launcher: LauncherConstructor;
  Poller: PollerConstructor;
  Pump: PumpConstructor;
  constants: Constants;
}

/** A relay pipe: both ends close-on-exec and non-blocking, and its capacity in bytes. */
export interface RelayPipe {
  read: number;
  write: number;
  size: number;
}

/** Where the addon is: relative to this file, so it resolves from src/native/ (tests) and dist/native/ (built) alike. */
export const ADDON_PATH = fileURLToPath(new URL('../../build/Release/fdsock.node', import.meta.url));

/** Thrown by any call into the addon while it is missing or cannot be loaded; `cause` is require's error. */
export class NativeMissingError extends Error {
  readonly code = 'ERR_NATIVE_MISSING';
  readonly path: string;
  constructor(path: string, cause: unknown) {
    const missing = (cause as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND';
    const why = missing ? 'is missing' : `cannot be loaded (${firstLine(cause)})`;
    super(`the native addon ${path} ${why}: run \`npm install\` in the ninetd directory`, { cause });
    this.name = 'NativeMissingError';
    this.path = path;
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n', 1)[0] ?? '';
}

// The one piece of module state: the loaded addon, kept so that hot paths (a datagram, an
// accept) pay a property read rather than a require() lookup. A failed load is not kept, so a
// later call tries again.
let loaded: Addon | undefined;

/** The addon, loaded on first use; throws NativeMissingError when it cannot be. */
function addon(): Addon {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)(ADDON_PATH) as Addon;
  } catch (err) {
    throw new NativeMissingError(ADDON_PATH, err);
  }
  return loaded;
}

/** The addon's constants (families, socket types and options, O_NONBLOCK, RLIMIT_*, UV_READABLE); a read loads the addon. */
export const constants: Constants = Object.freeze(
  Object.defineProperties(
    {},
    Object.fromEntries(CONSTANT_NAMES.map((name) => [name, { enumerable: true, get: () => addon().constants[name] }])),
  ),
) as Constants;

/** socket(2) with SOCK_CLOEXEC | SOCK_NONBLOCK. */
export function socket(domain: number, type: number): number {
  return addon().socket(domain, type);
}

/** setsockopt(2) for an int option. */
export function setsockopt(fd: number, level: number, name: number, value: number): void {
  addon().setsockopt(fd, level, name, value);
}

/** setsockopt(2) SO_LINGER: linger `seconds` on close (0 resets the connection); negative turns it off. */
export function setLinger(fd: number, seconds: number): void {
  addon().setLinger(fd, seconds);
}

/** getsockopt(2) for an int option (SO_TYPE, SO_DOMAIN, …). */
export function getsockopt(fd: number, level: number, name: number): number {
  return addon().getsockopt(fd, level, name);
}

/** bind(2); the family is the socket's own; host '' or '*' is any, IPv6 may carry %scope, unix host is a path or '@abstract'. */
export function bind(fd: number, host: string, port: number): void {
  addon().bind(fd, host, port);
}

/** bind(2) of a unix socket to a file path, born with `mode` (umask ~mode on a helper thread where unshare(CLONE_FS) is allowed). */
export function bindUnix(fd: number, path: string, mode: number): void {
  addon().bindUnix(fd, path, mode);
}

/**
 * Gives the socket file bound on `fd` to uid:gid (-1 leaves one unchanged), through an fd opened
 * with O_PATH | O_NOFOLLOW, never by path; throws ELOOP ('open') for a symlink and ENOTSOCK,
 * EPERM, EMLINK or ESTALE ('verify') for anything but that very socket, changing nothing.
 */
export function chownSocketFile(fd: number, path: string, uid: number, gid: number): void {
  addon().chownSocketFile(fd, path, uid, gid);
}

/** connect(2), addressed as bind(); a non-blocking socket may throw EINPROGRESS or EAGAIN. */
export function connect(fd: number, host: string, port = 0): void {
  addon().connect(fd, host, port);
}

/** listen(2) */
export function listen(fd: number, backlog: number): void {
  addon().listen(fd, backlog);
}

/** accept4(2) with SOCK_CLOEXEC (blocking unless `nonblock`); null when nothing is pending (EAGAIN, ECONNABORTED, EINTR). */
export function accept(fd: number, nonblock = false): (SockAddr & { fd: number }) | null {
  return addon().accept(fd, nonblock);
}

/** getsockname(2) */
export function getsockname(fd: number): SockAddr {
  return addon().getsockname(fd);
}

/** getsockopt(2) SO_PEERCRED: the process at the other end of a unix socket. */
export function getpeercred(fd: number): { pid: number; uid: number; gid: number } {
  return addon().getpeercred(fd);
}

/** recvfrom(2) with MSG_DONTWAIT into `buf` (with `peek`, MSG_PEEK: the datagram stays queued); null when nothing is queued. */
export function recvfrom(fd: number, buf: Buffer, peek = false): { bytes: number; from: SockAddr } | null {
  return addon().recvfrom(fd, buf, peek);
}

/** send(2) with MSG_DONTWAIT | MSG_NOSIGNAL on a connected socket; returns the bytes that fitted (EAGAIN when none did). */
export function send(fd: number, buf: Buffer): number {
  return addon().send(fd, buf);
}

/** sendto(2) with MSG_DONTWAIT | MSG_NOSIGNAL to an inet or unix address; returns the bytes sent. */
export function sendto(fd: number, buf: Buffer, to: SockAddr): number {
  return addon().sendto(fd, buf, to);
}

/**
 * recvmmsg(2) with MSG_DONTWAIT on an IPv4 or IPv6 socket: datagram i goes to `bufs` at
 * i * stride (truncated to stride bytes), its length to int32 i of `lens` (4-byte aligned), its
 * sender as the kernel's sockaddr to `addrs` at i * 28 (see sockaddr.ts); as many as the three
 * buffers have room for, 64 at most. The number read, or null when nothing is queued. The
 * datagram fast path: no object is made per datagram.
 */
export function recvmmsgRaw(fd: number, bufs: Buffer, stride: number, addrs: Buffer, lens: Buffer): number | null {
  return addon().recvmmsgRaw(fd, bufs, stride, addrs, lens);
}

/**
 * sendmmsg(2) with MSG_DONTWAIT | MSG_NOSIGNAL of the first `count` slots laid out as
 * recvmmsgRaw fills them, each to the address in its slot; a slot whose length is negative is
 * skipped, and a reply the kernel refuses is lost alone. The number sent.
 */
export function sendmmsgRaw(fd: number, bufs: Buffer, stride: number, addrs: Buffer, lens: Buffer, count: number): number {
  return addon().sendmmsgRaw(fd, bufs, stride, addrs, lens, count);
}

/** sendto(2) on a unix datagram socket to a path or '@abstract' name (sd_notify, /dev/log). */
export function sendtoUnix(fd: number, data: Buffer, path: string): number {
  return addon().sendtoUnix(fd, data, path);
}

/** Sets or clears O_NONBLOCK on the open file description (shared with every process holding it). */
export function setNonBlocking(fd: number, on: boolean): void {
  addon().setNonBlocking(fd, on);
}

/** close(2) */
export function close(fd: number): void {
  addon().close(fd);
}

/** Marks every fd >= minFd close-on-exec (close_range(2), or /proc/self/fd on old kernels). */
export function cloexecFrom(minFd: number): void {
  addon().cloexecFrom(minFd);
}

/**
 * Creates and write-locks a pid file and writes our pid; keep the fd open for life. Throws
 * PidFileLockedError when held, and from 'open' ELOOP for a symlink at the path (never followed)
 * or EINVAL for anything but a regular file (a FIFO does not block it).
 */
export function lockPidFile(path: string): number {
  return addon().lockPidFile(path);
}

/** getpwnam_r(3) through NSS; null when there is no such user. */
export function getpwnam(name: string): PasswdEntry | null {
  return addon().getpwnam(name);
}

/** getgrnam_r(3) through NSS; null when there is no such group. */
export function getgrnam(name: string): GroupEntry | null {
  return addon().getgrnam(name);
}

/** getgrouplist(3): every group `user` belongs to, `gid` included. */
export function getgrouplist(user: string, gid: number): number[] {
  return addon().getgrouplist(user, gid);
}

/**
 * clone(2) (CLONE_VM | CLONE_VFORK | CLONE_PIDFD) + execve(2): starts `file` with `argv` and exactly
 * `env` ("K=V"), in a new session or a new process group (`opts.session`), with default signal
 * dispositions and an empty mask, `opts.fd` on 0, 1 and 2, then groups, gid, uid (in that order,
 * by raw system call), umask, nice, limits and cwd. Returns once the child has exec'd; a failure
 * before that throws a NativeError whose `syscall` names the step ('setgid', 'chdir', 'execve',
 * …), with that child already reaped.
 */
export function spawnHandler(file: string, argv: string[], env: string[], opts: SpawnOptions): SpawnedChild {
  return addon().spawnHandler(file, argv, env, opts);
}

/** waitid(2) P_PIDFD, WEXITED | WNOHANG: reaps an ended child and says how it ended and its CPU times and peak RSS; null while it runs. */
export function waitPidfd(pidfd: number): ChildStatus | null {
  return addon().waitPidfd(pidfd);
}

/** pidfd_open(2): a close-on-exec pidfd for `pid`; throws ENOSYS on kernels without pidfds. */
export function pidfdOpen(pid: number): number {
  return addon().pidfdOpen(pid);
}

/** Watches an fd for readiness (uv_poll) without reading it; see the Poller interface. `new` loads the addon if needed. */
export const Poller = function Poller(fd: number, cb: PollCallback): Poller & DatagramPath {
  return new (addon().Poller)(fd, cb);
} as unknown as PollerConstructor;

/** The byte pump of in-process stream services; see the Pump interface. `new` loads the addon if needed. */
export const Pump = function Pump(onEnd: PumpEndCallback, idleMs: number, budget: number, pattern: Buffer): Pump {
  return new (addon().Pump)(onEnd, idleMs, budget, pattern);
} as unknown as PumpConstructor;

/** Accepts and spawns in C for a nowait stream service; see the Launcher interface. `new` loads the addon if needed. */
export const Launcher = function Launcher(fd: number, tpl: LaunchTemplate): Launcher {
  return new (addon().Launcher)(fd, tpl);
} as unknown as LauncherConstructor;

/** How the Launchers learn of their handlers' exits: an io_uring waitid per child (Linux 6.7), or a pidfd per child. */
export type LaunchReaper = 'io_uring' | 'pidfd';

/**
 * Where every Launcher's records go, in batches (at most about 100 ms late; at once when one
 * pauses). The first call (or Launcher) makes the reaper and starts the launch threads: on
 * io_uring where the kernel has its waitid operation, unless `ring` is false. Says which it is.
 */
export function launchRecords(cb: (records: LaunchRecord[]) => void, ring = true): LaunchReaper {
  return addon().launchRecords((batch) => cb(decode(batch)), ring);
}

/** The records not yet handed to launchRecords' callback, now. */
export function launchDrain(): LaunchRecord[] {
  return decode(addon().launchDrain());
}

/** malloc_trim(3): gives freed malloc memory back to the system (after start-up and reloads); true when some was. */
export function trimMemory(): boolean {
  return addon().trimMemory();
}

/** pipe2(2), close-on-exec and non-blocking, enlarged for relaying where the kernel allows. */
export function pipe(): RelayPipe {
  return addon().pipe();
}

/** splice(2) of up to `len` bytes, non-blocking: bytes moved, 0 at end of file, null when nothing can move now. */
export function splice(fdIn: number, fdOut: number, len: number): number | null {
  return addon().splice(fdIn, fdOut, len);
}

/** shutdown(2) (`how` is constants.SHUT_WR etc.); a peer already gone is not an error. */
export function shutdown(fd: number, how: number): void {
  addon().shutdown(fd, how);
}
