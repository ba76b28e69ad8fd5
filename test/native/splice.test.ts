// splice.c: relay pipes (close-on-exec, non-blocking, enlarged), splice(2) between real sockets
// through them (bytes, end of file, "nothing now"), and shutdown(2) half-closing a connection.
import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';
import { fdFlags, readiness, thrown, withFds } from '../helpers/native.js';

const C = native.constants;

/** A connected pair: our fd (non-blocking, native) and Node's socket at the other end. */
async function connected(keep: (fd: number) => number): Promise<{ fd: number; peer: net.Socket; server: net.Server }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const fd = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
  const accepted = once(server, 'connection');
  try {
    native.connect(fd, '127.0.0.1', (server.address() as net.AddressInfo).port);
  } catch (err) {
    expect((err as native.NativeError).code).toBe('EINPROGRESS');
  }
  const [peer] = (await accepted) as [net.Socket];
  await readiness(fd, C.UV_WRITABLE);
  return { fd, peer, server };
}

describe('splice', () => {
  it('pipe gives two close-on-exec, non-blocking ends and a capacity of at least 64 KiB', async () => {
    await withFds((keep) => {
      const p = native.pipe();
      keep(p.read);
      keep(p.write);
      expect(p.size).toBeGreaterThanOrEqual(65536);
      expect(fdFlags(p.read) & C.O_NONBLOCK).toBeTruthy();
    });
  });

  it('moves bytes socket → pipe → socket, says null when nothing is there, 0 at end of file', async () => {
    await withFds(async (keep) => {
      const a = await connected(keep);
      const b = await connected(keep);
      const p = native.pipe();
      keep(p.read);
      keep(p.write);
      expect(native.splice(a.fd, p.write, p.size)).toBeNull();
      a.peer.write('hello');
      await readiness(a.fd);
      expect(native.splice(a.fd, p.write, p.size)).toBe(5);
      expect(native.splice(p.read, b.fd, 5)).toBe(5);
      const [data] = (await once(b.peer, 'data')) as [Buffer];
      expect(data.toString()).toBe('hello');
      a.peer.end();
      await readiness(a.fd);
      expect(native.splice(a.fd, p.write, p.size)).toBe(0);
      native.shutdown(b.fd, C.SHUT_WR);
      await once(b.peer, 'end');
      for (const x of [a, b]) {
        x.peer.destroy();
        x.server.close();
      }
    });
  });

  it('throws a Node-shaped error for a bad descriptor', () => {
    expect(thrown(() => native.splice(-1, -1, 1))).toMatchObject({ code: 'EBADF', syscall: 'splice' });
  });
});
