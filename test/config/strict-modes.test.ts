// Strict modes: the pure decision over stat results, then, as root, real files owned by nobody,
// world-writable or in world-writable directories, through config loading, the settings file,
// the hosts files and `--check`.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHostsFile } from '../../src/access/gate.js';
import { loadConfig } from '../../src/config/load.js';
import { loadSettings } from '../../src/config/settings.js';
import { checkFile, ROOT_ONLY, unsafeElement, unsafePath, type PathStat } from '../../src/config/strict-modes.js';
import { CLI, FIXTURE_BIN } from '../helpers/daemon.js';

const DIR = 0o040000;
const FILE = 0o100000;
const STICKY = 0o1000;
const NOBODY = 65534;

/** A stat for the table: a file or directory with owner, group and permission bits. */
const st = (p: string, uid: number, gid: number, mode: number, dir = false): PathStat => ({ path: p, uid, gid, mode: (dir ? DIR : FILE) | mode });
const root = st('/', 0, 0, 0o755, true);
const etc = st('/etc', 0, 0, 0o755, true);

describe('unsafeElement', () => {
  it.each([
    { what: 'root-owned 0644 in root-owned 0755 directories is safe', chain: [st('/etc/inetd.conf', 0, 0, 0o644), etc, root], want: null },
    { what: 'a file owned by another user', chain: [st('/etc/inetd.conf', NOBODY, 0, 0o644), etc, root], want: { path: '/etc/inetd.conf', why: 'owner' } },
    { what: 'a world-writable file', chain: [st('/etc/inetd.conf', 0, 0, 0o666), etc, root], want: { path: '/etc/inetd.conf', why: 'other' } },
    { what: 'a file writable by a non-root group', chain: [st('/etc/inetd.conf', 0, 4, 0o664), etc, root], want: { path: '/etc/inetd.conf', why: 'group' } },
    { what: "a file writable by root's group is safe", chain: [st('/etc/inetd.conf', 0, 0, 0o664), etc, root], want: null },
    { what: 'a directory above owned by another user', chain: [st('/srv/a/x', 0, 0, 0o644), st('/srv/a', 1000, 1000, 0o755, true), st('/srv', 0, 0, 0o755, true), root], want: { path: '/srv/a', why: 'owner' } },
    { what: 'a world-writable directory above', chain: [st('/srv/a/x', 0, 0, 0o644), st('/srv/a', 0, 0, 0o777, true), st('/srv', 0, 0, 0o755, true), root], want: { path: '/srv/a', why: 'other' } },
    { what: 'a group-writable directory of a non-root group', chain: [st('/srv/x', 0, 0, 0o644), st('/srv', 0, 50, 0o775, true), root], want: { path: '/srv', why: 'group' } },
    { what: 'a world-writable root directory', chain: [st('/x', 0, 0, 0o644), st('/', 0, 0, 0o777, true)], want: { path: '/', why: 'other' } },
    { what: 'a sticky world-writable directory over a root-owned entry is safe', chain: [st('/tmp/d/x', 0, 0, 0o644), st('/tmp/d', 0, 0, 0o700, true), st('/tmp', 0, 0, 0o777 | STICKY, true), root], want: null },
    { what: 'a sticky directory over an entry of another user', chain: [st('/tmp/x', NOBODY, 0, 0o644), st('/tmp', 0, 0, 0o777 | STICKY, true), root], want: { path: '/tmp/x', why: 'owner' } },
    { what: 'a sticky bit on a file protects nothing', chain: [st('/etc/x', 0, 0, 0o666 | STICKY), etc, root], want: { path: '/etc/x', why: 'other' } },
  ])('$what', ({ chain, want }) => {
    const got = unsafeElement(chain, ROOT_ONLY);
    expect(got === null ? null : { path: got.path, why: got.why }).toEqual(want);
  });

  it('trusts the users it is given: a handler may belong to the user it runs as', () => {
    const chain = [st('/home/u/bin/h', 1000, 1000, 0o755), st('/home/u/bin', 1000, 1000, 0o755, true), st('/home/u', 1000, 1000, 0o755, true), st('/home', 0, 0, 0o755, true), root];
    expect(unsafeElement(chain, ROOT_ONLY)?.why).toBe('owner');
    expect(unsafeElement(chain, new Set([0, 1000]))).toBeNull();
  });

  it('decides nothing when not running as root', () => {
    expect(checkFile('/nonexistent-but-irrelevant', 'config file', { file: 'x', line: 0 }, { strict: true, euid: 1000 })).toBeNull();
  });
});

const isRoot = process.geteuid?.() === 0;
if (!isRoot) console.warn('strict-modes: not running as root; the tests on real files are skipped');

describe.skipIf(!isRoot)('strict modes on real files (as root)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-strict-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const safeDir = path.join(dir, 'safe');
  const openDir = path.join(dir, 'open');
  mkdirSync(safeDir, { mode: 0o755 });
  mkdirSync(openDir);
  chmodSync(openDir, 0o777);
  const put = (p: string, text: string, mode = 0o644, uid = 0): string => {
    writeFileSync(p, text);
    chmodSync(p, mode);
    chownSync(p, uid, 0);
    return p;
  };
  const services = put(path.join(safeDir, 'services'), 't-hello 0/tcp\n');
  const modes = (strict: boolean) => ({ strict, euid: 0 });

  it.each([
    { what: 'a safe file', make: () => put(path.join(safeDir, 'ok'), 'x'), want: null },
    { what: 'a file owned by nobody', make: () => put(path.join(safeDir, 'nobody'), 'x', 0o644, NOBODY), want: 'owner' },
    { what: 'a file of mode 0666', make: () => put(path.join(safeDir, 'open'), 'x', 0o666), want: 'other' },
    { what: 'a file in a 0777 directory', make: () => put(path.join(openDir, 'inside'), 'x'), want: 'other' },
    {
      what: 'a safe link to a file in a 0777 directory',
      make: () => {
        const target = put(path.join(openDir, 'target'), 'x');
        const link = path.join(safeDir, 'link');
        symlinkSync(target, link);
        return link;
      },
      want: 'other',
    },
    {
      what: 'a link in a 0777 directory to a safe file',
      make: () => {
        const target = put(path.join(safeDir, 'linked'), 'x');
        const link = path.join(openDir, 'link');
        symlinkSync(target, link);
        return link;
      },
      want: 'other',
    },
  ])('unsafePath finds $what', ({ make, want }) => {
    expect(unsafePath(make(), ROOT_ONLY)?.why ?? null).toBe(want);
  });

  it('warns about a handler program others can write, on the line of its entry, and refuses it with strict modes', async () => {
    const handler = path.join(openDir, 'hello');
    copyFileSync(path.join(FIXTURE_BIN, 'hello'), handler);
    chmodSync(handler, 0o755);
    const conf = put(path.join(safeDir, 'inetd.conf'), `# two services\n127.0.0.1:t-hello stream tcp nowait root ${handler} hello\n127.0.0.2:t-hello stream tcp nowait root ${FIXTURE_BIN}/hello hello\n`);
    const warned = await loadConfig(conf, { servicesFile: services, strictModes: modes(false) });
    expect(warned.errors).toEqual([]);
    expect(warned.entries).toHaveLength(2);
    expect(warned.warnings?.map((w) => [w.file, w.line, w.code])).toEqual([[conf, 2, 'WARN_UNSAFE_FILE']]);
    expect(warned.warnings?.[0]?.message).toContain(openDir);
    const strict = await loadConfig(conf, { servicesFile: services, strictModes: modes(true) });
    expect(strict.errors.map((e) => [e.file, e.line, e.code])).toEqual([[conf, 2, 'ERR_UNSAFE_FILE']]);
    expect(strict.entries.map((e) => e.line)).toEqual([3]);
  });

  it('refuses a whole config file others can write with strict modes, and only warns without', async () => {
    const conf = put(path.join(safeDir, 'open.conf'), `127.0.0.1:t-hello stream tcp nowait root ${FIXTURE_BIN}/hello hello\n`, 0o666);
    const warned = await loadConfig(conf, { servicesFile: services, strictModes: modes(false) });
    expect(warned.entries).toHaveLength(1);
    expect(warned.warnings?.map((w) => [w.line, w.code])).toEqual([[0, 'WARN_UNSAFE_FILE']]);
    const strict = await loadConfig(conf, { servicesFile: services, strictModes: modes(true) });
    expect(strict.entries).toEqual([]);
    expect(strict.errors.map((e) => [e.file, e.line, e.code])).toEqual([[conf, 0, 'ERR_UNSAFE_FILE']]);
  });

  it('checks the settings file with its own strict_modes, and the banners it names', async () => {
    const banner = put(path.join(openDir, 'banner'), 'hi\n');
    const loose = put(path.join(safeDir, 'loose.ini'), `[service:t/tcp]\nbanner = ${banner}\n`, 0o644, NOBODY);
    const warned = await loadSettings(loose, 0);
    expect(warned.errors).toEqual([]);
    expect(warned.warnings.map((w) => [w.line, w.code])).toEqual([
      [0, 'WARN_UNSAFE_FILE'],
      [1, 'WARN_UNSAFE_FILE'],
    ]);
    const strict = put(path.join(safeDir, 'strict.ini'), `[daemon]\nstrict_modes = yes\n\n[service:t/tcp]\nbanner = ${banner}\n`, 0o666);
    const refused = await loadSettings(strict, 0);
    expect(refused.errors.map((e) => [e.line, e.code])).toEqual([
      [0, 'ERR_UNSAFE_FILE'],
      [4, 'ERR_UNSAFE_FILE'],
    ]);
  });

  it('refuses every client through a hosts file others can write with strict modes', () => {
    const deny = put(path.join(openDir, 'hosts.deny'), 'ALL: 192.0.2.1\n');
    expect(readHostsFile(deny, modes(false))).toMatchObject({ unreadable: false, warnings: [{ code: 'WARN_UNSAFE_FILE' }] });
    expect(readHostsFile(deny, modes(true))).toMatchObject({ unreadable: true, errors: [{ file: deny, line: 0, code: 'ERR_UNSAFE_FILE' }] });
  });

  it('--check warns about a world-writable inetd.conf running a root handler, and fails with strict_modes = yes', () => {
    const conf = put(path.join(safeDir, 'check.conf'), `127.0.0.1:t-hello stream tcp nowait root ${FIXTURE_BIN}/hello hello\n`, 0o666);
    const run = (ini: string) => spawnSync(process.execPath, [CLI, '--check', '--settings', ini, '--services', services, conf], { encoding: 'utf8', timeout: 20_000 });
    const loose = run(put(path.join(safeDir, 'check-loose.ini'), '[daemon]\n'));
    expect(loose.status).toBe(0);
    expect(loose.stderr).toContain(`${conf}:0: warning: unsafe config file "${conf}": ${conf} is writable by every user (owner 0, group 0, mode 0666)`);
    const strict = run(put(path.join(safeDir, 'check-strict.ini'), '[daemon]\nstrict_modes = yes\n'));
    expect(strict.status).toBe(78);
    expect(strict.stderr).toContain(`${conf}:0: unsafe config file`);
  });
});
