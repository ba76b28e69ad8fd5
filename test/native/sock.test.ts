// sock.c: the socket calls by fd number on real sockets (127.0.0.1, ::1, unix paths and
// abstract names): accept, bind, peer credentials, and the send and receive calls.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';
import type { SockAddr } from '../../src/native/index.js';
import { RAW_SOCKADDR_BYTES, RawSockaddr } from '../../src/net/sockaddr.js';
import { fdFlags, portOf, readiness, thrown, udpClient, WAIT_MS, withFds } from '../helpers/native.js';

const C = native.constants;
const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-native-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('socket options', () => {
  it('setLinger(fd, 0) makes close reset the connection, and SO_KEEPALIVE reads back as set', async () => {
    await withFds(async (keep) => {
      const fd = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
      native.bind(fd, '127.0.0.1', 0);
      native.listen(fd, 4);
      const client = net.connect(portOf(fd), '127.0.0.1');
      const ended = new Promise<string>((resolve) => {
        client.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
        client.on('end', () => resolve('fin'));
      });
      await once(client, 'connect');
      await readiness(fd);
      const conn = native.accept(fd)!;
      native.setsockopt(conn.fd, C.SOL_SOCKET, C.SO_KEEPALIVE, 1);
      expect(native.getsockopt(conn.fd, C.SOL_SOCKET, C.SO_KEEPALIVE)).toBe(1);
      native.setLinger(conn.fd, 0);
      native.close(conn.fd);
      expect(await ended).toBe('ECONNRESET');
      client.destroy();
    });
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
        expect(native.getsockname(conn!.fd)).toEqual({ family: 'IPv4', address: '127.0.0.1', port: portOf(fd) });
        expect(fdFlags(conn!.fd) & C.O_NONBLOCK).toBe(0); // blocking unless asked
        expect(native.accept(fd)).toBeNull();
        // recvfrom on a connected stream socket names the peer (the kernel gives no source address).
        client.write('x');
        await readiness(conn!.fd);
        expect(native.recvfrom(conn!.fd, Buffer.alloc(4), true)).toEqual({
          bytes: 1,
          from: { family: 'IPv4', address: client.localAddress, port: client.localPort },
        });
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
        expect(fdFlags(conn!.fd) & C.O_NONBLOCK).toBe(C.O_NONBLOCK);
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

  it('socket throws with code and syscall for an unknown family', () => {
    expect(thrown(() => native.socket(12345, C.SOCK_STREAM))).toMatchObject({ code: 'EAFNOSUPPORT', syscall: 'socket' });
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
  ] as const)('recvmmsgRaw reads a batch of %s datagrams with their senders as sockaddrs, and sendmmsgRaw answers the slots not skipped', async (type, family, host) => {
    await withFds(async (keep) => {
      const fd = keep(native.socket(family, C.SOCK_DGRAM));
      native.bind(fd, host, 0);
      const a = await udpClient(type);
      const b = await udpClient(type);
      try {
        const stride = 16;
        const bufs = Buffer.alloc(4 * stride);
        const addrs = Buffer.alloc(4 * RAW_SOCKADDR_BYTES);
        const lens = new Int32Array(4);
        const lensBuf = Buffer.from(lens.buffer);
        const from = (i: number): RawSockaddr => new RawSockaddr(addrs.subarray(i * RAW_SOCKADDR_BYTES, (i + 1) * RAW_SOCKADDR_BYTES));
        expect(native.recvmmsgRaw(fd, bufs, stride, addrs, lensBuf)).toBeNull();
        // Loopback queues a datagram before send calls back: both wait when we read.
        await new Promise((r) => a.send('ping', portOf(fd), host, r));
        await new Promise((r) => b.send('a datagram longer than a slot', portOf(fd), host, r));
        await readiness(fd);
        expect(native.recvmmsgRaw(fd, bufs, stride, addrs, lensBuf)).toBe(2);
        expect([...lens.subarray(0, 2)]).toEqual([4, stride]);
        expect(bufs.subarray(0, 4).toString()).toBe('ping');
        expect(bufs.subarray(stride, 2 * stride).toString()).toBe('a datagram longe');
        const kind = family === C.AF_INET ? 'IPv4' : 'IPv6';
        expect(from(0).toSockAddr()).toEqual({ family: kind, address: host, port: a.address().port });
        expect(from(1).toSockAddr()).toEqual({ family: kind, address: host, port: b.address().port });

        const reply = once(a, 'message');
        bufs.write('pong', 0);
        lens[1] = -1; // skipped: b gets nothing
        expect(native.sendmmsgRaw(fd, bufs, stride, addrs, lensBuf, 2)).toBe(1);
        const [msg] = (await Promise.race([reply, new Promise((_, no) => setTimeout(() => no(new Error('no reply')), WAIT_MS))])) as [Buffer];
        expect(msg.toString()).toBe('pong');
        // A slot without an inet sender is skipped, not sent.
        addrs.fill(0, 0, RAW_SOCKADDR_BYTES);
        lens[0] = 4;
        expect(native.sendmmsgRaw(fd, bufs, stride, addrs, lensBuf, 1)).toBe(0);

        expect(thrown(() => native.recvmmsgRaw(fd, bufs, 0, addrs, lensBuf))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
        expect(thrown(() => native.recvmmsgRaw(fd, bufs, stride, Buffer.alloc(16), lensBuf))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
        expect(thrown(() => native.recvmmsgRaw(fd, bufs, stride, addrs, Buffer.alloc(3)))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
        expect(thrown(() => native.sendmmsgRaw(fd, bufs, stride, addrs, lensBuf, 5))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      } finally {
        a.close();
        b.close();
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
