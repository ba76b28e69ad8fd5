// The check that a handler's user still exists, made before every spawn on the fast path, and
// what it may carry over from one spawn to the next (src/native/nss.c, "a user's existence").
// Each daemon runs in a mount namespace of its own, with private copies of /etc/passwd and
// /etc/nsswitch.conf bind-mounted over the real ones: the tests edit their copies, never the
// machine's files. Root only (mounts, and ids to switch to). A bind mount on a file is detached
// in every namespace when the file is renamed over, as useradd and userdel do to /etc/passwd, so
// no test may change the machine's users while these run: the suite's one test that did (a
// user deleted under a running service, with useradd) is the removal test here, on the copies.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exchange } from '../helpers/client.js';
import { FIXTURE_BIN, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';

const USER = 'ninetdq';
const UID = 61234;
/**
 * How old (ms) both files must be before a lookup's answer carries over (STAMP_AGE_S, and a
 * margin): a precondition the tests wait for once, not a race they hope to win.
 */
const SETTLED_MS = 2100;

function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'not root: mount namespaces and user switches need root';
  if (spawnSync('unshare', ['--mount', 'true']).status !== 0) return 'unshare --mount fails here';
  return null;
}
const skip = skipReason();
if (skip) console.warn(`user-check tests skipped: ${skip}`);
const noStrace = spawnSync('strace', ['-V']).error !== undefined;
if (!skip && noStrace) console.warn('strace is not installed: the counts of password file reads are skipped');

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-user-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const running: RunningDaemon[] = [];
const tracers: ChildProcess[] = [];
afterEach(async () => {
  for (const t of tracers.splice(0)) t.kill('SIGKILL');
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

let n = 0;
/** Private copies of the two files: the machine's passwd with USER added, and a passwd line of `sources`. */
function files(sources: string): { passwd: string; nsswitch: string } {
  const passwd = path.join(dir, `passwd${n}`);
  const nsswitch = path.join(dir, `nsswitch${n++}`);
  writeFileSync(passwd, `${readFileSync('/etc/passwd', 'utf8')}${USER}:x:${UID}:${UID}::/nonexistent:/usr/sbin/nologin\n`);
  writeFileSync(nsswitch, `passwd: ${sources}\ngroup: files\n`);
  return { passwd, nsswitch };
}

const SOURCES: Array<[string, number]> = [
  ['files', 0],
  ['files systemd', 0],
  ['files\t# a comment', 0],
  // Another source first, or an action after files, or files not named at all: every spawn asks NSS.
  ['db files', 10],
  ['files [SUCCESS=continue] db', 10],
  ['compat', 10],
  // Two passwd lines (whatever their case): which one glibc follows is not ours to guess.
  ['files\nPASSWD: db files', 10],
];
/** Every test's copies, written at once and left to settle once: the rename's, the removal's, and one pair per passwd line. */
const copies = skip ? null : { renamed: files('files'), removed: files('files systemd'), bySources: new Map(SOURCES.map(([s]) => [s, files(s)])) };

/**
 * A daemon in its own mount namespace, seeing the copies as /etc/passwd and /etc/nsswitch.conf;
 * with `ramfs`, the passwd copy is copied first onto a ramfs mounted there on that directory.
 */
async function daemon(f: { passwd: string; nsswitch: string }, ramfs?: string): Promise<RunningDaemon & { hello: number; other: number }> {
  const passwd = ramfs ? 'mount -t ramfs ramfs "$2" && cp "$0" "$2/passwd" && mount --bind "$2/passwd" /etc/passwd' : 'mount --bind "$0" /etc/passwd';
  const script = `${passwd} && mount --bind "$1" /etc/nsswitch.conf && shift 3 && exec "$@"`;
  const config = `t-hello stream tcp nowait ${USER} ${FIXTURE_BIN}/hello hello\nt-other stream tcp nowait - ${FIXTURE_BIN}/hello hello\n`;
  const d = await startDaemon(config, {
    services: 't-hello 0/tcp\nt-other 0/tcp',
    wrap: ['unshare', '--mount', 'sh', '-c', script, f.passwd, f.nsswitch, ramfs ?? '-'],
  });
  running.push(d);
  const listening = await d.waitFor((r) => r.msg === 'listening' && r.service === 't-hello', 'listening');
  // The fast path is the one that carries answers over.
  expect(listening.fastPath).toBe(true);
  return Object.assign(d, { hello: d.port('t-hello'), other: d.port('t-other') });
}

/** strace on every thread of `pid`, logging accept4 and openat; resolves once it is attached (it has logged a connection). */
async function trace(pid: number, port: number): Promise<() => string[]> {
  const log = path.join(dir, `strace${n++}`);
  const t = spawn('strace', ['-f', '-qq', '-e', 'trace=accept4,openat', '-o', log, '-p', String(pid)], { stdio: 'ignore' });
  tracers.push(t);
  const lines = (): string[] => {
    try {
      return readFileSync(log, 'utf8').split('\n');
    } catch {
      return [];
    }
  };
  await until(async () => {
    expect((await exchange(port)).toString()).toBe('hello\n');
    return lines().some((l) => l.includes('accept4(') && !l.includes('EAGAIN'));
  }, 'strace to attach');
  return lines;
}

/** The opens of `file` (by any thread) in the log from line `from` on. */
function readsAfter(lines: string[], from: number, file = '/etc/passwd'): number {
  return lines.slice(from).filter((l) => l.includes(`"${file}"`)).length;
}

describe.skipIf(skip !== null)('the check that a handler user still exists', () => {
  beforeAll(async () => {
    const written = Date.now();
    await until(() => Date.now() > written + SETTLED_MS, 'the files to settle', SETTLED_MS + 5000);
  });

  it('refuses a user renamed in place, same inode and same size, after answers were carried over', async () => {
    const f = copies!.renamed;
    const d = await daemon(f);
    for (let i = 0; i < 3; i++) expect((await exchange(d.hello)).toString()).toBe('hello\n');
    // The attack: the entry renamed by a write into the same file, leaving its inode and size as
    // they were; only its times tell.
    const before = statSync(f.passwd);
    writeFileSync(f.passwd, readFileSync(f.passwd, 'utf8').replace(`${USER}:x:`, 'ninetdz:x:'));
    expect(statSync(f.passwd)).toMatchObject({ ino: before.ino, size: before.size });
    expect((await exchange(d.hello)).length).toBe(0);
    expect(await d.waitFor((r) => r.code === 'ERR_SPAWN' && r.service === 't-hello', 'spawn error')).toBeTruthy();
  });

  it('refuses a user removed from the file, logs a spawn error and stays up', async () => {
    const f = copies!.removed;
    const d = await daemon(f);
    for (let i = 0; i < 3; i++) expect((await exchange(d.hello)).toString()).toBe('hello\n');
    writeFileSync(f.passwd, readFileSync(f.passwd, 'utf8').replace(new RegExp(`^${USER}:.*\\n`, 'm'), ''));
    expect((await exchange(d.hello)).length).toBe(0);
    expect(await d.waitFor((r) => r.code === 'ERR_SPAWN' && r.service === 't-hello', 'spawn error')).toBeTruthy();
    expect((await exchange(d.other)).toString()).toBe('hello\n');
  });

  it.skipIf(noStrace).each(SOURCES)('with passwd sources %j, reads /etc/passwd %i times for 10 connections', async (sources, reads) => {
    const d = await daemon(copies!.bySources.get(sources)!);
    const lines = await trace(d.pid, d.hello);
    const from = lines().length;
    for (let i = 0; i < 10; i++) expect((await exchange(d.hello)).toString()).toBe('hello\n');
    await until(() => lines().filter((l) => l.includes('accept4(') && !l.includes('EAGAIN')).length >= 11, 'the 10 accepts in the log');
    expect(readsAfter(lines(), from)).toBe(reads);
    // Whether an answer may carry over is decided once for the files as they are: nsswitch.conf
    // is not read again at every spawn, whichever the answer (glibc itself only stats it).
    expect(readsAfter(lines(), from, '/etc/nsswitch.conf')).toBe(0);
  });

  it.skipIf(noStrace)('asks NSS at every spawn when /etc/passwd is on a filesystem not known to be local', async () => {
    // ramfs stands in for a network filesystem, whose stat may answer from a stale cache.
    const d = await daemon(copies!.bySources.get('files')!, mkdtempSync(path.join(dir, 'ramfs-')));
    // Its copy was made as the daemon started: wait until it is old enough to carry an answer.
    const started = Date.now();
    await until(() => Date.now() > started + SETTLED_MS, 'the copy to settle', SETTLED_MS + 5000);
    const lines = await trace(d.pid, d.hello);
    const from = lines().length;
    for (let i = 0; i < 10; i++) expect((await exchange(d.hello)).toString()).toBe('hello\n');
    await until(() => lines().filter((l) => l.includes('accept4(') && !l.includes('EAGAIN')).length >= 11, 'the 10 accepts in the log');
    expect(readsAfter(lines(), from)).toBe(10);
  });
});
