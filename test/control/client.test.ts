// The command side: a clear ERR_CONTROL_UNAVAILABLE when no daemon is there (no socket, a socket
// left by a dead one), ERR_CONTROL_REPLY when the daemon closes without a reply, and the reply
// when there is one, even if the daemon closed right after sending it.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ask } from '../../src/control/client.js';
import * as native from '../../src/native/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-client-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A server at `name` that does `onConn` with each connection; closed after `fn`. */
async function withServer(name: string, onConn: (s: net.Socket) => void, fn: (file: string) => Promise<void>): Promise<void> {
  const file = path.join(dir, name);
  const srv = net.createServer(onConn).listen(file);
  await new Promise((r) => srv.once('listening', r));
  try {
    await fn(file);
  } finally {
    srv.close();
  }
}

describe('ask', () => {
  it('says no daemon runs when there is no socket', async () => {
    await expect(ask(path.join(dir, 'none.sock'), { cmd: 'status' }, 5000)).rejects.toMatchObject({ code: 'ERR_CONTROL_UNAVAILABLE', message: expect.stringContaining('no ninetd is running') });
  });

  it('says no daemon runs when the socket is left from one that is gone', async () => {
    const file = path.join(dir, 'stale.sock');
    const fd = native.socket(native.constants.AF_UNIX, native.constants.SOCK_STREAM);
    native.bindUnix(fd, file, 0o600);
    native.close(fd);
    await expect(ask(file, { cmd: 'status' }, 5000)).rejects.toMatchObject({ code: 'ERR_CONTROL_UNAVAILABLE', message: expect.stringContaining('left from one that is gone') });
  });

  it('reads the reply line, also when the server closes at once after it', async () => {
    await withServer('quick.sock', (s) => s.end('{"ok":true,"status":{"pid":1}}\n'), async (file) => {
      expect(await ask(file, { cmd: 'status' }, 5000)).toEqual({ ok: true, status: { pid: 1 } });
    });
  });

  it('reports a close without a reply, and a reply that is not JSON', async () => {
    await withServer('mute.sock', (s) => s.end(), async (file) => {
      await expect(ask(file, { cmd: 'status' }, 5000)).rejects.toMatchObject({ code: 'ERR_CONTROL_REPLY' });
    });
    await withServer('junk.sock', (s) => s.end('<html>\n'), async (file) => {
      await expect(ask(file, { cmd: 'status' }, 5000)).rejects.toMatchObject({ code: 'ERR_CONTROL_REPLY' });
    });
  });

  it('gives up after its timeout on a daemon that does not answer', async () => {
    await withServer('slow.sock', () => {}, async (file) => {
      await expect(ask(file, { cmd: 'status' }, 200)).rejects.toMatchObject({ code: 'ERR_CONTROL_UNAVAILABLE', message: expect.stringContaining('no answer') });
    });
  });
});
