// sockaddr.c: how text addresses become struct sockaddr (IP literals only, the any address,
// IPv6 scopes, ports in range), seen through bind and getsockname on real sockets.
import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';
import { portOf, readiness, thrown, withFds } from '../helpers/native.js';

const C = native.constants;

describe('addresses', () => {
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
});
