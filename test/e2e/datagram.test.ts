// Internal datagram services on unix sockets under the loop attacks a local user can mount: a
// sender address swapped for a symlink to the service's own socket (the service would answer
// itself for ever), and a sender that answers every reply (a ping-pong). Real daemon, real unix
// datagram sockets (python3 clients: node:dgram has no unix sockets).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-dgram-loop-'));
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const running: RunningDaemon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

function py(code: string, ...args: string[]): string {
  return execFileSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8', timeout: 20_000 });
}

async function echo(name: string): Promise<{ d: RunningDaemon; sock: string }> {
  const sock = path.join(dir, `${name}.sock`);
  const d = await startDaemon(`${sock} dgram unix wait - internal echo\n`);
  running.push(d);
  return { d, sock };
}

async function dump(d: RunningDaemon): Promise<Record<string, number>> {
  const before = d.records.length;
  process.kill(d.pid, 'SIGUSR2');
  const rec = await d.waitFor((r) => r.msg === 'state' && d.records.indexOf(r) >= before, 'state dump');
  return (rec.services as Array<Record<string, number>>)[0]!;
}

describe('internal datagram services on unix sockets', () => {
  it('never answer a sender whose address leads to their own socket, so the loop never starts', async () => {
    const { d, sock } = await echo('self');
    // Bind an address, then make that name a symlink to the service's socket, then send from it.
    py(
      'import os,socket,sys\ns=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind(sys.argv[2])\nos.unlink(sys.argv[2])\nos.symlink(sys.argv[1], sys.argv[2])\ns.sendto(b"loop", sys.argv[1])',
      sock,
      path.join(dir, 'self-client'),
    );
    const stopped = await d.waitFor((r) => r.msg === 'datagram loop stopped', 'loop record');
    expect(stopped).toMatchObject({ reason: 'sender is an internal service socket', peer: path.join(dir, 'self-client') });
    const svc = await dump(d);
    // One datagram read and dropped: had it been answered, it would have come back for ever.
    expect(svc).toMatchObject({ connections: 1, drops: 1 });
  });

  it('stop answering a sender that answers every reply, after a burst, logged once', async () => {
    const { d, sock } = await echo('pingpong');
    const replies = Number(
      py(
        [
          'import socket,sys,time',
          's=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
          's.bind(sys.argv[2])',
          's.settimeout(1.0)',
          's.sendto(b"ping", sys.argv[1])',
          'n=0',
          'end=time.time()+5',
          'while time.time()<end and n<100000:',
          '    try:',
          '        m=s.recv(100)',
          '    except socket.timeout:',
          '        break',
          '    n+=1',
          '    s.sendto(m, sys.argv[1])',
          'print(n)',
        ].join('\n'),
        sock,
        path.join(dir, 'pingpong-client'),
      ).trim(),
    );
    // The budget is a burst of 100 and 50 a second after it: the ping-pong died out.
    expect(replies).toBeGreaterThanOrEqual(100);
    expect(replies).toBeLessThan(1000);
    await d.waitFor((r) => r.msg === 'datagram loop stopped', 'loop record');
    expect(d.records.filter((r) => r.msg === 'datagram loop stopped')).toEqual([expect.objectContaining({ reason: 'reply budget spent' })]);
    expect((await dump(d)).drops).toBeGreaterThanOrEqual(1);
  });
});
