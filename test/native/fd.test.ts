// fd.c: O_NONBLOCK, close, close-on-exec of everything we make and of what we inherit, and the
// pid file lock, with real child processes.
import { execFileSync, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';
import { ADDON, fdFlags, inheritedFds, portOf, readiness, run, runNode, thrown, withFds } from '../helpers/native.js';

const C = native.constants;
const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-native-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('file descriptors', () => {
  it('setNonBlocking sets and clears O_NONBLOCK', async () => {
    await withFds((keep) => {
      const fd = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
      expect(fdFlags(fd) & C.O_NONBLOCK).toBe(C.O_NONBLOCK); // sockets start non-blocking
      native.setNonBlocking(fd, false);
      expect(fdFlags(fd) & C.O_NONBLOCK).toBe(0);
      native.setNonBlocking(fd, true);
      expect(fdFlags(fd) & C.O_NONBLOCK).toBe(C.O_NONBLOCK);
    });
  });

  it('close of a closed fd throws EBADF from close', () => {
    const fd = native.socket(C.AF_INET, C.SOCK_DGRAM);
    native.close(fd);
    expect(thrown(() => native.close(fd))).toMatchObject({ code: 'EBADF', syscall: 'close', errno: -osConstants.errno.EBADF });
  });

  it('sockets, accepted connections and the pid file are not inherited by children', async () => {
    await withFds(async (keep) => {
      const listener = keep(native.socket(C.AF_INET, C.SOCK_STREAM));
      native.bind(listener, '127.0.0.1', 0);
      native.listen(listener, 4);
      const unixDgram = keep(native.socket(C.AF_UNIX, C.SOCK_DGRAM));
      const pidFile = keep(native.lockPidFile(path.join(dir, 'inherit.pid')));
      const client = net.connect(portOf(listener), '127.0.0.1');
      try {
        await once(client, 'connect');
        await readiness(listener);
        const conn = keep(native.accept(listener)!.fd);
        const mine = [listener, unixDgram, pidFile, conn];
        const seen = await inheritedFds();
        expect(seen).toEqual(expect.arrayContaining([0, 1, 2]));
        for (const fd of mine) expect(seen).not.toContain(fd);
      } finally {
        client.destroy();
      }
    });
  });

  it('cloexecFrom(3) keeps an inherited fd from reaching grandchildren', async () => {
    // The child inherits fd 40 without close-on-exec, as a supervisor might from its own parent.
    // (Node itself marks only fds 0 to about 16 close-on-exec at startup.)
    const script = `
      const a = require(process.env.ADDON);
      const { spawnSync } = require('node:child_process');
      const list = () => spawnSync('/bin/sh', ['-c', 'ls /proc/$$/fd'], { encoding: 'utf8' })
        .stdout.split(/\\s+/).filter(Boolean).map(Number).filter((n) => n >= 3);
      const before = list();
      a.cloexecFrom(3);
      console.log(JSON.stringify({ before, after: list() }));
    `;
    const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(37).fill('ignore'), 'pipe'];
    const r = await runNode(script, stdio);
    expect(r.stderr).toBe('');
    const { before, after } = JSON.parse(r.stdout) as { before: number[]; after: number[] };
    expect(before).toContain(40);
    expect(after).toEqual([]);
  });
});

describe('lockPidFile', () => {
  const lockScript = `
    const a = require(process.env.ADDON);
    try {
      const fd = a.lockPidFile(process.env.PIDFILE);
      console.log(JSON.stringify({ ok: true, pid: process.pid }));
      a.close(fd);
    } catch (e) {
      console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall, pid: e.pid }));
    }
  `;
  const tryLock = (file: string) =>
    run(process.execPath, ['-e', lockScript], { env: { ADDON, PIDFILE: file } }).then((r) => JSON.parse(r.stdout) as Record<string, unknown>);

  /** Reads the file through the lock's own fd: opening and closing it again would drop the lock. */
  const readVia = (fd: number) => {
    const buf = Buffer.alloc(64);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString();
  };

  it('writes our pid and makes a second locker in another process fail with EAGAIN and the holder pid', async () => {
    const file = path.join(dir, 'ninetd.pid');
    const fd = native.lockPidFile(file);
    try {
      expect(readVia(fd)).toBe(`${process.pid}\n`);
      expect(await tryLock(file)).toEqual({ code: 'EAGAIN', errno: -osConstants.errno.EAGAIN, syscall: 'fcntl', pid: process.pid });
      expect(readVia(fd)).toBe(`${process.pid}\n`); // the loser did not touch it
    } finally {
      native.close(fd);
    }
    const after = await tryLock(file);
    expect(after).toMatchObject({ ok: true });
    expect(readFileSync(file, 'utf8')).toBe(`${String(after.pid)}\n`);
  });

  it('throws from open when the directory does not exist', () => {
    const file = path.join(dir, 'missing', 'x.pid');
    expect(thrown(() => native.lockPidFile(file))).toMatchObject({ code: 'ENOENT', syscall: 'open', path: file });
  });

  // The attack: whoever can write the pid file's directory puts a symlink there, and a daemon
  // that follows it truncates and overwrites the file it points to (as root, any file).
  it('refuses a symlink at the path with ELOOP from open, and the file it points to is untouched', () => {
    const victim = path.join(dir, 'victim');
    writeFileSync(victim, 'secret\n', { mode: 0o600 });
    const file = path.join(dir, 'link.pid');
    symlinkSync(victim, file);
    expect(thrown(() => native.lockPidFile(file))).toMatchObject({ code: 'ELOOP', syscall: 'open', path: file });
    expect(readFileSync(victim, 'utf8')).toBe('secret\n');
    const dangling = path.join(dir, 'dangling.pid');
    symlinkSync(path.join(dir, 'would-be-created'), dangling);
    expect(thrown(() => native.lockPidFile(dangling))).toMatchObject({ code: 'ELOOP', syscall: 'open' });
    expect(existsSync(path.join(dir, 'would-be-created'))).toBe(false);
  });

  it('refuses a FIFO or a directory at the path without blocking', async () => {
    const fifo = path.join(dir, 'fifo.pid');
    execFileSync('mkfifo', [fifo]);
    // In a child, so that an open that blocked would end as a killed child, not a hung test.
    const r = await runNode(
      `const a = require(process.env.ADDON);
       try { a.lockPidFile(process.env.PIDFILE); console.log('locked'); }
       catch (e) { console.log(JSON.stringify({ code: e.code, syscall: e.syscall, path: e.path })); }`,
      undefined,
      { PIDFILE: fifo },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ code: 'EINVAL', syscall: 'open', path: fifo });
    expect(thrown(() => native.lockPidFile(dir))).toMatchObject({ syscall: 'open', path: dir });
  });
});
