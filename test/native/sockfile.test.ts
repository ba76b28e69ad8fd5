// sockfile.c: unix socket files born with their final mode, and chowned only when the file at
// the path is still the socket we bound. The attack: a local user who can write the socket's
// directory renames a symlink to a victim file over the new socket between bind and chown, so
// that a path-based chmod/chown would make the victim 0660 and someone else's.
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';
import { thrown, withFds } from '../helpers/native.js';
import { startSymlinkAttacker } from '../helpers/symlink-attacker.js';

const C = native.constants;
const isRoot = process.getuid?.() === 0;

// Every user may search the base (the attacker runs as nobody); the victim lives there, outside
// the directory the attacker may write.
const base = mkdtempSync(path.join(tmpdir(), 'ninetd-sockfile-'));
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
/** A fresh directory, world-writable (no sticky bit) like a badly chosen socket directory. */
function openDir(): string {
  const d = path.join(base, `d${n++}`);
  mkdirSync(d);
  chmodSync(d, 0o777);
  return d;
}
/** A root-only file that must never change. */
function victim(): { file: string; before: { mode: number; uid: number; gid: number } } {
  const file = path.join(base, `victim${n++}`);
  writeFileSync(file, 'secret\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  const st = statSync(file);
  return { file, before: { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid } };
}
const now = (file: string) => {
  const st = statSync(file);
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
};

describe('bindUnix', () => {
  it.each(['600', '660', '666', '777'])('creates the socket file with mode %s whatever the umask, and keeps the umask', async (octal) => {
    const mode = parseInt(octal, 8);
    await withFds((keep) => {
      const sock = path.join(openDir(), 's.sock');
      const before = process.umask();
      const fd = keep(native.socket(C.AF_UNIX, C.SOCK_STREAM));
      native.bindUnix(fd, sock, mode);
      expect(process.umask()).toBe(before);
      expect(lstatSync(sock).isSocket()).toBe(true);
      expect(lstatSync(sock).mode & 0o7777).toBe(mode);
      expect(native.getsockname(fd)).toEqual({ family: 'unix', path: sock });
    });
  });

  it('refuses an abstract name or an empty path with EINVAL, and an existing path with EADDRINUSE', async () => {
    await withFds((keep) => {
      const fd = keep(native.socket(C.AF_UNIX, C.SOCK_DGRAM));
      expect(thrown(() => native.bindUnix(fd, '@abstract', 0o600))).toMatchObject({ code: 'EINVAL', syscall: 'bind' });
      expect(thrown(() => native.bindUnix(fd, '', 0o600))).toMatchObject({ code: 'EINVAL', syscall: 'bind' });
      const taken = path.join(openDir(), 'taken');
      symlinkSync('/nonexistent', taken);
      expect(thrown(() => native.bindUnix(fd, taken, 0o600))).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind' });
    });
  });
});

describe('chownSocketFile', () => {
  const target = () => {
    const nobody = native.getpwnam('nobody')!;
    return { uid: nobody.uid, gid: nobody.gid };
  };
  const me = () => ({ uid: process.geteuid!(), gid: process.getegid!() });

  it('refuses a symlink put where the socket was, and the victim it points to is untouched', async () => {
    await withFds((keep) => {
      const v = victim();
      const sock = path.join(openDir(), 's.sock');
      const fd = keep(native.socket(C.AF_UNIX, C.SOCK_STREAM));
      native.bindUnix(fd, sock, 0o660);
      const evil = `${sock}.evil`;
      symlinkSync(v.file, evil);
      renameSync(evil, sock);
      const { uid, gid } = isRoot ? target() : me();
      expect(thrown(() => native.chownSocketFile(fd, sock, uid, gid))).toMatchObject({ code: 'ELOOP', syscall: 'open' });
      expect(now(v.file)).toEqual(v.before);
    });
  });

  it('refuses a file that is not a socket (ENOTSOCK), another socket (ESTALE), and a socket with a second link (EMLINK)', async () => {
    await withFds((keep) => {
      const dir = openDir();
      const { uid, gid } = me();
      const sock = path.join(dir, 's.sock');
      const fd = keep(native.socket(C.AF_UNIX, C.SOCK_STREAM));
      native.bindUnix(fd, sock, 0o660);

      const moved = path.join(dir, 'moved.sock');
      renameSync(sock, moved);
      writeFileSync(sock, 'plain\n');
      expect(thrown(() => native.chownSocketFile(fd, sock, uid, gid))).toMatchObject({ code: 'ENOTSOCK', syscall: 'verify' });
      unlinkSync(sock);

      const other = keep(native.socket(C.AF_UNIX, C.SOCK_STREAM));
      native.bindUnix(other, sock, 0o660);
      expect(thrown(() => native.chownSocketFile(fd, sock, uid, gid))).toMatchObject({ code: 'ESTALE', syscall: 'verify' });
      unlinkSync(sock);

      renameSync(moved, sock);
      linkSync(sock, path.join(dir, 'second-link'));
      expect(thrown(() => native.chownSocketFile(fd, sock, uid, gid))).toMatchObject({ code: 'EMLINK', syscall: 'verify' });
      unlinkSync(path.join(dir, 'second-link'));
      native.chownSocketFile(fd, sock, uid, gid); // the same socket, alone again: accepted
    });
  });

  it.skipIf(!isRoot)('gives the socket file to another user and group', async () => {
    await withFds((keep) => {
      const sock = path.join(openDir(), 's.sock');
      const fd = keep(native.socket(C.AF_UNIX, C.SOCK_DGRAM));
      native.bindUnix(fd, sock, 0o660);
      const { uid, gid } = target();
      native.chownSocketFile(fd, sock, uid, gid);
      expect(lstatSync(sock)).toMatchObject({ uid, gid });
      expect(lstatSync(sock).mode & 0o7777).toBe(0o660);
    });
  });

  // Needs root: only root may give a file to another user, which is what the attack abuses.
  it.skipIf(!isRoot)('under a symlink-renaming attacker, bind and chown a few hundred times and the victim never changes', async () => {
    const dir = openDir();
    const sock = path.join(dir, 's.sock');
    const v = victim();
    const { uid, gid } = target();
    const attacker = await startSymlinkAttacker(sock, v.file);
    try {
      const outcomes = new Map<string, number>();
      const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
      const deadline = Date.now() + 10_000;
      for (let i = 0; i < 400 && Date.now() < deadline; i++) {
        try {
          unlinkSync(sock);
        } catch {
          // already gone, or renamed away
        }
        await withFds((keep) => {
          const fd = keep(native.socket(C.AF_UNIX, C.SOCK_STREAM));
          try {
            native.bindUnix(fd, sock, 0o660);
            native.chownSocketFile(fd, sock, uid, gid);
            count('chowned');
          } catch (err) {
            count(`${(err as native.NativeError).syscall} ${(err as native.NativeError).code}`);
          }
        });
        expect(now(v.file)).toEqual(v.before);
      }
      expect(await attacker.stop()).toBeGreaterThan(0); // the attack really ran
      for (const k of outcomes.keys()) expect(['chowned', 'bind EADDRINUSE', 'open ELOOP', 'open ENOENT', 'verify ESTALE']).toContain(k);
      expect(now(v.file)).toEqual(v.before);
    } finally {
      attacker.kill();
    }
  });
});
