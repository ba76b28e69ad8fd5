// wait services (the handler gets the socket itself) and datagram services through the real daemon.
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exchange } from '../helpers/client.js';
import { FIXTURES, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { ownLoopback, udpAsk, udpSendFrom } from '../helpers/udp.js';

const SERVICES = ['t-accept', 't-once', 't-quiet', 't-tftp', 'echo', 'discard', 'chargen', 'daytime', 'time']
  .flatMap((n) => [`${n} 0/tcp`, `${n} 0/udp`])
  .join('\n');

const running: RunningDaemon[] = [];
async function daemon(config: string, args: string[] = []): Promise<RunningDaemon> {
  const d = await startDaemon(`127.0.0.1:\n${config}\n`, { services: SERVICES, args });
  running.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

function portOf(d: RunningDaemon, service: string, proto: string): number {
  const r = d.records.find((x) => x.msg === 'listening' && x.service === service && x.proto === proto);
  if (!r) throw new Error(`${service}/${proto} not listening`);
  return r.port as number;
}

async function dump(d: RunningDaemon): Promise<Array<Record<string, unknown>>> {
  const before = d.records.length;
  process.kill(d.pid, 'SIGUSR2');
  const rec = await d.waitFor((r) => r.msg === 'state' && d.records.indexOf(r) >= before, 'state dump');
  return rec.services as Array<Record<string, unknown>>;
}

describe('wait stream services', () => {
  it('hand the listening socket to one handler that serves several connections, then start a new one', async () => {
    const d = await daemon(`t-accept stream tcp wait - ${FIXTURES}/accept3.py accept3`, ['-l']);
    const port = d.port('t-accept');
    const first = [];
    for (let i = 0; i < 3; i++) first.push((await exchange(port)).toString().trim());
    expect(new Set(first).size).toBe(1);
    const next = (await exchange(port)).toString().trim();
    expect(next).not.toBe(first[0]);
    expect(Number(next)).toBeGreaterThan(0);
    process.kill(Number(next), 'SIGKILL'); // the second handler waits for two more connections
  });
});

describe('wait datagram services', () => {
  it('give the handler the datagram that woke ninetd, one handler at a time', async () => {
    const d = await daemon(`t-once dgram udp wait - ${FIXTURES}/udp-once.py udp-once`, ['-l']);
    const port = d.port('t-once');
    const a = (await udpAsk(port, 'first')).toString().split(' ');
    expect(a.slice(1)).toEqual(['first', String(port)]);
    await d.waitFor((r) => r.msg === 'connection' && r.pid === Number(a[0]), 'first handler end');
    const b = (await udpAsk(port, 'second')).toString().split(' ');
    expect(b[1]).toBe('second');
    expect(b[0]).not.toBe(a[0]);
  });

  it('treat a nowait datagram entry as wait', async () => {
    const d = await daemon(`t-once dgram udp nowait - ${FIXTURES}/udp-once.py udp-once`);
    const port = d.port('t-once');
    expect((await udpAsk(port, 'hello')).toString().split(' ')[1]).toBe('hello');
  });

  it('suspend a handler that exits without reading instead of respawning it forever', async () => {
    const d = await daemon(`t-quiet dgram udp wait.5 - ${FIXTURES}/exit-now.sh exit-now`);
    await udpSendFrom('127.0.0.1', 0, d.port('t-quiet'), '127.0.0.1', 'never read');
    await d.waitFor((r) => typeof r.msg === 'string' && r.msg.startsWith('looping'), 'looping');
    const [svc] = await dump(d);
    expect(svc).toMatchObject({ service: 't-quiet', state: 'suspended', spawns: 5, suspensions: 1 });
    // No further spawns while suspended, however long the datagram stays queued.
    const [again] = await dump(d);
    expect(again).toMatchObject({ spawns: 5 });
  });
});

const hasTftp = spawnSync('sh', ['-c', 'command -v in.tftpd && command -v tftp'], { stdio: 'ignore' }).status === 0;
describe.skipIf(!hasTftp)('tftpd-hpa as a wait-mode UDP daemon', () => {
  it('serves files byte-identical to sequential and concurrent tftp clients', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ninetd-tftp-'));
    const blob = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 256));
    writeFileSync(path.join(root, 'blob.bin'), blob);
    // tftpd drops to an unprivileged user inside the directory.
    chmodSync(root, 0o777);
    chmodSync(path.join(root, 'blob.bin'), 0o644);
    try {
      // -t 1: tftpd leaves after 1 s idle, so the service is handed back between runs.
      const d = await daemon(`t-tftp dgram udp wait - /usr/sbin/in.tftpd in.tftpd -s ${root} -t 1 -u ${process.getuid?.() === 0 ? 'nobody' : process.env.USER ?? 'nobody'}`, ['-l']);
      const port = d.port('t-tftp');
      const get = (out: string) =>
        new Promise<void>((resolve, reject) => {
          execFile('tftp', ['-m', 'binary', '127.0.0.1', String(port), '-c', 'get', 'blob.bin', out], { timeout: 30_000 }, (err) => (err ? reject(err) : resolve()));
        });
      for (let i = 0; i < 3; i++) {
        const out = path.join(root, `seq${i}.bin`);
        await get(out);
        expect(readFileSync(out).equals(blob)).toBe(true);
      }
      const outs = [0, 1, 2, 3].map((i) => path.join(root, `par${i}.bin`));
      await Promise.all(outs.map(get));
      for (const out of outs) expect(readFileSync(out).equals(blob)).toBe(true);
      // Every transfer was served through ninetd's wait dispatch, not by a stray tftpd.
      // tftpd leaves after 1 s idle; its end is logged and the socket handed back.
      await d.waitFor((r) => r.msg === 'connection' && r.service === 't-tftp', 'tftpd exit');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
if (!hasTftp) console.warn('tftpd-hpa/tftp-hpa not installed: skipping the tftpd test (.ci/run installs them)');

describe('internal datagram services', () => {
  const CONF = ['echo', 'discard', 'chargen', 'daytime', 'time'].map((n) => `${n} dgram udp wait - internal`).join('\n');

  it('answer echo, chargen, daytime and time in-process', async () => {
    const d = await daemon(CONF);
    expect((await udpAsk(portOf(d, 'echo', 'udp'), 'ping')).toString()).toBe('ping');
    const line = (await udpAsk(portOf(d, 'chargen', 'udp'), '')).toString('latin1');
    expect(line).toHaveLength(74);
    expect(line.endsWith('\r\n')).toBe(true);
    expect((await udpAsk(portOf(d, 'daytime', 'udp'), '')).toString()).toMatch(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/);
    expect((await udpAsk(portOf(d, 'time', 'udp'), '')).length).toBe(4);
    expect(d.records.some((r) => r.msg === 'spawned')).toBe(false);
  });

  it('drop a datagram whose source port is one of our internal UDP ports', async () => {
    const d = await daemon(CONF);
    const echoPort = portOf(d, 'echo', 'udp');
    // Same port number as our echo service, on another loopback address: a reflection loop.
    await udpSendFrom('127.0.0.2', echoPort, portOf(d, 'daytime', 'udp'), '127.0.0.1', 'loop?');
    const drop = await d.waitFor((r) => r.msg === 'datagram dropped', 'drop record');
    expect(drop).toMatchObject({ service: 'daytime', reason: 'loop', peer: `127.0.0.2:${echoPort}` });
    const [, , , daytime] = await dump(d);
    expect(daytime).toMatchObject({ service: 'daytime', drops: 1 });
  });

  it('refuse datagrams by the service address rules on a dual-stack socket, and answer IPv6 clients', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'ninetd-udp-rules-'));
    try {
      const ini = path.join(tmp, 'ninetd.ini');
      writeFileSync(ini, '[service:echo/udp46]\nno_access = 127.0.0.2\n');
      const d = await daemon('*:echo dgram udp46 wait - internal', ['--settings', ini]);
      const port = portOf(d, 'echo', 'udp46');
      expect((await udpAsk(port, 'four')).toString()).toBe('four');
      expect((await udpAsk(port, 'six', { host: '::1' })).toString()).toBe('six');
      await udpSendFrom('127.0.0.2', 0, port, '127.0.0.1', 'refused');
      const refused = await d.waitFor((r) => r.msg === 'refused', 'refused record');
      expect(refused).toMatchObject({ service: 'echo', rule: '[service:echo/udp46] no_access', peer: expect.stringMatching(/^127\.0\.0\.2:\d+$/) });
      const [echo] = await dump(d);
      expect(echo).toMatchObject({ refused: 1 });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it.skipIf(process.getuid?.() !== 0)('drop a datagram from a privileged source port', async () => {
    const d = await daemon(CONF);
    await udpSendFrom(ownLoopback(), 1023, portOf(d, 'echo', 'udp'), '127.0.0.1', 'x');
    expect(await d.waitFor((r) => r.msg === 'datagram dropped', 'drop record')).toMatchObject({ reason: 'privileged source port' });
  });
});
