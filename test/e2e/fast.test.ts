// The fast path through the real daemon: which services take it (`fastPath: true` in their
// 'listening' record) and which stay on the ordinary path, counts that are exact when asked
// (the addon's pending records are drained for the snapshot), a reload that moves a running
// service off the fast path and back on its same socket, and the handlers still running at stop.
// Internal echo and discard over UDP take a fast path of their own: the addon answers them,
// under the same reflection-loop guard as the event loop's path.
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exchange, open } from '../helpers/client.js';
import { CLI, FIXTURES, FIXTURE_BIN, startDaemon, type LogRecord, type RunningDaemon } from '../helpers/daemon.js';
import { hasIpv6 } from '../helpers/native.js';
import { freePort } from '../helpers/ports.js';
import { ownLoopback, udpAsk, udpSendFrom } from '../helpers/udp.js';
import { until } from '../helpers/wait.js';

const UDP_PORT = await freePort();
const SERVICES = [...['t-hello', 't-hang', 'echo'].map((n) => `${n} 0/tcp`), ...['u-echo', 'u-discard', 'u-daytime', 'u-dual'].map((n) => `${n} 0/udp`), `u-fixed ${UDP_PORT}/udp`].join('\n');
const HELLO = `t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`;
const HANG = `127.0.0.1:t-hang stream tcp nowait - ${FIXTURES}/hang.sh hang`;

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-fast-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const running: RunningDaemon[] = [];
const clients: Array<{ destroy(): void }> = [];
const handlers: number[] = [];
let n = 0;

/** Starts a daemon on `config` with a settings file of `ini` (its path is returned too). */
async function daemon(config: string, ini = '', args: string[] = []): Promise<RunningDaemon & { ini: string }> {
  const file = path.join(dir, `s${n++}.ini`);
  writeFileSync(file, ini);
  const d = await startDaemon(`${config}\n`, { services: SERVICES, args: ['--settings', file, ...args] });
  running.push(d);
  return Object.assign(d, { ini: file });
}
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const pid of handlers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Ended already.
    }
  }
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

/** Runs the CLI and resolves with its exit status and output. */
function ninetd(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

/** `ninetd status --json` for one service. */
async function status(d: RunningDaemon, service: string): Promise<Record<string, unknown>> {
  const r = await ninetd('status', '--json', '-p', path.join(d.dir, 'ninetd.pid'), service);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  return (JSON.parse(r.stdout) as { services: Array<Record<string, unknown>> }).services[0]!;
}

/** Sends SIGHUP and resolves with the reload's outcome record. */
async function reload(d: RunningDaemon): Promise<LogRecord> {
  const from = d.records.length;
  process.kill(d.pid, 'SIGHUP');
  return d.waitFor((r) => d.records.indexOf(r) >= from && (r.msg === 'reloaded' || String(r.msg).startsWith('reload')), 'reload outcome');
}

/** A connection that reads its handler's pid (hang.sh says it first); the handler is killed after the test. */
async function hung(port: number, from?: string, host = '127.0.0.1'): Promise<{ pid: number; peer: string }> {
  const c = await open(port, host, from);
  clients.push(c);
  const pid = Number((await c.nextData()).trim());
  handlers.push(pid);
  const local = from ?? host;
  return { pid, peer: local.includes(':') ? `[${local}]:${c.localPort!}` : `${local}:${c.localPort!}` };
}

/**
 * Connects while the daemon is stopped and sends `signal` before it continues, so that it sees
 * the connection and the signal in one wake-up; then reads the handler's pid as `hung` does.
 */
async function hungWith(d: RunningDaemon, signal: NodeJS.Signals, port: number): Promise<{ pid: number; peer: string }> {
  process.kill(d.pid, 'SIGSTOP');
  let c: Awaited<ReturnType<typeof open>>;
  try {
    // The kernel completes the handshake of a stopped listener.
    c = await open(port);
    clients.push(c);
    process.kill(d.pid, signal);
  } finally {
    process.kill(d.pid, 'SIGCONT');
  }
  const pid = Number((await c.nextData()).trim());
  handlers.push(pid);
  return { pid, peer: `127.0.0.1:${c.localPort!}` };
}

function link(p: string): string | null {
  try {
    return readlinkSync(p);
  } catch {
    return null;
  }
}

/**
 * Who learns of the handler's exit: the Launcher's reaper (the fast path) or the event loop's
 * epoll set, which watches the sockets too (the ordinary path's pidfd Poller). Read from /proc.
 * The ordinary path makes a pidfd for every child before the child runs; the event loop adds
 * its watch on the next turn, so that is waited for. The reaper watches its children through
 * io_uring where the kernel can (no pidfd at all: the daemon holds a ring and no pidfd of the
 * handler), else through an epoll set that watches pidfds only (the handler's pidfd by its `Pid:`
 * line, then the set whose `tfd:` lines name it).
 */
function exitWatcher(daemon: number, handler: number): Promise<'reaper' | 'event loop'> {
  return until(() => watcherNow(daemon, handler), `the watch on the exit of ${handler}`);
}

function watcherNow(daemon: number, handler: number): 'reaper' | 'event loop' | null {
  const fdDir = `/proc/${daemon}/fd`;
  const fds = readdirSync(fdDir);
  const target = new Map(fds.map((fd) => [fd, link(`${fdDir}/${fd}`)]));
  const info = (fd: string): string => {
    try {
      return readFileSync(`/proc/${daemon}/fdinfo/${fd}`, 'utf8');
    } catch {
      return '';
    }
  };
  const pidfd = fds.find((fd) => target.get(fd) === 'anon_inode:[pidfd]' && new RegExp(`^Pid:\\s+${handler}$`, 'm').test(info(fd)));
  if (pidfd === undefined) return fds.some((fd) => target.get(fd) === 'anon_inode:[io_uring]') ? 'reaper' : null;
  for (const fd of fds.filter((f) => target.get(f) === 'anon_inode:[eventpoll]')) {
    const watched = [...info(fd).matchAll(/^tfd:\s+(\d+)/gm)].map((m) => m[1]!);
    if (!watched.includes(pidfd)) continue;
    return watched.every((t) => target.get(t) === 'anon_inode:[pidfd]') ? 'reaper' : 'event loop';
  }
  return null;
}

describe('which services take the fast path', () => {
  const allow = path.join(dir, 'hosts.allow');
  const deny = path.join(dir, 'hosts.deny');
  writeFileSync(allow, '');
  writeFileSync(deny, '');
  const section = '[service:t-hang/tcp]\n';
  it.each([
    { what: 'a plain nowait tcp service', config: HANG, ini: '', args: [], fast: true },
    ...(hasIpv6 ? [{ what: 'a nowait tcp6 service on ::1', config: HANG.replace('127.0.0.1:', '[::1]:').replace(' tcp ', ' tcp6 '), ini: '', args: [], fast: true }] : []),
    { what: 'an only_from rule', config: HANG, ini: `${section}only_from = 127.0.0.1\n`, args: [], fast: false },
    { what: 'a PROXY header', config: HANG, ini: `${section}proxy_protocol = v1\nproxy_from = 127.0.0.2\nproxy_direct = yes\n`, args: [], fast: false },
    { what: 'hosts files (-w)', config: HANG, ini: `[daemon]\nhosts_allow = ${allow}\nhosts_deny = ${deny}\n`, args: ['-w'], fast: false },
    { what: 'a per-client limit (-s)', config: HANG, ini: '', args: ['-s', '4'], fast: false },
    { what: 'tcp_nodelay', config: HANG, ini: `${section}tcp_nodelay = yes\n`, args: [], fast: false },
    { what: 'a wait service', config: HANG.replace(' nowait ', ' wait '), ini: '', args: [], fast: false },
  ])('$what: fast path $fast', async ({ config, ini, args, fast }) => {
    const d = await daemon(config, ini, args);
    const listening = await d.waitFor((r) => r.msg === 'listening' && r.service === 't-hang', 'listening');
    if (fast) expect(listening.fastPath).toBe(true);
    else expect(listening).not.toHaveProperty('fastPath');
    if (config.includes(' wait ')) return;
    // Served either way, and the handler's exit is watched where the record says.
    const h = await hung(d.port('t-hang'), undefined, config.startsWith('[::1]') ? '::1' : '127.0.0.1');
    expect(await exitWatcher(d.pid, h.pid)).toBe(fast ? 'reaper' : 'event loop');
  });

  it('an internal service does not take it', async () => {
    const d = await daemon('127.0.0.1:echo stream tcp nowait - internal');
    const listening = await d.waitFor((r) => r.msg === 'listening' && r.service === 'echo', 'listening');
    expect(listening).not.toHaveProperty('fastPath');
    expect((await exchange(d.port('echo'), 'x')).toString()).toBe('x');
  });
});

describe('the fast path', () => {
  it('has exact counts when asked: connections and spawns at once, exits once the handlers ended', async () => {
    const d = await daemon(`127.0.0.1:${HELLO}\n${HANG}`, '', ['-l']);
    expect(await d.waitFor((r) => r.msg === 'listening' && r.service === 't-hello', 'listening')).toMatchObject({ fastPath: true });
    const N = 7;
    for (let i = 0; i < N; i++) expect((await exchange(d.port('t-hello'))).toString()).toBe('hello\n');
    // The connection and the signal wake the daemon together: it accepts and spawns first (libuv
    // handles signals after the other events of a wake-up), and the dump comes well within the
    // addon's batch time. The snapshot drains what the addon still holds.
    const from = d.records.length;
    const h = await hungWith(d, 'SIGUSR2', d.port('t-hang'));
    const dump = await d.waitFor((r) => r.msg === 'state' && d.records.indexOf(r) >= from, 'state dump');
    expect(dump.services).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ service: 't-hello', connections: N, spawns: N, spawnErrors: 0 }),
        expect.objectContaining({ service: 't-hang', connections: 1, spawns: 1, children: 1 }),
      ]),
    );
    await d.waitFor(() => d.records.filter((r) => r.msg === 'connection' && r.service === 't-hello').length >= N, `${N} connection records`);
    expect(await status(d, 't-hello')).toMatchObject({ connections: N, spawns: N, children: 0, exits: { ok: N, nonzero: 0, signal: 0 } });
    process.kill(h.pid, 'SIGKILL');
    expect(await d.waitFor((r) => r.msg === 'connection' && r.pid === h.pid, 'connection record')).toMatchObject({ peer: h.peer, code: null, signal: 'SIGKILL' });
    expect(await status(d, 't-hang')).toMatchObject({ connections: 1, spawns: 1, children: 0, exits: { ok: 0, nonzero: 0, signal: 1 } });
  });

  it('a reload that adds an only_from rule moves the service to the ordinary path on the same socket, and one that removes it moves it back', async () => {
    const d = await daemon(HANG, '', ['-l']);
    const listening = await d.waitFor((r) => r.msg === 'listening' && r.service === 't-hang', 'listening');
    expect(listening.fastPath).toBe(true);
    const port = d.port('t-hang');
    const before = await hung(port);
    expect(await exitWatcher(d.pid, before.pid)).toBe('reaper');
    // Its start has been handed over from the addon's batch before the reload.
    await d.waitFor((r) => r.msg === 'handler started' && r.pid === before.pid, 'handler started');

    writeFileSync(d.ini, '[service:t-hang/tcp]\nonly_from = 127.0.0.2\n');
    expect(await reload(d)).toMatchObject({ msg: 'reloaded', changed: 1 });
    // The fast path would have served it: the rule is applied, so the ordinary path accepts now.
    expect((await exchange(port)).length).toBe(0);
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ service: 't-hang', rule: '[service:t-hang/tcp] only_from', peer: expect.stringMatching(/^127\.0\.0\.1:/) });
    const ordinary = await hung(port, '127.0.0.2');
    expect(await exitWatcher(d.pid, ordinary.pid)).toBe('event loop');
    // A handler the fast path started before the reload is still reported.
    process.kill(before.pid, 'SIGKILL');
    expect(await d.waitFor((r) => r.msg === 'connection' && r.pid === before.pid, 'connection record of the handler started before the reload')).toMatchObject({
      service: 't-hang',
      peer: before.peer,
      signal: 'SIGKILL',
    });

    writeFileSync(d.ini, '');
    expect(await reload(d)).toMatchObject({ msg: 'reloaded', changed: 1 });
    const after = await hung(port);
    expect(await exitWatcher(d.pid, after.pid)).toBe('reaper');
    process.kill(ordinary.pid, 'SIGKILL');
    await d.waitFor((r) => r.msg === 'connection' && r.pid === ordinary.pid, 'connection record of the ordinary handler');
    process.kill(after.pid, 'SIGKILL');
    await d.waitFor((r) => r.msg === 'connection' && r.pid === after.pid, 'connection record of the handler started after the reloads');
    // One socket throughout: bound once, on one port.
    expect(d.records.filter((r) => r.msg === 'listening' && r.service === 't-hang').map((r) => r.port)).toEqual([port]);
    expect(await status(d, 't-hang')).toMatchObject({ connections: 4, spawns: 3, refused: 1, children: 0, exits: { ok: 0, nonzero: 0, signal: 3 } });
  });

  it.each([
    { what: 'moves it to the ordinary path', ini: '[service:t-hang/tcp]\nonly_from = 127.0.0.1\n' },
    { what: 'keeps it on the fast path', ini: '[service:t-hang/tcp]\nenv = CHANGED=1\n' },
  ])('a reload that $what reports a handler started moments before it, whose start was still in the batch', async ({ ini }) => {
    const d = await daemon(HANG, '', ['-l']);
    const port = d.port('t-hang');
    writeFileSync(d.ini, ini);
    const from = d.records.length;
    // Accepted and started in the same wake-up as the SIGHUP: the reload replaces the Launcher
    // while the handler's start is still in the addon's batch.
    const h = await hungWith(d, 'SIGHUP', port);
    expect(await d.waitFor((r) => r.msg === 'reloaded' && d.records.indexOf(r) >= from, 'reloaded')).toMatchObject({ changed: 1 });
    expect(await status(d, 't-hang')).toMatchObject({ connections: 1, spawns: 1, children: 1 });
    expect(await d.waitFor((r) => r.msg === 'handler started' && r.pid === h.pid, 'handler started')).toMatchObject({ peer: h.peer });
    process.kill(h.pid, 'SIGKILL');
    expect(await d.waitFor((r) => r.msg === 'connection' && r.pid === h.pid, 'connection record')).toMatchObject({ peer: h.peer, signal: 'SIGKILL' });
    expect(await status(d, 't-hang')).toMatchObject({ connections: 1, spawns: 1, children: 0, exits: { ok: 0, nonzero: 0, signal: 1 } });
  });

  it('a reload moments after a start keeps counting that handler against the instances limit', async () => {
    const d = await daemon(HANG.replace(' nowait ', ' nowait/2 '), '', ['-l']);
    const port = d.port('t-hang');
    writeFileSync(d.ini, '[service:t-hang/tcp]\nenv = CHANGED=1\n');
    const from = d.records.length;
    await hungWith(d, 'SIGHUP', port);
    await d.waitFor((r) => r.msg === 'reloaded' && d.records.indexOf(r) >= from, 'reloaded');
    await hung(port);
    // Two handlers run: the service is full, and a third client waits in the backlog.
    const at = d.records.length;
    process.kill(d.pid, 'SIGUSR2');
    const dump = await d.waitFor((r) => r.msg === 'state' && d.records.indexOf(r) >= at, 'state dump');
    expect(dump.services).toEqual([expect.objectContaining({ service: 't-hang', state: 'full', children: 2 })]);
  });

  it('lists a fast-path handler started moments before SIGTERM among the handlers still running', async () => {
    const d = await daemon(HANG);
    // Accepted and started in the same wake-up as the SIGTERM: its start is still in the addon's batch.
    const h = await hungWith(d, 'SIGTERM', d.port('t-hang'));
    const left = await d.waitFor((r) => r.msg === 'handlers still running', 'shutdown record');
    expect(left).toMatchObject({ count: 1, handlers: [expect.objectContaining({ service: 't-hang', pid: h.pid, peer: h.peer })] });
  });
});

describe('internal datagrams answered in the addon', () => {
  /** Without debug records per dropped datagram, which only the event loop's path writes. */
  const INFO = ['--log-level', 'info'];
  const ECHO = '127.0.0.1:u-echo dgram udp wait - internal echo';
  const DISCARD = '127.0.0.1:u-discard dgram udp wait - internal discard';
  const DAYTIME = '127.0.0.1:u-daytime dgram udp wait - internal daytime';
  const listening = (d: RunningDaemon, service: string): Promise<LogRecord> => d.waitFor((r) => r.msg === 'listening' && r.service === service, `${service} listening`);

  it('echo and discard take it, daytime does not, and their counts are exact when asked', async () => {
    const d = await daemon([ECHO, DISCARD, DAYTIME].join('\n'), '', INFO);
    expect(await listening(d, 'u-echo')).toMatchObject({ fastPath: true });
    expect(await listening(d, 'u-discard')).toMatchObject({ fastPath: true });
    expect(await listening(d, 'u-daytime')).not.toHaveProperty('fastPath');
    for (let i = 0; i < 2; i++) await udpSendFrom('127.0.0.1', 0, d.port('u-discard'), '127.0.0.1', `gone ${i}`);
    // The discarded datagrams were queued before this one was sent: served by the time it is answered.
    for (const msg of ['one', 'two', Buffer.alloc(60000, 7)]) expect(await udpAsk(d.port('u-echo'), msg)).toEqual(Buffer.from(msg));
    expect((await udpAsk(d.port('u-daytime'), '')).toString()).toMatch(/\d\d:\d\d:\d\d/);
    expect(await status(d, 'u-echo')).toMatchObject({ connections: 3, drops: 0 });
    expect(await status(d, 'u-discard')).toMatchObject({ connections: 2, drops: 0 });
  });

  it('does not answer a datagram from the port of an internal UDP service, also one a reload added', async () => {
    const d = await daemon([ECHO, DAYTIME].join('\n'), '', INFO);
    const echo = d.port('u-echo');
    // From the daytime service's port on another loopback address: a reflection loop.
    await udpSendFrom('127.0.0.2', d.port('u-daytime'), echo, '127.0.0.1', 'loop?');
    // A port that is no service's is answered, until a reload makes it one.
    expect((await udpAsk(echo, 'before', { from: { host: '127.0.0.2', port: UDP_PORT } })).toString()).toBe('before');
    expect(await status(d, 'u-echo')).toMatchObject({ connections: 2, drops: 1 });

    d.writeConfig(`${ECHO}\n${DAYTIME}\n127.0.0.1:u-fixed dgram udp wait - internal discard\n`);
    expect(await reload(d)).toMatchObject({ msg: 'reloaded', added: 1 });
    await udpSendFrom('127.0.0.2', UDP_PORT, echo, '127.0.0.1', 'loop now');
    expect((await udpAsk(echo, 'after')).toString()).toBe('after');
    expect(await status(d, 'u-echo')).toMatchObject({ connections: 4, drops: 2 });
  });

  it('does not answer a datagram from the port of an internal UDP service whose bind succeeded only on a retry', async () => {
    const blocker = dgram.createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(UDP_PORT, '127.0.0.1', r));
    let blocked = true;
    try {
      const d = await daemon(`${ECHO}\n127.0.0.1:u-fixed dgram udp wait - internal discard`, '', [...INFO, '--retry-time', '1']);
      expect(await d.waitFor((r) => r.code === 'ERR_BIND', 'bind error')).toMatchObject({ err: { code: 'EADDRINUSE' } });
      await new Promise<void>((r) => blocker.close(r));
      blocked = false;
      await d.waitFor((r) => r.msg === 'listening' && r.service === 'u-fixed', 'the retried bind');
      await udpSendFrom('127.0.0.2', UDP_PORT, d.port('u-echo'), '127.0.0.1', 'loop?');
      expect((await udpAsk(d.port('u-echo'), 'next')).toString()).toBe('next');
      expect(await status(d, 'u-echo')).toMatchObject({ connections: 2, drops: 1 });
    } finally {
      if (blocked) blocker.close();
    }
  });

  it.skipIf(process.getuid?.() !== 0)('does not answer a privileged source port', async () => {
    const d = await daemon(ECHO, '', INFO);
    await udpSendFrom(ownLoopback(), 1023, d.port('u-echo'), '127.0.0.1', 'x');
    expect((await udpAsk(d.port('u-echo'), 'y')).toString()).toBe('y');
    expect(await status(d, 'u-echo')).toMatchObject({ connections: 2, drops: 1 });
  });

  it('udp_loopback = no: loopback senders are not answered, IPv4, IPv6 and IPv4-mapped alike', async () => {
    const dual = hasIpv6 ? ['*:u-dual dgram udp46 wait - internal echo'] : [];
    const d = await daemon([ECHO, ...dual].join('\n'), '[daemon]\nudp_loopback = no\n', INFO);
    await udpSendFrom('127.0.0.1', 0, d.port('u-echo'), '127.0.0.1', 'v4');
    if (hasIpv6) {
      expect(await listening(d, 'u-dual')).toMatchObject({ fastPath: true });
      await udpSendFrom('127.0.0.1', 0, d.port('u-dual'), '127.0.0.1', 'mapped');
      await udpSendFrom('::1', 0, d.port('u-dual'), '::1', 'v6');
    }
    // Every sender the test has is a loopback one, so no answer marks the end: the counts do.
    await until(async () => (await status(d, 'u-echo')).drops === 1, 'the IPv4 drop');
    if (hasIpv6) await until(async () => (await status(d, 'u-dual')).drops === 2, 'the IPv6 and mapped drops');
    expect(await status(d, 'u-echo')).toMatchObject({ connections: 1, drops: 1 });
  });

  it('debug logging, an address rule or hosts files keep it in the event loop, which logs each drop', async () => {
    const d = await daemon(`${ECHO}\n${DAYTIME}`);
    expect(await listening(d, 'u-echo')).not.toHaveProperty('fastPath');
    await udpSendFrom('127.0.0.2', d.port('u-daytime'), d.port('u-echo'), '127.0.0.1', 'loop?');
    expect(await d.waitFor((r) => r.msg === 'datagram dropped', 'drop record')).toMatchObject({ service: 'u-echo', reason: 'loop' });
    const ruled = await daemon(ECHO, '[service:u-echo/udp]\nonly_from = 127.0.0.1\n', INFO);
    expect(await listening(ruled, 'u-echo')).not.toHaveProperty('fastPath');
    expect((await udpAsk(ruled.port('u-echo'), 'ruled')).toString()).toBe('ruled');
  });
});
