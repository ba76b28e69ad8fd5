// Shared by the tests of the native addon (test/native/): fds closed whatever happens, readiness
// waited on through a Poller, errors caught, and child programs run with bounded time. No mocks,
// no sleeps; every wait is on an event with a bounded timeout.
import { spawn, type StdioOptions } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as native from '../../src/native/index.js';
import type { NativeError } from '../../src/native/index.js';
import { FIXTURE_BIN } from './daemon.js';

/** The addon itself, for scripts that run in a child node (a copy every user may read). */
export const ADDON = path.join(FIXTURE_BIN, 'fdsock.node');
/** Longest wait for one event. */
export const WAIT_MS = 5_000;

/** Runs `fn` with fds it registers, closing them all afterwards whatever happens. */
export async function withFds<T>(fn: (keep: (fd: number) => number) => T | Promise<T>): Promise<T> {
  const fds: number[] = [];
  try {
    return await fn((fd) => (fds.push(fd), fd));
  } finally {
    for (const fd of fds.reverse()) native.close(fd);
  }
}

/** Resolves with the events of the first readiness report on `fd`; the Poller is closed again. */
export function readiness(fd: number, events = native.constants.UV_READABLE): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      poller.close();
      reject(new Error(`fd ${fd} not ready within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const poller = new native.Poller(fd, (err, ev) => {
      clearTimeout(timer);
      poller.close();
      if (err) reject(err);
      else resolve(ev);
    });
    poller.start(events);
  });
}

/** Returns what `fn` throws (failing the test if it does not throw). */
export function thrown(fn: () => unknown): NativeError & { pid?: number; path?: string } {
  try {
    fn();
  } catch (err) {
    return err as NativeError;
  }
  throw new Error('expected an error');
}

/** Runs a program to completion with bounded time and returns its exit code and output. */
export async function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions; cwd?: string } = {}) {
  const child = spawn(file, args, {
    env: { ...process.env, ...opts.env },
    stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a CommonJS script in a child node with the addon at `require(process.env.ADDON)`. */
export function runNode(script: string, stdio?: StdioOptions, env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, ['-e', script], { env: { ADDON, ...env }, ...(stdio ? { stdio } : {}) });
}

/** The fd numbers a freshly exec'ed program inherits from us (as seen by /bin/sh itself). */
export async function inheritedFds(): Promise<number[]> {
  const { stdout } = await run('/bin/sh', ['-c', 'ls /proc/$$/fd']);
  return stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** A UDP socket bound to an ephemeral loopback port. */
export function udpClient(type: 'udp4' | 'udp6' = 'udp4'): Promise<dgram.Socket> {
  const s = dgram.createSocket(type);
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', () => resolve(s));
  });
}

/** The port an inet socket is bound to. */
export function portOf(fd: number): number {
  const a = native.getsockname(fd);
  if (a.family === 'unix') throw new Error('not an inet socket');
  return a.port;
}

/** The open-file flags of one of our fds, from /proc/self/fdinfo (O_NONBLOCK, O_CLOEXEC, …). */
export function fdFlags(fd: number): number {
  return parseInt(/^flags:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
}

/** A TCP connection on loopback: our accepted fd (blocking, as dispatch accepts it) and the client's socket. */
export async function acceptedPair(): Promise<{ fd: number; client: net.Socket }> {
  const C = native.constants;
  const lfd = native.socket(C.AF_INET, C.SOCK_STREAM);
  try {
    native.bind(lfd, '127.0.0.1', 0);
    native.listen(lfd, 1);
    const client = net.connect(portOf(lfd), '127.0.0.1');
    client.on('error', () => {});
    await once(client, 'connect');
    native.setNonBlocking(lfd, false);
    return { fd: native.accept(lfd, false)!.fd, client };
  } finally {
    native.close(lfd);
  }
}

/** Whether this machine can bind ::1 (IPv6 loopback); tests that need it skip otherwise. */
export const hasIpv6: boolean = (() => {
  const C = native.constants;
  const fd = native.socket(C.AF_INET6, C.SOCK_STREAM);
  try {
    native.bind(fd, '::1', 0);
    return true;
  } catch {
    return false;
  } finally {
    native.close(fd);
  }
})();
