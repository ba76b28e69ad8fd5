// launch.c: the fast path's Launcher and its reaper, with real sockets on loopback and real
// handlers: each connection's addresses in the template's environment slots, the instance and
// budget bounds (a connection not served is handed back with its fd, never dropped), handbacks
// for a missing program or user, close() and stop(), a backlog longer than one burst and a
// listener that cannot tell its backlog (unix), exits by signal, no zombie and one end per start
// after many connections, which reaper watches the exits and where the ring's share ends, and
// nothing of ours reaching a handler. Records are routed by launcher id from the one callback
// the test file registers, and waited on, never slept for.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';
import type { LaunchRecord, LaunchTemplate } from '../../src/native/index.js';
import { exchange, open, zombies } from '../helpers/client.js';
import { FIXTURE_BIN } from '../helpers/daemon.js';
import { fdFlags, hasIpv6, inheritedFds, portOf, runNode, WAIT_MS } from '../helpers/native.js';
import { until } from '../helpers/wait.js';

const C = native.constants;
const O_CLOEXEC = 0o2000000;
const OPTS: native.SpawnOptions = { fd: 0, uid: -1, gid: -1, groups: null, umask: 0o022, nice: 0, rlimits: [], cwd: '/' };
/** A handler that tells the client its pid and then runs until the client closes (or it is killed). */
const UNTIL_EOF = { file: '/bin/sh', argv: ['sh', '-c', 'echo $$; exec cat >/dev/null'], env: ['PATH=/usr/bin:/bin'], slots: [0] };

// ---- records, routed by launcher id ----

type Kind = LaunchRecord['kind'];
type RecordOf<K extends Kind> = Extract<LaunchRecord, { kind: K }>;

const byId = new Map<number, LaunchRecord[]>();
const wakers = new Set<() => void>();

function recordsOf(id: number): LaunchRecord[] {
  let list = byId.get(id);
  if (!list) byId.set(id, (list = []));
  return list;
}

function route(records: LaunchRecord[]): void {
  for (const r of records) recordsOf(r.id).push(r);
  for (const wake of [...wakers]) wake();
}

/** Hands over what the addon still holds, as the callback would. */
function drain(): void {
  route(native.launchDrain());
}

/** Resolves with the first record of launcher `id` of that kind that matches (past or future). */
function recordFor<K extends Kind>(id: number, kind: K, match: (r: RecordOf<K>) => boolean = () => true, what: string = kind): Promise<RecordOf<K>> {
  const find = (): RecordOf<K> | undefined => recordsOf(id).find((r): r is RecordOf<K> => r.kind === kind && match(r as RecordOf<K>));
  const seen = find();
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const wake = (): void => {
      const r = find();
      if (!r) return;
      wakers.delete(wake);
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      wakers.delete(wake);
      reject(new Error(`launcher ${id}: no ${what} record within ${WAIT_MS} ms; records: ${JSON.stringify(recordsOf(id))}`));
    }, WAIT_MS);
    wakers.add(wake);
  });
}

// ---- launchers on loopback, cleaned up after each test ----

let nextId = 1;
const launched: Array<{ id: number; launcher: native.Launcher; lfd: number }> = [];
const clients: net.Socket[] = [];
const handedBack: number[] = [];

interface Listening {
  id: number;
  lfd: number;
  port: number;
  launcher: native.Launcher;
  records: LaunchRecord[];
  record<K extends Kind>(kind: K, match?: (r: RecordOf<K>) => boolean, what?: string): Promise<RecordOf<K>>;
  starts(): Array<RecordOf<'start'>>;
}

/** A listening socket on `host` port 0 with a Launcher (not yet started) for the template. */
function launcher(tpl: Partial<LaunchTemplate> & Pick<LaunchTemplate, 'file' | 'argv'>, host = '127.0.0.1', prepare?: (fd: number) => void): Listening {
  const lfd = native.socket(host.includes(':') ? C.AF_INET6 : C.AF_INET, C.SOCK_STREAM);
  let l: native.Launcher;
  const id = nextId++;
  try {
    prepare?.(lfd);
    native.bind(lfd, host, 0);
    native.listen(lfd, 128);
    l = new native.Launcher(lfd, { id, env: [], slots: [], opts: OPTS, user: null, ...tpl });
  } catch (err) {
    native.close(lfd);
    throw err;
  }
  launched.push({ id, launcher: l, lfd });
  return {
    id,
    lfd,
    port: portOf(lfd),
    launcher: l,
    records: recordsOf(id),
    record: (kind, match, what) => recordFor(id, kind, match, what),
    starts: () => recordsOf(id).filter((r): r is RecordOf<'start'> => r.kind === 'start'),
  };
}

/** A client connection (established), destroyed after the test. */
async function client(port: number, host = '127.0.0.1'): Promise<Awaited<ReturnType<typeof open>>> {
  const c = await open(port, host);
  clients.push(c);
  return c;
}

/** The first line a client reads. */
async function line(c: Awaited<ReturnType<typeof open>>): Promise<string> {
  return until(() => (c.received().includes('\n') ? c.received().slice(0, c.received().indexOf('\n')) : null), 'a line from the handler', WAIT_MS);
}

/** Connections waiting in the accept queue of the socket listening on `port` (/proc/net/tcp*: rx_queue of a LISTEN entry). */
function acceptQueue(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      if (f[3] === '0A' && f[1]?.endsWith(`:${hex}`)) return parseInt(f[4]!.split(':')[1]!, 16);
    }
  }
  throw new Error(`nothing listens on port ${port}`);
}

/** Whether `pid` is a process (zombie or not) whose parent is this one. */
function childOfOurs(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8').includes(`PPid:\t${process.pid}\n`);
  } catch {
    return false;
  }
}

/**
 * The start of a script for a child node (or worker): the addon as `a`, a listening socket `fd`
 * on 127.0.0.1, a Launcher `l` of `program` (file, then argv; /bin/true by default) on it, and
 * launchRecords called with `records` (its arguments, as source text).
 */
export function childLauncher(records: string, program: string[] = ['/bin/true', 'true']): string {
  const [file, ...argv] = program;
  return `
    const a = require(process.env.ADDON);
    const C = a.constants;
    const fd = a.socket(C.AF_INET, C.SOCK_STREAM);
    a.bind(fd, '127.0.0.1', 0);
    a.listen(fd, 4);
    const opts = { fd: 0, uid: -1, gid: -1, groups: null, umask: 18, nice: 0, rlimits: [], cwd: '/' };
    const l = new a.Launcher(fd, { id: 1, file: ${JSON.stringify(file)}, argv: ${JSON.stringify(argv)}, env: [], slots: [], opts, user: null });
    a.launchRecords(${records});`;
}

/**
 * The Launcher's tests, run by launch.test.ts on the reaper the kernel allows (io_uring where it
 * has the waitid operation) and by launch-pidfd.test.ts on the pidfd reaper, its fallback. Each
 * test file runs in a process of its own, and makes the reaper with its first call.
 */
export function launchSuite(ring: boolean): void {
  // One callback per process: every launcher of the file reports here.
  const reaper = native.launchRecords(route, ring);

  /**
 * The reaper the kernel should give when asked for a ring: io_uring from Linux 6.7 unless
 * kernel.io_uring_disabled says no; null when this cannot be told from here (io_uring allowed
 * to some only, or a seccomp filter that may refuse it).
 */
function ringExpected(): native.LaunchReaper | null {
  const [major = 0, minor = 0] = release().split('.').map(Number);
  if (major < 6 || (major === 6 && minor < 7)) return 'pidfd';
  let disabled = '0';
  try {
    disabled = readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim();
  } catch {
    // No such setting: io_uring is not disabled.
  }
  if (disabled === '2') return 'pidfd';
  if (disabled !== '0' || !/^Seccomp:\s+0$/m.test(readFileSync('/proc/self/status', 'utf8'))) return null;
  return 'io_uring';
}

/** Whether `pid` has ended: it waits to be reaped, or the launch thread has reaped it. */
function hasEnded(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** How many pidfds this process holds. */
function pidfds(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[pidfd]';
    } catch {
      return false;
    }
  }).length;
}

afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    for (const fd of handedBack.splice(0)) native.close(fd);
    drain();
    // Handlers still running are killed, and their ends awaited: every test leaves no child behind.
    const pending: Array<Promise<unknown>> = [];
    for (const { id, launcher: l, lfd } of launched.splice(0)) {
      l.close();
      native.close(lfd);
      for (const s of recordsOf(id).filter((r): r is RecordOf<'start'> => r.kind === 'start')) {
        if (recordsOf(id).some((r) => r.kind === 'end' && r.pid === s.pid)) continue;
        try {
          process.kill(s.pid, 'SIGKILL');
        } catch {
          // Ended already; its end record is on its way.
        }
        pending.push(recordFor(id, 'end', (r) => r.pid === s.pid));
      }
    }
    await Promise.all(pending);
  });

  describe('Launcher', () => {
    it(ring ? 'watches exits on io_uring where the kernel has its waitid operation (Linux 6.7)' : 'watches exits through pidfds when asked to', () => {
      const expected = ring ? ringExpected() : 'pidfd';
      if (expected === null) expect(['io_uring', 'pidfd']).toContain(reaper);
      else expect(reaper).toBe(expected);
    });

    it('watches 128 children at most on the ring and the others through pidfds, and reports every end when 300 end while the event loop is busy', async () => {
      const N = 300;
      const s = launcher(UNTIL_EOF);
      s.launcher.start(0, -1);
      const before = pidfds();
      const cs: Array<Awaited<ReturnType<typeof open>>> = [];
      for (let i = 0; i < N; i += 50) cs.push(...(await Promise.all(Array.from({ length: 50 }, () => client(s.port)))));
      const pids = (await Promise.all(cs.map(line))).map(Number);
      expect(new Set(pids).size).toBe(N);
      expect(pidfds() - before).toBe(reaper === 'io_uring' ? N - 128 : N);
      // All end while this thread waits for them without yielding: the launch thread reaps them
      // meanwhile, and the event loop hears of every end once it runs again.
      for (const c of cs) c.destroy();
      const deadline = Date.now() + WAIT_MS;
      while (!pids.every(hasEnded)) if (Date.now() > deadline) throw new Error(`handlers still running: ${pids.filter((p) => !hasEnded(p)).join(' ')}`);
      await until(() => (drain(), s.records.filter((r) => r.kind === 'end').length >= N), `${N} end records`, WAIT_MS);
      const ends = s.records.filter((r): r is RecordOf<'end'> => r.kind === 'end');
      expect(ends.map((r) => r.pid).sort()).toEqual([...pids].sort());
      expect(ends.every((r) => r.code === 0 && r.signal === null)).toBe(true);
      expect(s.launcher.running).toBe(0);
      expect(pidfds()).toBe(before);
      expect(await zombies(process.pid)).toEqual([]);
    });

    it('starts handlers on a thread of its own, not on the event loop\'s', async () => {
      const s = launcher(UNTIL_EOF);
      s.launcher.start(0, -1);
      const pid = Number(await line(await client(s.port)));
      // Each thread's children, by thread id; the event loop's thread id is the process id.
      const parents = readdirSync('/proc/self/task').filter((tid) => readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ').includes(String(pid)));
      expect(parents).toHaveLength(1);
      expect(Number(parents[0])).not.toBe(process.pid);
    });

    it('keeps the process alive while a launcher watches, and lets it end once none does', async () => {
      // In a child node with nothing else to keep it alive: stop() in an unref'd timer.
      const script = `${childLauncher(`() => {}, ${ring}`)}
        l.start(0, -1);
        setTimeout(() => { console.log('still alive'); l.stop(); }, 200).unref();
      `;
      const r = await runNode(script);
      expect(r).toMatchObject({ code: 0, stdout: 'still alive\n', stderr: '' });
    });

    it("starts the handler with the connection on 0, 1 and 2 and each connection's addresses in the env slots, and reports its start and end", async () => {
      const s = launcher({
        file: '/bin/sh',
        argv: ['sh', '-c', 'echo "$TCPLOCALIP $TCPLOCALPORT $TCPREMOTEIP $TCPREMOTEPORT $FIXED"; exec cat >/dev/null'],
        env: ['PATH=/usr/bin:/bin', 'TCPLOCALIP=', 'TCPLOCALPORT=', 'TCPREMOTEIP=', 'TCPREMOTEPORT=', 'FIXED=x'],
        slots: [0, 1, 2, 3, 4, 0],
      });
      expect(s.launcher.running).toBe(0);
      s.launcher.start(0, -1);
      // Two connections in turn: the slots are filled again for each, not once.
      for (let i = 0; i < 2; i++) {
        const c = await client(s.port);
        expect(await line(c)).toBe(`127.0.0.1 ${s.port} 127.0.0.1 ${c.localPort!} x`);
        const start = await s.record('start', (r) => r.peer === `127.0.0.1:${c.localPort!}`);
        expect(start).toEqual({ kind: 'start', id: s.id, at: expect.any(Number), pid: expect.any(Number), peer: `127.0.0.1:${c.localPort!}` });
        expect(start.pid).toBeGreaterThan(0);
        // The handler waits for the client's end: it runs now.
        expect(s.launcher.running).toBe(1);
        c.end();
        const end = await s.record('end', (r) => r.pid === start.pid);
        expect(end).toEqual({
          kind: 'end',
          id: s.id,
          at: expect.any(Number),
          pid: start.pid,
          code: 0,
          signal: null,
          utimeUs: expect.any(Number),
          stimeUs: expect.any(Number),
          maxRssKb: expect.any(Number),
        });
        expect(end.maxRssKb).toBeGreaterThan(0);
        expect(end.at).toBeGreaterThanOrEqual(start.at);
        expect(s.launcher.running).toBe(0);
      }
      expect(s.starts()).toHaveLength(2);
    });

    it.skipIf(!hasIpv6)('shows an IPv6 peer as [::1]:port in the record and ::1 in the environment', async () => {
      const s = launcher({ ...UNTIL_EOF, argv: ['sh', '-c', 'echo "$TCPLOCALIP $TCPREMOTEIP $TCPREMOTEPORT"; exec cat >/dev/null'], env: ['TCPLOCALIP=', 'TCPREMOTEIP=', 'TCPREMOTEPORT='], slots: [1, 3, 4] }, '::1');
      s.launcher.start(0, -1);
      const c = await client(s.port, '::1');
      expect(await line(c)).toBe(`::1 ::1 ${c.localPort!}`);
      expect(await s.record('start')).toMatchObject({ peer: `[::1]:${c.localPort!}` });
    });

    it.skipIf(!hasIpv6)('shows an IPv4 client of a dual-stack IPv6 socket as its IPv4 address, not the mapped one', async () => {
      // ::ffff:127.0.0.1 on an IPv6 socket that takes IPv4 too: IPv4 clients on loopback only.
      const dual = (fd: number): void => native.setsockopt(fd, C.IPPROTO_IPV6, C.IPV6_V6ONLY, 0);
      const s = launcher({ ...UNTIL_EOF, argv: ['sh', '-c', 'echo "$TCPLOCALIP $TCPREMOTEIP $TCPREMOTEPORT"; exec cat >/dev/null'], env: ['TCPLOCALIP=', 'TCPREMOTEIP=', 'TCPREMOTEPORT='], slots: [1, 3, 4] }, '::ffff:127.0.0.1', dual);
      expect(native.getsockname(s.lfd)).toMatchObject({ family: 'IPv6', address: '::ffff:127.0.0.1' });
      s.launcher.start(0, -1);
      const c = await client(s.port);
      expect(await line(c)).toBe(`127.0.0.1 127.0.0.1 ${c.localPort!}`);
      expect(await s.record('start')).toMatchObject({ peer: `127.0.0.1:${c.localPort!}` });
    });

    it('at `instances` running, pauses as full and leaves the next client in the backlog until started again', async () => {
      const s = launcher(UNTIL_EOF);
      s.launcher.start(1, -1);
      const first = await client(s.port);
      const pid1 = Number(await line(first));
      expect(await s.record('paused')).toMatchObject({ why: 'full' });
      const second = await client(s.port);
      // The kernel completed the handshake; nobody accepts it.
      await until(() => acceptQueue(s.port) === 1, 'the second client in the accept queue', WAIT_MS);
      drain();
      expect(s.starts().map((r) => r.pid)).toEqual([pid1]);
      expect(s.launcher.running).toBe(1);
      first.end();
      await s.record('end', (r) => r.pid === pid1);
      expect(s.launcher.running).toBe(0);
      // Pausing is the launcher's; resuming is its owner's call.
      s.launcher.start(1, -1);
      const pid2 = Number(await line(second));
      expect(pid2).not.toBe(pid1);
      expect(await s.record('start', (r) => r.pid === pid2)).toMatchObject({ peer: `127.0.0.1:${second.localPort!}` });
      expect(acceptQueue(s.port)).toBe(0);
    });

    it('serves `budget` connections, then hands the next back with its fd and peer and pauses', async () => {
      const s = launcher(UNTIL_EOF);
      s.launcher.start(0, 1);
      const first = await client(s.port);
      const pid1 = Number(await line(first));
      expect(await s.record('start')).toMatchObject({ pid: pid1 });
      const second = await client(s.port);
      const back = await s.record('handback');
      handedBack.push(back.fd);
      expect(back).toEqual({ kind: 'handback', id: s.id, at: expect.any(Number), fd: expect.any(Number), peer: { family: 'IPv4', address: '127.0.0.1', port: second.localPort! } });
      const paused = await s.record('paused');
      expect(paused.why).toBe('budget');
      expect(s.records.indexOf(paused)).toBeGreaterThan(s.records.indexOf(back));
      // A real connection to that client, close-on-exec like every fd of ours.
      expect(fdFlags(back.fd) & O_CLOEXEC).toBe(O_CLOEXEC);
      native.send(back.fd, Buffer.from('handed back\n'));
      expect(await line(second)).toBe('handed back');
      expect(s.starts()).toHaveLength(1);
      // Paused: a third client waits in the backlog.
      await client(s.port);
      await until(() => acceptQueue(s.port) === 1, 'the third client in the accept queue', WAIT_MS);
    });

    it.each([
      { what: 'a program that does not exist', tpl: { file: '/nonexistent/ninetd-handler' }, why: 'spawn' },
      { what: 'a user that does not exist', tpl: { user: 'no-such-user-ninetd' }, why: 'user' },
    ])('hands the connection back and pauses ($why) for $what, starting nothing', async ({ tpl, why }) => {
      const s = launcher({ ...UNTIL_EOF, ...tpl });
      s.launcher.start(0, -1);
      const c = await client(s.port);
      const back = await s.record('handback');
      handedBack.push(back.fd);
      expect(back.peer).toEqual({ family: 'IPv4', address: '127.0.0.1', port: c.localPort! });
      expect(await s.record('paused')).toMatchObject({ why });
      native.send(back.fd, Buffer.from('still here\n'));
      expect(await line(c)).toBe('still here');
      drain();
      expect(s.starts()).toEqual([]);
      expect(s.launcher.running).toBe(0);
      expect(await zombies(process.pid)).toEqual([]);
    });

    it('still reports the end of a handler that outlives close()', async () => {
      const s = launcher(UNTIL_EOF);
      s.launcher.start(0, -1);
      const c = await client(s.port);
      const pid = Number(await line(c));
      s.launcher.close();
      s.launcher.close();
      expect(s.launcher.running).toBe(1);
      expect(() => s.launcher.start(0, -1)).toThrow(expect.objectContaining({ code: 'EBADF' }));
      c.end();
      expect(await s.record('end', (r) => r.pid === pid)).toMatchObject({ code: 0, signal: null });
      expect(s.launcher.running).toBe(0);
    });

    it('stop() stops accepting: a client waits in the backlog until start()', async () => {
      const s = launcher(UNTIL_EOF);
      s.launcher.start(0, -1);
      const first = await client(s.port);
      const pid1 = Number(await line(first));
      s.launcher.stop();
      const second = await client(s.port);
      await until(() => acceptQueue(s.port) === 1, 'the second client in the accept queue', WAIT_MS);
      drain();
      expect(s.starts().map((r) => r.pid)).toEqual([pid1]);
      s.launcher.start(0, -1);
      const pid2 = Number(await line(second));
      expect(await s.record('start', (r) => r.pid === pid2)).toMatchObject({ peer: `127.0.0.1:${second.localPort!}` });
    });

    it('serves a backlog longer than one burst, read from the accept queue, to the last client', async () => {
      const s = launcher({ file: `${FIXTURE_BIN}/hello`, argv: ['hello'] });
      // 40 clients wait before the launcher looks: its burst (32) learns the queue's length, not one connection at a time.
      const waiting = await backlog(s, 40);
      const peers = new Set(waiting.map((c) => `127.0.0.1:${c.localPort!}`));
      s.launcher.start(0, -1);
      const lines = await Promise.all(waiting.map(line));
      expect(lines).toEqual(Array(40).fill('hello'));
      expect(acceptQueue(s.port)).toBe(0);
      await until(() => (drain(), s.starts().length === 40 ? true : null), '40 start records', WAIT_MS);
      expect(new Set(s.starts().map((r) => r.peer))).toEqual(peers);
    });

    // A backlog of `n` clients, queued before the launcher looks.
    async function backlog(s: Listening, n: number): Promise<Array<Awaited<ReturnType<typeof client>>>> {
      const waiting = await Promise.all(Array.from({ length: n }, () => client(s.port)));
      await until(() => acceptQueue(s.port) === n, `${n} clients in the accept queue`, WAIT_MS);
      return waiting;
    }

    it('starts a queue of handlers from two threads, so that one accepts while the other waits for its clone', async () => {
      const s = launcher(UNTIL_EOF);
      // Enough that one thread alone would take some milliseconds: the other is woken at the first clone.
      const waiting = await backlog(s, 100);
      s.launcher.start(0, -1);
      const pids = (await Promise.all(waiting.map(line))).map(Number);
      // Each handler's parent, by thread id: all of them launch threads, and more than one.
      const tasks = readdirSync('/proc/self/task');
      const parents = new Set(pids.map((pid) => tasks.find((tid) => readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ').includes(String(pid)))));
      expect(parents.has(undefined)).toBe(false);
      expect(parents.has(String(process.pid))).toBe(false);
      expect(parents.size).toBe(2);
      expect(s.launcher.running).toBe(100);
    });

    it('two threads together never start more than `instances`: the rest stay in the backlog', async () => {
      const s = launcher(UNTIL_EOF);
      const waiting = await backlog(s, 30);
      s.launcher.start(3, -1);
      expect(await s.record('paused')).toMatchObject({ why: 'full' });
      await until(() => (drain(), s.starts().length === 3 ? true : null), '3 start records', WAIT_MS);
      expect(s.launcher.running).toBe(3);
      expect(acceptQueue(s.port)).toBe(27);
      const served = waiting.filter((c) => s.starts().some((r) => r.peer === `127.0.0.1:${c.localPort!}`));
      expect(served).toHaveLength(3);
      expect(s.starts()).toHaveLength(3);
    });

    it('two threads together never start more than `budget`: the next is handed back, the rest stay in the backlog', async () => {
      const s = launcher(UNTIL_EOF);
      await backlog(s, 30);
      s.launcher.start(0, 5);
      const back = await s.record('handback');
      handedBack.push(back.fd);
      expect(await s.record('paused')).toMatchObject({ why: 'budget' });
      await until(() => (drain(), s.starts().length === 5 ? true : null), '5 start records', WAIT_MS);
      expect(s.records.filter((r) => r.kind === 'handback')).toHaveLength(1);
      expect(acceptQueue(s.port)).toBe(24);
      expect(s.starts()).toHaveLength(5);
    });

    it('serves a listener that cannot report its queue (a unix socket) by accepting until EAGAIN', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ninetd-launch-'));
      const lfd = native.socket(C.AF_UNIX, C.SOCK_STREAM);
      const id = nextId++;
      try {
        let l: native.Launcher;
        try {
          native.bindUnix(lfd, join(dir, 'sock'), 0o600);
          native.listen(lfd, 16);
          l = new native.Launcher(lfd, { id, env: [], slots: [], opts: OPTS, user: null, file: `${FIXTURE_BIN}/hello`, argv: ['hello'] });
        } catch (err) {
          native.close(lfd);
          throw err;
        }
        launched.push({ id, launcher: l, lfd });
        l.start(0, -1);
        const read = (): Promise<string> =>
          new Promise((resolve, reject) => {
            let got = '';
            const c = net.connect({ path: join(dir, 'sock') });
            clients.push(c);
            const timer = setTimeout(() => reject(new Error(`no answer within ${WAIT_MS} ms; records: ${JSON.stringify(recordsOf(id))}`)), WAIT_MS);
            c.on('data', (d: Buffer) => (got += d.toString()));
            c.on('error', reject);
            c.on('close', () => (clearTimeout(timer), resolve(got)));
          });
        expect(await Promise.all([read(), read(), read()])).toEqual(['hello\n', 'hello\n', 'hello\n']);
        expect(await read()).toBe('hello\n');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('reports a handler killed by a signal with code null and the signal name', async () => {
      const s = launcher({ file: '/bin/sh', argv: ['sh', '-c', 'echo $$; exec sleep 60'] });
      s.launcher.start(0, -1);
      const c = await client(s.port);
      const pid = Number(await line(c));
      expect((await s.record('start')).pid).toBe(pid);
      process.kill(pid, 'SIGKILL');
      expect(await s.record('end', (r) => r.pid === pid)).toMatchObject({ code: null, signal: 'SIGKILL' });
    });

    it('reports exactly one end for every start and leaves no zombie after 200 sequential and 50 concurrent connections', async () => {
      const s = launcher({ file: `${FIXTURE_BIN}/hello`, argv: ['hello'] });
      s.launcher.start(0, -1);
      for (let i = 0; i < 200; i++) expect((await exchange(s.port)).toString()).toBe('hello\n');
      const concurrent = await Promise.all(Array.from({ length: 50 }, () => exchange(s.port)));
      expect(concurrent.every((b) => b.toString() === 'hello\n')).toBe(true);
      await until(() => (drain(), s.records.filter((r) => r.kind === 'end').length >= 250), '250 end records', 30_000);
      const starts = s.starts().map((r) => r.pid);
      const ends = s.records.filter((r): r is RecordOf<'end'> => r.kind === 'end');
      expect(starts).toHaveLength(250);
      expect(new Set(starts).size).toBe(250);
      expect(ends.map((r) => r.pid).sort()).toEqual([...starts].sort());
      expect(ends.every((r) => r.code === 0 && r.signal === null)).toBe(true);
      expect(s.records.filter((r) => r.kind !== 'start' && r.kind !== 'end')).toEqual([]);
      expect(s.launcher.running).toBe(0);
      expect(await zombies(process.pid)).toEqual([]);
      // Reaped: none is still a child of ours (its pid may belong to another process by now).
      expect(starts.filter(childOfOurs)).toEqual([]);
    });

    it('gives the handler no fd of ours: no listening socket, no pidfd, no epoll set, no io_uring', async () => {
      // Another launcher's handler runs meanwhile, so that the reaper watches a child (on its ring, or by a pidfd).
      const other = launcher(UNTIL_EOF);
      other.launcher.start(0, -1);
      await line(await client(other.port));
      const s = launcher({ file: '/bin/ls', argv: ['ls', '-l', '/proc/self/fd'] });
      s.launcher.start(0, -1);
      const listing = (await exchange(s.port)).toString();
      const fds = new Map([...listing.matchAll(/ (\d+) -> (.*)$/gm)].map((m) => [Number(m[1]), m[2]!]));
      expect([0, 1, 2].map((fd) => fds.get(fd))).toEqual(Array(3).fill(expect.stringMatching(/^socket:\[\d+\]$/)));
      expect(new Set([0, 1, 2].map((fd) => fds.get(fd))).size).toBe(1);
      const ours = [s.lfd, other.lfd].map((fd) => readlinkSync(`/proc/self/fd/${fd}`));
      const inherited = await inheritedFds();
      for (const [fd, target] of fds) {
        if (fd <= 2) continue;
        expect(target).not.toMatch(/pidfd|eventpoll|io_uring/);
        expect(ours).not.toContain(target);
        // ls's own directory fd, or one every program we exec inherits (not the launcher's doing).
        if (!/^\/proc\/\d+\/fd$/.test(target)) expect(inherited).toContain(fd);
      }
    });

    it('rejects a template whose slots do not match its env, or name no slot, before listening', () => {
      const fd = native.socket(C.AF_INET, C.SOCK_STREAM);
      try {
        const tpl = { id: 0, file: '/bin/true', argv: ['true'], env: ['A='], slots: [] as number[], opts: OPTS, user: null };
        expect(() => new native.Launcher(fd, tpl)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
        expect(() => new native.Launcher(fd, { ...tpl, slots: [5] })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      } finally {
        native.close(fd);
      }
    });

    it('does not swallow an error thrown by the records callback: it reaches uncaughtException', async () => {
      // In a child node: the error ends the process that registered the callback.
      const script = `${childLauncher(`() => { throw new Error('thrown by the records callback'); }`)}
        const net = require('node:net');
        process.on('uncaughtException', (err) => { console.log(JSON.stringify({ caught: err.message })); process.exit(0); });
        setTimeout(() => { console.log(JSON.stringify({ caught: null })); process.exit(3); }, 10000).unref();
        l.start(0, -1);
        net.connect(a.getsockname(fd).port, '127.0.0.1').on('error', () => {});
      `;
      const r = await runNode(script);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({ caught: 'thrown by the records callback' });
      expect(r.code).toBe(0);
    });
  });
}
