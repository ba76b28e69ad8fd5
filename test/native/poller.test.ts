// poller.c: readiness of an fd through the event loop's own epoll, never reading it; the
// callback's async context, errors, EEXIST, a reused fd number, close, and exceptions. Then
// dgram.c through Poller.serveDatagrams: datagrams answered without the callback, by the guard
// table as it is at each datagram.
import { AsyncLocalStorage, executionAsyncId } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { guardTable } from '../../src/dispatch/dgram-guard.js';
import * as native from '../../src/native/index.js';
import type { NativeError } from '../../src/native/index.js';
import { portOf, readiness, runNode, thrown, udpClient, withFds, WAIT_MS } from '../helpers/native.js';
import { until } from '../helpers/wait.js';

const C = native.constants;

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

describe('Poller.serveDatagrams', () => {
  /** Resolves with the first `n` datagrams `client` receives. */
  const replies = (client: Awaited<ReturnType<typeof udpClient>>, n: number): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const got: string[] = [];
      const timer = setTimeout(() => reject(new Error(`${got.length} of ${n} replies`)), WAIT_MS);
      client.on('message', (m) => {
        got.push(m.toString());
        if (got.length === n) (clearTimeout(timer), resolve(got));
      });
    });

  /** A UDP socket on 127.0.0.1 (kept by `keep`) whose Poller serves it in `mode` by `guard`, started. */
  const serving = (keep: (fd: number) => number, mode: 0 | 1, guard: Buffer, cb = (): void => {}): { poller: native.Poller & native.DatagramPath; port: number } => {
    const fd = keep(native.socket(C.AF_INET, C.SOCK_DGRAM));
    native.bind(fd, '127.0.0.1', 0);
    const poller = new native.Poller(fd, cb);
    poller.serveDatagrams(mode, guard);
    poller.start();
    return { poller, port: portOf(fd) };
  };

  it('echoes each datagram in C, more than one batch of them, and never calls back', async () => {
    await withFds(async (keep) => {
      let calls = 0;
      const { poller, port } = serving(keep, native.DGRAM_MODES.echo, guardTable([], true), () => void (calls += 1));
      const client = await udpClient();
      try {
        const sent = Array.from({ length: 40 }, (_, i) => `d${i}`);
        const got = replies(client, sent.length);
        for (const m of sent) client.send(m, port, '127.0.0.1');
        expect((await got).sort()).toEqual([...sent].sort());
        expect(calls).toBe(0);
        expect(poller.takeCounts()).toEqual([40, 0]);
        expect(poller.takeCounts()).toEqual([0, 0]);
      } finally {
        client.close();
        poller.close();
      }
    });
  });

  it('reads the guard table at each datagram: a port put in it is dropped from then on, and counted', async () => {
    await withFds(async (keep) => {
      const guard = guardTable([], true);
      const { poller, port } = serving(keep, native.DGRAM_MODES.echo, guard);
      const dropped = await udpClient();
      const answered = await udpClient();
      try {
        const first = replies(dropped, 1);
        dropped.send('first', port, '127.0.0.1');
        expect(await first).toEqual(['first']);
        guardTable([dropped.address().port], true, guard);
        dropped.on('message', (m) => expect.fail(`answered ${m.toString()}`));
        dropped.send('second', port, '127.0.0.1');
        // Sent after it, to the same socket: answered once the one before was read.
        const got = replies(answered, 1);
        answered.send('third', port, '127.0.0.1');
        expect(await got).toEqual(['third']);
        expect(poller.takeCounts()).toEqual([3, 1]);
      } finally {
        dropped.close();
        answered.close();
        poller.close();
      }
    });
  });

  it('discard answers nothing and counts what it read', async () => {
    await withFds(async (keep) => {
      const { poller, port } = serving(keep, native.DGRAM_MODES.discard, guardTable([], true));
      const client = await udpClient();
      try {
        client.on('message', (m) => expect.fail(`answered ${m.toString()}`));
        for (let i = 0; i < 3; i++) client.send(`x${i}`, port, '127.0.0.1');
        // Nothing comes back to wait for: the counts are read until they show all three.
        let read = 0;
        await until(() => (read += poller.takeCounts()[0]) >= 3, 'three datagrams read', WAIT_MS);
        expect(read).toBe(3);
      } finally {
        client.close();
        poller.close();
      }
    });
  });

  it('refuses a bad mode, a guard of the wrong size, a second call and a closed Poller', async () => {
    await withFds((keep) => {
      const fd = keep(native.socket(C.AF_INET, C.SOCK_DGRAM));
      const poller = new native.Poller(fd, () => {});
      const guard = guardTable([], true);
      expect(() => poller.serveDatagrams(2 as 0, guard)).toThrow(RangeError);
      expect(() => poller.serveDatagrams(0, guard.subarray(1))).toThrow(RangeError);
      expect(poller.takeCounts()).toEqual([0, 0]);
      poller.serveDatagrams(0, guard);
      expect(thrown(() => poller.serveDatagrams(0, guard)).code).toBe('EBUSY');
      poller.close();
      const closed = new native.Poller(fd, () => {});
      closed.close();
      expect(thrown(() => closed.serveDatagrams(0, guard)).code).toBe('EBADF');
    });
  });
});
