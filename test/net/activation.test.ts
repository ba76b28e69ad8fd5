// ninetd started by a service manager with sockets already bound (LISTEN_FDS).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import type { ServiceEntry } from '../../src/config/types.js';
import { matchInherited, takeListenFds, type InheritedSocket } from '../../src/net/activation.js';
import { constants as C } from '../../src/native/index.js';
import { exchange } from '../helpers/client.js';
import { CLI, FIXTURE_BIN } from '../helpers/daemon.js';
import { freePort } from '../helpers/ports.js';

function entry(over: Partial<ServiceEntry>): ServiceEntry {
  return {
    file: 'f', line: 1, name: 'echo', service: 'echo', protocol: 'tcp', socketType: 'stream', transport: 'tcp', family: 'inet4',
    host: '*', port: 7, path: '', wait: false, instances: 0, cps: 0, perSource: 0, rate: 0, user: '-', group: '',
    uid: -1, gid: -1, groups: [], server: 'internal', argv: ['echo'], builtin: 'echo', ...over,
  };
}
const sock = (fd: number, name: string, type: number, address: InheritedSocket['address']): InheritedSocket => ({ fd, name, type, address });
const POOL = [
  sock(3, 'web', C.SOCK_STREAM, { family: 'IPv4', address: '0.0.0.0', port: 80 }),
  sock(4, '', C.SOCK_DGRAM, { family: 'IPv4', address: '0.0.0.0', port: 7 }),
  sock(5, '', C.SOCK_STREAM, { family: 'IPv4', address: '127.0.0.1', port: 7 }),
  sock(6, '', C.SOCK_STREAM, { family: 'IPv6', address: '::', port: 13 }),
  sock(7, '', C.SOCK_STREAM, { family: 'unix', path: '/run/x.sock' }),
];

describe('matchInherited', () => {
  it.each([
    ['by FileDescriptorName', entry({ service: 'web', port: 8080 }), 3],
    ['by address and socket type (dgram)', entry({ socketType: 'dgram', transport: 'udp', protocol: 'udp' }), 4],
    ['by a specific address', entry({ host: '127.0.0.1' }), 5],
    ['nothing for a wildcard entry when only a specific address was passed', entry({}), undefined],
    ['an IPv6 wildcard for tcp46', entry({ family: 'inet46', port: 13, protocol: 'tcp46' }), 6],
    ['nothing for IPv4 when only IPv6 was passed', entry({ port: 13 }), undefined],
    ['a unix path', entry({ family: 'unix', transport: 'unix', protocol: 'unix', path: '/run/x.sock', port: 0 }), 7],
    ['nothing for a name that matches with another socket type', entry({ service: 'web', port: 8080, socketType: 'dgram', transport: 'udp' }), undefined],
  ])('finds the socket %s', (_what, e, fd) => {
    expect(matchInherited(POOL, e)?.fd).toBe(fd);
  });
});

describe('takeListenFds', () => {
  it('ignores sockets meant for another pid and always clears LISTEN_*', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_FDS: '1', LISTEN_PID: '1', LISTEN_FDNAMES: 'x', KEEP: '1' };
    expect(takeListenFds(env, 2)).toEqual([]);
    expect(env).toEqual({ KEEP: '1' });
  });
});

const hasActivate = spawnSync('sh', ['-c', 'command -v systemd-socket-activate'], { stdio: 'ignore' }).status === 0;
describe.skipIf(!hasActivate)('under systemd-socket-activate', () => {
  it('adopts the passed socket for the matching service, and handlers never see LISTEN_*', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-activate-'));
    // A free port for the activator to bind.
    const port = await freePort();
    writeFileSync(path.join(dir, 'services'), 't-report 0/tcp\n');
    writeFileSync(path.join(dir, 'inetd.conf'), `127.0.0.1:${port} stream tcp nowait - ${FIXTURE_BIN}/report report\n`);
    const proc = spawn(
      'systemd-socket-activate',
      ['-l', `127.0.0.1:${port}`, process.execPath, CLI, '-d', '-p', '', '--services', path.join(dir, 'services'), path.join(dir, 'inetd.conf')],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const lines: string[] = [];
    const listening = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`activator did not listen: ${lines.join('\n')}`)), 10_000);
      createInterface({ input: proc.stderr! }).on('line', (l) => {
        lines.push(l);
        if (l.startsWith('Listening on')) (clearTimeout(t), resolve());
      });
    });
    try {
      await listening;
      // The activator starts ninetd on the first connection, which waits in the backlog.
      const out = (await exchange(port, undefined, { ms: 20_000 })).toString();
      expect(out).toContain('env PROTO=TCP');
      expect(out).not.toContain('LISTEN_');
      expect(out.split('\n').filter((l) => l.startsWith('fd ')).sort()).toEqual(['fd 0', 'fd 1', 'fd 2']);
      expect(lines.some((l) => l.includes('"inherited":true') && l.includes('"listening"'))).toBe(true);
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
