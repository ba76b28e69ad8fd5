// The child_process fallback, used only on kernels without pidfds: it must still honour the
// handler contract (fds, blocking mode, signals, session, cwd, environment) and report once.
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';
import { spawnWithChildProcess } from '../../src/spawn/child-process.js';
import type { HandlerEnd, SpawnRequest } from '../../src/spawn/request.js';
import { FIXTURE_BIN } from '../helpers/daemon.js';

const C = native.constants;
const REPORT = path.join(FIXTURE_BIN, 'report');
const WAIT_MS = 10_000;

beforeAll(() => native.cloexecFrom(3));

/** A connected TCP pair: our accepted fd and the peer. */
async function connection(): Promise<{ fd: number; peer: net.Socket }> {
  const listener = native.socket(C.AF_INET, C.SOCK_STREAM);
  try {
    native.bind(listener, '127.0.0.1', 0);
    native.listen(listener, 1);
    const addr = native.getsockname(listener);
    if (addr.family === 'unix') throw new Error('not inet');
    const peer = net.connect(addr.port, '127.0.0.1');
    await once(peer, 'connect');
    for (;;) {
      const conn = native.accept(listener);
      if (conn) return { fd: conn.fd, peer };
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    native.close(listener);
  }
}

function run(req: Omit<SpawnRequest, 'fd' | 'uid' | 'gid'>, fd: number) {
  const ends: HandlerEnd[] = [];
  const ended = new Promise<HandlerEnd>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no end reported')), WAIT_MS);
    spawnWithChildProcess({ fd, uid: -1, gid: -1, ...req }, (end) => (ends.push(end), clearTimeout(timer), resolve(end)), false);
  });
  return { ended, ends };
}

describe('spawnWithChildProcess', () => {
  it('gives the handler the socket as fds 0-2 only, blocking, default signals, a new session, cwd / and exactly the environment', async () => {
    const { fd, peer } = await connection();
    let text = '';
    peer.setEncoding('utf8').on('data', (c: string) => (text += c));
    const closed = once(peer, 'close');
    native.setNonBlocking(fd, true);
    const r = run({ file: REPORT, argv: ['report'], env: { PATH: '/bin', X: '1' } }, fd);
    native.close(fd);
    const [end] = await Promise.all([r.ended, closed]);
    expect(end).toEqual({ code: 0, signal: null });
    const lines = text.split('\n');
    expect(lines.filter((l) => l.startsWith('fd '))).toEqual(['fd 0', 'fd 1', 'fd 2']);
    expect(lines).toEqual(expect.arrayContaining(['nonblock0 0', 'SigIgn 0000000000000000', 'SigBlk 0000000000000000', 'sid_is_pid 1', 'cwd /']));
    expect(lines.filter((l) => l.startsWith('env ')).sort()).toEqual(['env PATH=/bin', 'env X=1']);
  });

  it('reports a missing program once, as an error carrying ENOENT', async () => {
    const { fd, peer } = await connection();
    const r = run({ file: '/nonexistent/handler', argv: ['handler'], env: {} }, fd);
    native.close(fd);
    peer.destroy();
    const end = await r.ended;
    await new Promise((res) => setImmediate(res));
    expect(end.err).toMatchObject({ code: 'ENOENT' });
    expect(r.ends).toHaveLength(1);
  });
});
