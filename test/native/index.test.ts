// The native addon through src/native/index.ts, on real sockets (127.0.0.1, ::1, unix) and real
// child processes: no mocks, no sleeps; every wait is on an event with a bounded timeout.
import { AsyncLocalStorage, executionAsyncId } from 'node:async_hooks';
import { spawn, type StdioOptions } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readSync, rmSync } from 'node:fs';
import net from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';
import type { NativeError, SockAddr } from '../../src/native/index.js';
import { RawSockaddr } from '../../src/net/sockaddr.js';
import { FIXTURE_BIN } from '../helpers/daemon.js';

const C = native.constants;
const ADDON = path.join(FIXTURE_BIN, 'fdsock.node');
const WAIT_MS = 5_000;

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-native-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` with fds it registers, closing them all afterwards whatever happens. */
async function withFds<T>(fn: (keep: (fd: number) => number) => T | Promise<T>): Promise<T> {
  const fds: number[] = [];
  try {
    return await fn((fd) => (fds.push(fd), fd));
  } finally {
    for (const fd of fds.reverse()) native.close(fd);
  }
}

/** Resolves with the events of the first readiness report on `fd`; the Poller is closed again. */
function readiness(fd: number, events = C.UV_READABLE): Promise<number> {
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
function thrown(fn: () => unknown): NativeError & { pid?: number } {
  try {
    fn();
  } catch (err) {
    return err as NativeError;
  }
  throw new Error('expected an error');
}

/** Runs a program to completion with bounded time and returns its exit code and output. */
async function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {}) {
  const child = spawn(file, args, { env: { ...process.env, ...opts.env }, stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'] });
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
function runNode(script: string, stdio?: StdioOptions) {
  return run(process.execPath, ['-e', script], { env: { ADDON }, ...(stdio ? { stdio } : {}) });
}

/** The fd numbers a freshly exec'ed program inherits from us (as seen by /bin/sh itself). */
async function inheritedFds(): Promise<number[]> {
  const { stdout } = await run('/bin/sh', ['-c', 'ls /proc/$$/fd']);
  return stdout.split(/\s+/).filter(Boolean).map(Number);
}

function udpClient(type: 'udp4' | 'udp6' = 'udp4'): Promise<dgram.Socket> {
  const s = dgram.createSocket(type);
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', () => resolve(s));
  });
}

function portOf(fd: number): number {
  const a = native.getsockname(fd);
  if (a.family === 'unix') throw new Error('not an inet socket');
  return a.port;
}

describe('Poller', () => {
  it('reports a queued UDP datagram and leaves it queued for whoever reads it', async () => {
    await withFds(async (keep) => {
      const fd = keep(native.socket(C.AF_INET, C.SOCK_DGRAM));
      native.bind(fd, '127.0.0.1', 0);
      const client = await udpClient();
      try {
        client.send('hello', portOf(fd), '127.0.0.1');
        const events = await readiness(fd);
        expect(events & C.UV_READABLE).toBe(C.UV_READABLE);

        const buf = Buffer.alloc(64);
        const r = native.recvfrom(fd, buf);
        expect(r).not.toBeNull();
        expect(buf.subarray(0, r!.bytes).toString()).toBe('hello');
        expect(r!.from).toEqual({ family: 'IPv4', address: '127.0.0.1', port: client.address().port });
        expect(native.recvfrom(fd, buf)).toBeNull(); // consumed exactly once
      } finally {
        client.close();
      }
    });
  });

  it('runs its callback in the async context it was created in', async () => {
    await withFds(async (keep) => {
      const fd = keep(native.socket(C.AF_INET, C.SOCK_DGRAM));
      native.bind(fd, '127.0.0.1', 0);
      const client = await udpClient();
      const als = new AsyncLocalStorage<string>();
      try {
        const seen = await als.run('ours', () => {
          const p = new Promise<{ store: string | undefined; id: number }>((resolve, reject) => {
            const timer = setTimeout(() => (poller.close(), reject(new Error('no event'))), WAIT_MS);
            const poller = new native.Poller(fd, () => {
              clearTimeout(timer);
              poller.close();
              resolve({ store: als.getStore(), id: executionAsyncId() });
            });
            poller.start();
          });
          client.send('x', portOf(fd), '127.0.0.1');
          return p;
        });
        expect(seen.store).toBe('ours');
        expect(seen.id).toBeGreaterThan(0);
        expect(native.recvfrom(fd, Buffer.alloc(8))?.bytes).toBe(1);
      } finally {
        client.close();
      }
    });
  });

  it('passes a socket error to the callback as an Error with a code and stops', async () => {
    await withFds(async (keep) => {
      const closedPort = await withFds((keepTmp) => {
        const tmp = keepTmp(native.socket(C.AF_INET, C.SOCK_DGRAM));
        native.bind(tmp, '127.0.0.1', 0);
        return portOf(tmp);
      });
      const fd = keep(native.socket(C.AF_INET, C.SOCK_DGRAM));
      native.connect(fd, '127.0.0.1', closedPort);
      native.sendto(fd, Buffer.from('x'), { family: 'IPv4', address: '127.0.0.1', port: closedPort });
      const err = await readiness(fd).then(
        () => null,
        (e: NativeError) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err!.code).toMatch(/^E[A-Z]+$/);
      expect(err!.errno).toBeLessThan(0);
      expect(err!.syscall).toBe('uv_poll');
    });
  });

  it('refuses a second Poller on a watched fd with EEXIST', async () => {
    await withFds((keep) => {
      const fd = keep(native.socket(C.AF_INET, C.SOCK_DGRAM));
      const first = new native.Poller(fd, () => {});
      first.start(); // libuv knows the fd once it is watched
      try {
        expect(thrown(() => new native.Poller(fd, () => {})).code).toBe('EEXIST');
      } finally {
        first.close();
      }
      const again = new native.Poller(fd, () => {}); // closing frees the fd for a new watch
      again.close();
    });
  });

  it('closing a stopped Poller after its fd number was reused leaves the new watch alone', async () => {
    await withFds(async (keep) => {
      const first = native.socket(C.AF_INET, C.SOCK_DGRAM);
      const stale = new native.Poller(first, () => {});
      stale.start();
      stale.stop();
      native.close(first); // against the rules (close the Poller first), as a late GC finalizer would be
      const fd = keep(native.socket(C.AF_INET, C.SOCK_DGRAM));
      expect(fd).toBe(first); // the lowest free number comes back
      native.bind(fd, '127.0.0.1', 0);
      const tx = keep(native.socket(C.AF_INET, C.SOCK_DGRAM));
      const ready = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => (live.close(), reject(new Error('the live watch was lost'))), WAIT_MS);
        const live = new native.Poller(fd, (err, ev) => {
          clearTimeout(timer);
          live.close();
          if (err) reject(err);
          else resolve(ev);
        });
        live.start();
      });
      // Two loop turns, so that a poll phase has run since start(): the live watch is now in epoll.
      await new Promise(setImmediate);
      await new Promise(setImmediate);
      stale.close();
      native.sendto(tx, Buffer.from('x'), { family: 'IPv4', address: '127.0.0.1', port: portOf(fd) });
      expect(await ready).toBe(C.UV_READABLE);
    });
  });

  it('throws from start() once closed, and close() may be called again', async () => {
    await withFds((keep) => {
      const fd = keep(native.socket(C.AF_INET, C.SOCK_DGRAM));
      const poller = new native.Poller(fd, () => {});
      poller.start();
      poller.ref(false);
      poller.stop();
      poller.close();
      poller.close();
      poller.stop();
      expect(thrown(() => poller.start()).code).toBe('EBADF');
    });
  });

  it('turns an exception thrown by the callback into uncaughtException', async () => {
    const script = `
      const a = require(process.env.ADDON);
      const dgram = require('node:dgram');
      const fd = a.socket(a.constants.AF_INET, a.constants.SOCK_DGRAM);
      a.bind(fd, '127.0.0.1', 0);
      const poller = new a.Poller(fd, () => { throw new Error('boom'); });
      process.on('uncaughtException', (e) => {
        console.log('caught ' + e.message);
        poller.close();
        a.close(fd);
        client.close();
      });
      poller.start();
      const client = dgram.createSocket('udp4');
      client.send('x', a.getsockname(fd).port, '127.0.0.1');
    `;
    const r = await runNode(script);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('caught boom\n');
    expect(r.code).toBe(0);
  });
});

describe('stream sockets', () => {
  it('accept returns null when nothing is pending, then the connecting peer with its address and port', async () => {
    await withFds(async (keep) => {
      const fd = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
      native.setsockopt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1);
      native.bind(fd, '127.0.0.1', 0);
      native.listen(fd, 16);
      expect(native.accept(fd)).toBeNull();

      const client = net.connect(portOf(fd), '127.0.0.1');
      try {
        await once(client, 'connect');
        await readiness(fd);
        const conn = native.accept(fd);
        expect(conn).not.toBeNull();
        keep(conn!.fd);
        expect(conn).toMatchObject({ family: 'IPv4', address: client.localAddress, port: client.localPort });
        expect(native.getpeername(conn!.fd)).toEqual({ family: 'IPv4', address: client.localAddress, port: client.localPort });
        expect(native.getsockname(conn!.fd)).toEqual({ family: 'IPv4', address: '127.0.0.1', port: portOf(fd) });
        expect(native.getFlags(conn!.fd) & C.O_NONBLOCK).toBe(0); // blocking unless asked
        expect(native.accept(fd)).toBeNull();
      } finally {
        client.destroy();
      }
    });
  });

  it('accept gives a non-blocking connection when asked', async () => {
    await withFds(async (keep) => {
      const fd = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
      native.bind(fd, '127.0.0.1', 0);
      native.listen(fd, 16);
      const client = net.connect(portOf(fd), '127.0.0.1');
      try {
        await once(client, 'connect');
        await readiness(fd);
        const conn = native.accept(fd, true);
        keep(conn!.fd);
        expect(native.getFlags(conn!.fd) & C.O_NONBLOCK).toBe(C.O_NONBLOCK);
      } finally {
        client.destroy();
      }
    });
  });

  it('bind on an address in use throws EADDRINUSE from bind', async () => {
    await withFds((keep) => {
      const a = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
      native.bind(a, '127.0.0.1', 0);
      native.listen(a, 1);
      const b = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
      const err = thrown(() => native.bind(b, '127.0.0.1', portOf(a)));
      expect(err).toBeInstanceOf(Error);
      expect(err).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', errno: -osConstants.errno.EADDRINUSE });
    });
  });

  it('bind takes only IP literals and ports in range, with EINVAL otherwise', async () => {
    await withFds((keep) => {
      const fd = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
      expect(thrown(() => native.bind(fd, 'localhost', 0))).toMatchObject({ code: 'EINVAL', syscall: 'bind' });
      expect(thrown(() => native.bind(fd, '127.0.0.1', 70000))).toMatchObject({ code: 'EINVAL', syscall: 'bind' });
    });
  });

  it("bind with '' or '*' binds the any address of the socket's family", async () => {
    await withFds((keep) => {
      const v4 = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
      native.bind(v4, '*', 0);
      expect(native.getsockname(v4)).toMatchObject({ family: 'IPv4', address: '0.0.0.0' });
      const v6 = keep(native.socket(C.AF_INET6, C.SOCK_STREAM));
      native.setsockopt(v6, C.IPPROTO_IPV6, C.IPV6_V6ONLY, 1);
      native.bind(v6, '', 0);
      expect(native.getsockname(v6)).toMatchObject({ family: 'IPv6', address: '::' });
    });
  });

  it('an IPv6 socket binds to ::1, with or without a %scope suffix', async () => {
    await withFds(async (keep) => {
      const fd = keep(native.socket(C.AF_INET6, C.SOCK_STREAM));
      native.bind(fd, '::1', 0);
      native.listen(fd, 4);
      expect(native.getsockname(fd)).toEqual({ family: 'IPv6', address: '::1', port: portOf(fd) });

      const client = net.connect(portOf(fd), '::1');
      try {
        await once(client, 'connect');
        await readiness(fd);
        const conn = native.accept(fd);
        keep(conn!.fd);
        expect(conn).toMatchObject({ family: 'IPv6', address: '::1', port: client.localPort });
      } finally {
        client.destroy();
      }

      const scoped = keep(native.socket(C.AF_INET6, C.SOCK_DGRAM));
      native.bind(scoped, '::1%lo', 0);
      expect(native.getsockname(scoped)).toMatchObject({ family: 'IPv6', address: '::1' });
      const bad = keep(native.socket(C.AF_INET6, C.SOCK_DGRAM));
      expect(thrown(() => native.bind(bad, '::1%nosuchif0', 0))).toMatchObject({ code: 'ENODEV', syscall: 'bind' });
    });
  });

  it('getpeercred on a unix stream connection reports our own pid, uid and gid', async () => {
    await withFds(async (keep) => {
      const sockPath = path.join(dir, 'cred.sock');
      const fd = keep(native.socket(C.AF_UNIX, C.SOCK_STREAM));
      native.bind(fd, sockPath, 0);
      native.listen(fd, 4);
      expect(native.getsockname(fd)).toEqual({ family: 'unix', path: sockPath });
      const client = net.connect(sockPath);
      try {
        await once(client, 'connect');
        await readiness(fd);
        const conn = native.accept(fd);
        keep(conn!.fd);
        expect(conn).toEqual({ fd: conn!.fd, family: 'unix', path: '' });
        expect(native.getpeercred(conn!.fd)).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
      } finally {
        client.destroy();
      }
    });
  });
});

describe('datagram sockets', () => {
  it('sendto answers a UDP sender at the address recvfrom reported', async () => {
    await withFds(async (keep) => {
      const fd = keep(native.socket(C.AF_INET, C.SOCK_DGRAM));
      native.bind(fd, '127.0.0.1', 0);
      const client = await udpClient();
      try {
        client.send('ping', portOf(fd), '127.0.0.1');
        await readiness(fd);
        const buf = Buffer.alloc(64);
        const r = native.recvfrom(fd, buf)!;
        const reply = once(client, 'message');
        expect(native.sendto(fd, Buffer.from('pong'), r.from)).toBe(4);
        const [msg] = (await Promise.race([reply, new Promise((_, no) => setTimeout(() => no(new Error('no reply')), WAIT_MS))])) as [Buffer];
        expect(msg.toString()).toBe('pong');
      } finally {
        client.close();
      }
    });
  });

  it.each([
    ['udp4', C.AF_INET, '127.0.0.1'],
    ['udp6', C.AF_INET6, '::1'],
  ] as const)('recvfromRaw leaves the %s sender as a sockaddr that sendtoRaw answers, and gives null when nothing is queued', async (type, family, host) => {
    await withFds(async (keep) => {
      const fd = keep(native.socket(family, C.SOCK_DGRAM));
      native.bind(fd, host, 0);
      const client = await udpClient(type);
      try {
        const buf = Buffer.alloc(64);
        const from = new RawSockaddr();
        expect(native.recvfromRaw(fd, buf, from.buf)).toBeNull();
        client.send('ping', portOf(fd), host);
        await readiness(fd);
        expect(native.recvfromRaw(fd, buf, from.buf)).toBe(4);
        expect(from.toSockAddr()).toEqual({ family: family === C.AF_INET ? 'IPv4' : 'IPv6', address: host, port: client.address().port });
        const reply = once(client, 'message');
        expect(native.sendtoRaw(fd, Buffer.from('pong'), from.buf)).toBe(4);
        const [msg] = (await Promise.race([reply, new Promise((_, no) => setTimeout(() => no(new Error('no reply')), WAIT_MS))])) as [Buffer];
        expect(msg.toString()).toBe('pong');
        expect(thrown(() => native.recvfromRaw(fd, buf, Buffer.alloc(16)))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
        expect(thrown(() => native.sendtoRaw(fd, buf, Buffer.alloc(28)))).toMatchObject({ code: 'EAFNOSUPPORT', syscall: 'sendto' });
      } finally {
        client.close();
      }
    });
  });

  it('send writes what fits on a connected socket without waiting, and throws EDESTADDRREQ on an unconnected datagram socket', async () => {
    await withFds(async (keep) => {
      const lfd = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
      native.bind(lfd, '127.0.0.1', 0);
      native.listen(lfd, 8);
      const client = net.connect(portOf(lfd), '127.0.0.1');
      client.pause(); // never reads: the send buffer fills
      client.on('error', () => {});
      try {
        await once(client, 'connect');
        await readiness(lfd);
        const conn = native.accept(lfd, false)!;
        keep(conn.fd);
        const big = Buffer.alloc(32 << 20);
        const sent = native.send(conn.fd, big);
        expect(sent).toBeGreaterThan(0);
        expect(sent).toBeLessThan(big.length);
        const udp = keep(native.socket(C.AF_INET, C.SOCK_DGRAM));
        expect(thrown(() => native.send(udp, Buffer.from('x')))).toMatchObject({ code: 'EDESTADDRREQ' });
      } finally {
        client.destroy();
      }
    });
  });

  it('sendto reaches an IPv6 UDP socket on ::1', async () => {
    await withFds(async (keep) => {
      const rx = keep(native.socket(C.AF_INET6, C.SOCK_DGRAM));
      native.bind(rx, '::1', 0);
      const tx = keep(native.socket(C.AF_INET6, C.SOCK_DGRAM));
      native.bind(tx, '::1', 0);
      native.sendto(tx, Buffer.from('six'), { family: 'IPv6', address: '::1', port: portOf(rx) });
      await readiness(rx);
      const r = native.recvfrom(rx, Buffer.alloc(16));
      expect(r).toEqual({ bytes: 3, from: { family: 'IPv6', address: '::1', port: portOf(tx) } });
    });
  });

  for (const [what, name] of [
    ['a path', () => path.join(dir, 'dgram.sock')],
    ['an abstract @name', () => `@ninetd-test-${process.pid}-${Date.now()}`],
  ] as const) {
    it(`sendtoUnix delivers to a unix datagram socket bound to ${what}`, async () => {
      await withFds(async (keep) => {
        const where = name();
        const rx = keep(native.socket(C.AF_UNIX, C.SOCK_DGRAM));
        native.bind(rx, where, 0);
        expect(native.getsockname(rx)).toEqual({ family: 'unix', path: where });
        const tx = keep(native.socket(C.AF_UNIX, C.SOCK_DGRAM));
        expect(native.sendtoUnix(tx, Buffer.from('READY=1'), where)).toBe(7);

        const buf = Buffer.alloc(64);
        const r = native.recvfrom(rx, buf);
        expect(r).toEqual({ bytes: 7, from: { family: 'unix', path: '' } });
        expect(buf.subarray(0, 7).toString()).toBe('READY=1');
        expect(native.recvfrom(rx, buf)).toBeNull();
      });
    });
  }

  it('sendto between bound unix datagram sockets reports the sender and can answer it', async () => {
    await withFds((keep) => {
      const a = keep(native.socket(C.AF_UNIX, C.SOCK_DGRAM));
      const b = keep(native.socket(C.AF_UNIX, C.SOCK_DGRAM));
      const aAddr: SockAddr = { family: 'unix', path: path.join(dir, 'a.sock') };
      const bAddr: SockAddr = { family: 'unix', path: `@ninetd-b-${process.pid}` };
      native.bind(a, aAddr.path, 0);
      native.bind(b, bAddr.path, 0);
      native.sendto(a, Buffer.from('hi'), bAddr);
      const buf = Buffer.alloc(16);
      const r = native.recvfrom(b, buf)!;
      expect(r.from).toEqual(aAddr);
      native.sendto(b, Buffer.from('yo'), r.from);
      expect(native.recvfrom(a, buf)).toEqual({ bytes: 2, from: bAddr });
    });
  });

  it('sendtoUnix to a path nobody is bound to throws from sendto', async () => {
    await withFds((keep) => {
      const tx = keep(native.socket(C.AF_UNIX, C.SOCK_DGRAM));
      expect(thrown(() => native.sendtoUnix(tx, Buffer.from('x'), path.join(dir, 'nobody.sock')))).toMatchObject({
        code: 'ENOENT',
        syscall: 'sendto',
      });
    });
  });
});

describe('file descriptors', () => {
  it('setNonBlocking and getFlags round-trip O_NONBLOCK', async () => {
    await withFds((keep) => {
      const fd = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
      expect(native.getFlags(fd) & C.O_NONBLOCK).toBe(C.O_NONBLOCK); // sockets start non-blocking
      native.setNonBlocking(fd, false);
      expect(native.getFlags(fd) & C.O_NONBLOCK).toBe(0);
      native.setNonBlocking(fd, true);
      expect(native.getFlags(fd) & C.O_NONBLOCK).toBe(C.O_NONBLOCK);
    });
  });

  it('close of a closed fd throws EBADF from close', () => {
    const fd = native.socket(C.AF_INET, C.SOCK_DGRAM);
    native.close(fd);
    expect(thrown(() => native.close(fd))).toMatchObject({ code: 'EBADF', syscall: 'close', errno: -osConstants.errno.EBADF });
  });

  it('socket throws with code and syscall for an unknown family', () => {
    expect(thrown(() => native.socket(12345, C.SOCK_STREAM))).toMatchObject({ code: 'EAFNOSUPPORT', syscall: 'socket' });
  });

  it('sockets, accepted connections and the pid file are not inherited by children', async () => {
    await withFds(async (keep) => {
      const listener = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
      native.bind(listener, '127.0.0.1', 0);
      native.listen(listener, 4);
      const unixDgram = keep(native.socket(C.AF_UNIX, C.SOCK_DGRAM));
      const pidFile = keep(native.lockPidFile(path.join(dir, 'inherit.pid')));
      const client = net.connect(portOf(listener), '127.0.0.1');
      try {
        await once(client, 'connect');
        await readiness(listener);
        const conn = keep(native.accept(listener)!.fd);
        const mine = [listener, unixDgram, pidFile, conn];
        const seen = await inheritedFds();
        expect(seen).toEqual(expect.arrayContaining([0, 1, 2]));
        for (const fd of mine) expect(seen).not.toContain(fd);
      } finally {
        client.destroy();
      }
    });
  });

  it('cloexecFrom(3) keeps an inherited fd from reaching grandchildren', async () => {
    // The child inherits fd 40 without close-on-exec, as a supervisor might from its own parent.
    // (Node itself marks only fds 0 to about 16 close-on-exec at startup.)
    const script = `
      const a = require(process.env.ADDON);
      const { spawnSync } = require('node:child_process');
      const list = () => spawnSync('/bin/sh', ['-c', 'ls /proc/$$/fd'], { encoding: 'utf8' })
        .stdout.split(/\\s+/).filter(Boolean).map(Number).filter((n) => n >= 3);
      const before = list();
      a.cloexecFrom(3);
      console.log(JSON.stringify({ before, after: list() }));
    `;
    const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(37).fill('ignore'), 'pipe'];
    const r = await runNode(script, stdio);
    expect(r.stderr).toBe('');
    const { before, after } = JSON.parse(r.stdout) as { before: number[]; after: number[] };
    expect(before).toContain(40);
    expect(after).toEqual([]);
  });
});

describe('lockPidFile', () => {
  const lockScript = `
    const a = require(process.env.ADDON);
    try {
      const fd = a.lockPidFile(process.env.PIDFILE);
      console.log(JSON.stringify({ ok: true, pid: process.pid }));
      a.close(fd);
    } catch (e) {
      console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall, pid: e.pid }));
    }
  `;
  const tryLock = (file: string) =>
    run(process.execPath, ['-e', lockScript], { env: { ADDON, PIDFILE: file } }).then((r) => JSON.parse(r.stdout) as Record<string, unknown>);

  /** Reads the file through the lock's own fd: opening and closing it again would drop the lock. */
  const readVia = (fd: number) => {
    const buf = Buffer.alloc(64);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString();
  };

  it('writes our pid and makes a second locker in another process fail with EAGAIN and the holder pid', async () => {
    const file = path.join(dir, 'ninetd.pid');
    const fd = native.lockPidFile(file);
    try {
      expect(readVia(fd)).toBe(`${process.pid}\n`);
      expect(await tryLock(file)).toEqual({ code: 'EAGAIN', errno: -osConstants.errno.EAGAIN, syscall: 'fcntl', pid: process.pid });
      expect(readVia(fd)).toBe(`${process.pid}\n`); // the loser did not touch it
    } finally {
      native.close(fd);
    }
    const after = await tryLock(file);
    expect(after).toMatchObject({ ok: true });
    expect(readFileSync(file, 'utf8')).toBe(`${String(after.pid)}\n`);
  });

  it('throws from open when the directory does not exist', () => {
    const file = path.join(dir, 'missing', 'x.pid');
    expect(thrown(() => native.lockPidFile(file))).toMatchObject({ code: 'ENOENT', syscall: 'open', path: file });
  });
});

describe('users and groups', () => {
  it('getpwnam and getpwuid find root and return null for an unknown user', () => {
    expect(native.getpwnam('root')).toMatchObject({ name: 'root', uid: 0, gid: 0, home: '/root' });
    expect(typeof native.getpwnam('root')!.shell).toBe('string');
    expect(native.getpwuid(0)).toMatchObject({ name: 'root', uid: 0 });
    expect(native.getpwnam('ninetd-no-such-user')).toBeNull();
    expect(native.getpwuid(0x7ffffff0)).toBeNull();
  });

  it('getgrnam finds the root group and returns null for an unknown group', () => {
    expect(native.getgrnam('root')).toEqual({ name: 'root', gid: 0 });
    expect(native.getgrnam('ninetd-no-such-group')).toBeNull();
  });

  it('getgrouplist includes the given gid', () => {
    expect(native.getgrouplist('root', 0)).toContain(0);
    expect(native.getgrouplist('ninetd-no-such-user', 4242)).toEqual([4242]);
  });
});

describe('processes', () => {
  const O_CLOEXEC = 0o2000000;
  const opts = (o: Partial<native.SpawnOptions> = {}): native.SpawnOptions => ({
    fd: 0, uid: -1, gid: -1, groups: null, umask: 0o022, nice: 0, rlimits: [], cwd: '/', ...o,
  });
  /** fdinfo flags of one of our fds. */
  const fdFlags = (fd: number): number => parseInt(/^flags:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);

  it('spawnHandler returns the pid and a close-on-exec pidfd; waitPidfd is null while it runs, then gives the exit code', async () => {
    const child = native.spawnHandler('/bin/sh', ['sh', '-c', 'exit 5'], [], opts());
    try {
      expect(child.pid).toBeGreaterThan(0);
      expect(fdFlags(child.pidfd) & O_CLOEXEC).toBe(O_CLOEXEC);
      await readiness(child.pidfd);
      expect(native.waitPidfd(child.pidfd)).toEqual({ code: 5, signal: null });
    } finally {
      native.close(child.pidfd);
    }
  });

  it('waitPidfd names the killing signal as Node does, then throws ECHILD once the child is reaped', async () => {
    const child = native.spawnHandler('/bin/sleep', ['sleep', '30'], [], opts());
    try {
      expect(native.waitPidfd(child.pidfd)).toBeNull();
      process.kill(child.pid, 'SIGKILL');
      await readiness(child.pidfd);
      expect(native.waitPidfd(child.pidfd)).toEqual({ code: null, signal: 'SIGKILL' });
      expect(thrown(() => native.waitPidfd(child.pidfd))).toMatchObject({ code: 'ECHILD', syscall: 'waitid' });
    } finally {
      native.close(child.pidfd);
    }
  });

  it.each([
    { what: 'a missing program', file: '/nonexistent/prog', o: {}, want: { code: 'ENOENT', syscall: 'execve', path: '/nonexistent/prog' } },
    { what: 'a directory as the program', file: '/', o: {}, want: { code: 'EACCES', syscall: 'execve' } },
    { what: 'a missing cwd', file: '/bin/true', o: { cwd: '/nonexistent' }, want: { code: 'ENOENT', syscall: 'chdir', path: '/nonexistent' } },
    { what: 'a soft limit above the hard one', file: '/bin/true', o: { rlimits: [[C.RLIMIT_NOFILE, 20, 10]] as native.Rlimit[] }, want: { code: 'EINVAL', syscall: 'prlimit' } },
    { what: 'an fd that is not open', file: '/bin/true', o: { fd: 9999 }, want: { code: 'EBADF', syscall: 'dup2' } },
  ])('a child that fails before exec throws with the step as syscall ($what) and is reaped', async ({ file, o, want }) => {
    expect(thrown(() => native.spawnHandler(file, ['x'], [], opts(o)))).toMatchObject(want);
    const { zombies } = await import('../helpers/client.js');
    expect(await zombies(process.pid)).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)('a supervisor that is not root gets EPERM from setgroups, setgid and setuid, and EACCES from a lower nice', async () => {
    const script = `
      const a = require(process.env.ADDON);
      const base = { fd: 0, uid: -1, gid: -1, groups: null, umask: 18, nice: 0, rlimits: [], cwd: '/' };
      const out = [{ groups: [0] }, { gid: 0 }, { uid: 0 }, { nice: -5 }].map((o) => {
        try { a.spawnHandler('/bin/true', ['true'], [], { ...base, ...o }); return 'spawned'; }
        catch (e) { return e.syscall + ' ' + e.code; }
      });
      console.log(JSON.stringify(out));
    `;
    const nobody = native.getpwnam('nobody')!;
    const r = await run('/usr/bin/setpriv', [`--reuid=${nobody.uid}`, `--regid=${nobody.gid}`, '--clear-groups', process.execPath, '-e', script], { env: { ADDON } });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(['setgroups EPERM', 'setgid EPERM', 'setuid EPERM', 'setpriority EACCES']);
  });

  it('rejects bad arguments with Node-style TypeErrors and RangeErrors before starting anything', () => {
    expect(thrown(() => native.spawnHandler('/bin/true', 'true' as unknown as string[], [], opts()))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => native.spawnHandler('/bin/true', ['tr\0ue'], [], opts()))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(thrown(() => native.spawnHandler('/bin/true', ['true'], [], opts({ uid: -2 })))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.spawnHandler('/bin/true', ['true'], [], opts({ groups: ['x'] as unknown as number[] })))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('pidfdOpen gives a close-on-exec pidfd and throws ESRCH for no such process', () => {
    const fd = native.pidfdOpen(process.pid);
    try {
      expect(fdFlags(fd) & O_CLOEXEC).toBe(O_CLOEXEC);
    } finally {
      native.close(fd);
    }
    expect(thrown(() => native.pidfdOpen(0x3ffffff0))).toMatchObject({ code: 'ESRCH', syscall: 'pidfd_open' });
  });

  it('has the RLIMIT constants of Linux (x86 and arm numbering)', () => {
    expect(C).toMatchObject({ RLIMIT_CPU: 0, RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_AS: 9 });
  });
});
