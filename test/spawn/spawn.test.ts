// spawnHandler with real processes on real sockets: what a handler is given (fds, blocking mode,
// signals, session, cwd, umask, nice, limits, ids, groups, capabilities) and how its end is
// reported. No sleeps: every wait is on an event with a bounded timeout.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';
import { controllingTerminal, nativeSpawn, SpawnError, spawnHandler, type HandlerEnd, type SpawnRequest } from '../../src/spawn/spawn.js';
import { fdCount, zombies } from '../helpers/client.js';
import { FIXTURE_BIN } from '../helpers/daemon.js';

const C = native.constants;
const REPORT = path.join(FIXTURE_BIN, 'report');
const WAIT_MS = 10_000;
const asRoot = process.getuid?.() === 0;
const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'ninetd-spawn-')));

// As the daemon does at startup: nothing our own parent (vitest) left open may reach handlers.
beforeAll(() => native.cloexecFrom(3));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let serial = 0;

/** A connected pair: `fd` (ours, accepted, as dispatch gets it) and the peer as a net.Socket. */
async function connection(kind: 'tcp' | 'unix'): Promise<{ fd: number; peer: net.Socket }> {
  const listener = native.socket(kind === 'tcp' ? C.AF_INET : C.AF_UNIX, C.SOCK_STREAM);
  try {
    const name = path.join(dir, `s${serial++}`);
    native.bind(listener, kind === 'tcp' ? '127.0.0.1' : name, 0);
    native.listen(listener, 4);
    const addr = native.getsockname(listener);
    const peer = addr.family === 'unix' ? net.connect({ path: name }) : net.connect(addr.port, '127.0.0.1');
    await once(peer, 'connect');
    await readable(listener);
    const conn = native.accept(listener);
    if (!conn) throw new Error('no connection to accept');
    return { fd: conn.fd, peer };
  } finally {
    native.close(listener);
  }
}

/** Resolves once `fd` is readable; the Poller is closed again. */
function readable(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (poller.close(), reject(new Error(`fd ${fd} not readable`))), WAIT_MS);
    const poller = new native.Poller(fd, (err) => {
      clearTimeout(timer);
      poller.close();
      if (err) reject(err);
      else resolve();
    });
    poller.start();
  });
}

/** Everything `sock` receives until the other side closes. */
function readAll(sock: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => (sock.destroy(), reject(new Error('handler output not closed in time'))), WAIT_MS);
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => (text += c));
    sock.on('error', (err) => (clearTimeout(timer), reject(err)));
    sock.on('close', () => (clearTimeout(timer), resolve(text)));
  });
}

/** Spawns as dispatch does (our copy of the fd closed at once) and resolves with each end reported. */
function start(req: Omit<SpawnRequest, 'fd' | 'env' | 'uid' | 'gid'> & Partial<SpawnRequest>, fd: number) {
  const ends: HandlerEnd[] = [];
  let pid = 0;
  const ended = new Promise<HandlerEnd>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${req.file} did not end in time`)), WAIT_MS);
    try {
      pid = spawnHandler({ env: { PATH: '/usr/bin:/bin' }, uid: -1, gid: -1, fd, ...req }, (end) => {
        ends.push(end);
        clearTimeout(timer);
        resolve(end);
      });
    } catch (err) {
      clearTimeout(timer);
      throw err;
    }
  });
  return { pid, ended, ends };
}

/** Runs a handler on a fresh connection and returns what it wrote and how it ended. */
async function runHandler(req: Omit<SpawnRequest, 'fd' | 'env' | 'uid' | 'gid'> & Partial<SpawnRequest>, kind: 'tcp' | 'unix' = 'unix') {
  const { fd, peer } = await connection(kind);
  const output = readAll(peer);
  let run;
  try {
    native.setNonBlocking(fd, true); // the handler must get it blocking whatever our copy was
    run = start(req, fd);
  } finally {
    native.close(fd);
  }
  const [text, end] = await Promise.all([output, run.ended]);
  return { text, end, pid: run.pid, ends: run.ends };
}

/** report's "key value" lines; repeated keys (fd, env) collect into arrays. */
function parseReport(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of text.split('\n').filter(Boolean)) {
    const i = line.indexOf(' ');
    (out[line.slice(0, i)] ??= []).push(line.slice(i + 1));
  }
  return out;
}

/** `Key:` lines of /proc/<pid>/status as read by the handler itself. */
function statusField(text: string, key: string): string {
  const m = new RegExp(`^${key}:[ \\t]*(.*)$`, 'm').exec(text);
  if (!m) throw new Error(`no ${key}: line in\n${text}`);
  return m[1]!.trim();
}

/** The handler's own /proc files: status, stat and limits, by exec'ing cat on them. */
const PROC_SELF: Pick<SpawnRequest, 'file' | 'argv'> = {
  file: '/bin/cat',
  argv: ['cat', '/proc/self/status', '/proc/self/stat', '/proc/self/limits'],
};

/** The nice value from /proc/self/stat (field 19). */
function niceOf(text: string): number {
  const stat = text.split('\n').find((l) => /^\d+ \(cat\) /.test(l));
  if (!stat) throw new Error('no stat line');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

describe('spawnHandler', () => {
  it('uses the native spawn on this kernel (pidfds are available)', () => {
    expect(nativeSpawn()).toBe(true);
  });

  it.each(['unix', 'tcp'] as const)('gives a %s handler the socket as fds 0-2 only, blocking, default signals, its own process group, no terminal and exactly the environment', async (kind) => {
    const env = { PATH: '/usr/bin:/bin', PROTO: 'TEST', ODD: 'a=b c' };
    const { text, end } = await runHandler({ file: REPORT, argv: ['report'], env }, kind);
    const r = parseReport(text);
    expect(r.fd).toEqual(['0', '1', '2']);
    expect(r.nonblock0).toEqual(['0']);
    expect(r.SigIgn).toEqual(['0000000000000000']);
    expect(r.SigBlk).toEqual(['0000000000000000']);
    // A session of its own only when we have a terminal (docs/handlers.md, Session); a process group of its own and no terminal always.
    expect(r.sid_is_pid).toEqual([controllingTerminal() ? '1' : '0']);
    expect(r.pgid_is_pid).toEqual(['1']);
    expect(r.tty).toEqual(['0']);
    expect(r.cwd).toEqual(['/']);
    expect(r.env?.sort()).toEqual(['ODD=a=b c', 'PATH=/usr/bin:/bin', 'PROTO=TEST']);
    expect(end).toMatchObject({ code: 0, signal: null });
  });

  it('runs the handler in the cwd asked for', async () => {
    const { text } = await runHandler({ file: REPORT, argv: ['report'], cwd: dir });
    expect(parseReport(text).cwd).toEqual([dir]);
  });

  it('sets the umask (0o022 by default), the nice value and an RLIMIT_NOFILE as asked', async () => {
    const plain = await runHandler(PROC_SELF);
    expect(statusField(plain.text, 'Umask')).toBe('0022');
    const own = Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[16]);
    expect(niceOf(plain.text)).toBe(own);

    const { text, end } = await runHandler({ ...PROC_SELF, umask: 0o027, nice: 7, rlimits: [[C.RLIMIT_NOFILE, 64, 128]] });
    expect(end).toMatchObject({ code: 0, signal: null });
    expect(statusField(text, 'Umask')).toBe('0027');
    expect(niceOf(text)).toBe(7);
    expect(text).toMatch(/^Max open files\s+64\s+128\s+files\s*$/m);
  });

  it('reports an exit code and a killing signal, each exactly once', async () => {
    const exit = await runHandler({ file: '/bin/sh', argv: ['sh', '-c', 'exit 7'] });
    const killed = await runHandler({ file: '/bin/sh', argv: ['sh', '-c', 'kill -SEGV $$'] });
    // One more turn of the loop: a second report would have arrived by now.
    await new Promise((r) => setImmediate(r));
    expect(exit.ends).toEqual([expect.objectContaining({ code: 7, signal: null })]);
    expect(killed.ends).toEqual([expect.objectContaining({ code: null, signal: 'SIGSEGV' })]);
    // The native spawn reports what the handler cost; the child_process fallback cannot.
    if (nativeSpawn()) expect(killed.ends[0]!.usage).toEqual({ utimeUs: expect.any(Number), stimeUs: expect.any(Number), maxRssKb: expect.any(Number) });
    expect(exit.pid).toBeGreaterThan(0);
  });

  it('throws SpawnError synchronously for a missing program, with the execve ENOENT as cause, and leaves no zombie', async () => {
    const fd = openSync('/dev/null', 'r+');
    let err: unknown;
    try {
      spawnHandler({ file: path.join(dir, 'no-such-handler'), argv: ['x'], fd, env: {}, uid: -1, gid: -1 }, () => {
        throw new Error('onEnd must not be called');
      });
    } catch (e) {
      err = e;
    } finally {
      closeSync(fd);
    }
    expect(err).toBeInstanceOf(SpawnError);
    expect(err).toMatchObject({ code: 'ERR_SPAWN', cause: { code: 'ENOENT', syscall: 'execve', path: path.join(dir, 'no-such-handler') } });
    expect(await zombies(process.pid)).toEqual([]);
  });

  it('throws for a cwd that does not exist, naming chdir', () => {
    const fd = openSync('/dev/null', 'r+');
    try {
      expect(() => spawnHandler({ file: '/bin/true', argv: ['true'], fd, env: {}, uid: -1, gid: -1, cwd: path.join(dir, 'gone') }, () => {})).toThrow(
        expect.objectContaining({ code: 'ERR_SPAWN', cause: expect.objectContaining({ code: 'ENOENT', syscall: 'chdir' }) }),
      );
    } finally {
      closeSync(fd);
    }
  });

  it('200 quick spawns leave no zombie and no fd behind in the supervisor', async () => {
    const fd = openSync('/dev/null', 'r+');
    try {
      await start({ file: '/bin/true', argv: ['true'] }, fd).ended; // warm-up: lazily opened fds
      const before = await fdCount(process.pid);
      const runs = Array.from({ length: 200 }, () => start({ file: '/bin/true', argv: ['true'] }, fd));
      const ends = await Promise.all(runs.map((r) => r.ended));
      expect(ends.every((e) => e.code === 0 && e.signal === null)).toBe(true);
      expect(runs.every((r) => r.ends.length === 1)).toBe(true);
      expect(await zombies(process.pid)).toEqual([]);
      expect(await fdCount(process.pid)).toBe(before);
    } finally {
      closeSync(fd);
    }
  });
});

/** A user from /etc/group that is a member of some group other than its own, if there is one. */
function userWithSupplementaryGroups(): string | null {
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const members = line.split(':')[3];
    for (const user of members ? members.split(',') : []) if (native.getpwnam(user.trim())) return user.trim();
  }
  return null;
}

describe.skipIf(!asRoot)('spawnHandler as root', () => {
  const nobody = native.getpwnam('nobody');

  it.skipIf(!nobody)("runs a handler for nobody with nobody's real, effective and saved ids, exactly its groups, and no capabilities", async () => {
    const pw = nobody!;
    const groups = native.getgrouplist('nobody', pw.gid);
    const idG = execFileSync('id', ['-G', 'nobody'], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    expect([...groups].sort((a, b) => a - b)).toEqual([...idG].sort((a, b) => a - b));
    const { text, end } = await runHandler({ ...PROC_SELF, uid: pw.uid, gid: pw.gid, groups });
    expect(end).toMatchObject({ code: 0, signal: null });
    expect(statusField(text, 'Uid').split(/\s+/)).toEqual(Array(4).fill(String(pw.uid)));
    expect(statusField(text, 'Gid').split(/\s+/)).toEqual(Array(4).fill(String(pw.gid)));
    const seen = statusField(text, 'Groups').split(/\s+/).filter(Boolean).map(Number);
    expect(seen.sort((a, b) => a - b)).toEqual([...idG].sort((a, b) => a - b));
    expect(statusField(text, 'CapEff')).toBe('0000000000000000');
    expect(statusField(text, 'CapPrm')).toBe('0000000000000000');
    expect(statusField(text, 'CapAmb')).toBe('0000000000000000');
  });

  it('gives a member of other groups those groups, as initgroups would', async (ctx) => {
    const user = userWithSupplementaryGroups();
    if (!user) ctx.skip('no user in /etc/group is a member of another group');
    const pw = native.getpwnam(user!)!;
    const groups = native.getgrouplist(user!, pw.gid);
    const idG = execFileSync('id', ['-G', user!], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    expect(groups.length).toBeGreaterThan(1);
    const { text } = await runHandler({ ...PROC_SELF, uid: pw.uid, gid: pw.gid, groups });
    const seen = statusField(text, 'Groups').split(/\s+/).filter(Boolean).map(Number);
    expect(seen.sort((a, b) => a - b)).toEqual([...idG].sort((a, b) => a - b));
  });

  it.skipIf(!nobody)('an explicit group becomes the primary gid', async () => {
    const gid = native.getgrnam('daemon')?.gid ?? 1;
    const { text } = await runHandler({ ...PROC_SELF, uid: nobody!.uid, gid, groups: [gid] });
    expect(statusField(text, 'Uid').split(/\s+/)).toEqual(Array(4).fill(String(nobody!.uid)));
    expect(statusField(text, 'Gid').split(/\s+/)).toEqual(Array(4).fill(String(gid)));
    expect(statusField(text, 'Groups')).toBe(String(gid));
  });

  it('without groups in the request, a handler whose ids change gets no supplementary groups', async () => {
    const { text } = await runHandler({ ...PROC_SELF, uid: 65534, gid: 65534 });
    expect(statusField(text, 'Groups')).toBe('');
  });

  it('an impossible gid fails at setgid with a distinct error, no zombie and the supervisor unharmed', async () => {
    const fd = openSync('/dev/null', 'r+');
    try {
      expect(() => spawnHandler({ file: '/bin/true', argv: ['true'], fd, env: {}, uid: 65534, gid: 4294967295 }, () => {})).toThrow(
        expect.objectContaining({ code: 'ERR_SPAWN', cause: expect.objectContaining({ code: 'EINVAL', syscall: 'setgid' }) }),
      );
    } finally {
      closeSync(fd);
    }
    expect(await zombies(process.pid)).toEqual([]);
    const after = await runHandler({ file: '/bin/true', argv: ['true'] });
    expect(after.end).toMatchObject({ code: 0, signal: null });
  });
});

describe.skipIf(asRoot)('spawnHandler as another user', () => {
  it('runs the handler as ninetd\'s own user whatever the request says', async () => {
    const { text } = await runHandler({ ...PROC_SELF, uid: 0, gid: 0, groups: [0] });
    expect(statusField(text, 'Uid').split(/\s+/)[0]).toBe(String(process.getuid!()));
  });
});

if (!asRoot) console.warn('test/spawn/spawn.test.ts: not root, so the tests of user and group switching are skipped');
