// The safe reader, and the attack it stops: a FIFO (or another non-regular file) at a path ninetd
// reads must never block it, at start, while serving, on reload or in --check.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exchange } from '../helpers/client.js';
import { CLI, FIXTURE_BIN, startDaemon } from '../helpers/daemon.js';
import { FILE_CAPS, isFileProblem, readRegularFile } from '../../src/files/regular-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readRegularFile', () => {
  it('reads a regular file whole', () => {
    const f = path.join(dir, 'plain');
    writeFileSync(f, 'ALL: ALL\n');
    const r = readRegularFile(f, 'hosts');
    expect(isFileProblem(r)).toBe(false);
    if (!isFileProblem(r)) expect(r.data.toString()).toBe('ALL: ALL\n');
  });

  it('reads an empty file and a file of exactly the cap', () => {
    const empty = path.join(dir, 'empty');
    writeFileSync(empty, '');
    const full = path.join(dir, 'full');
    writeFileSync(full, Buffer.alloc(FILE_CAPS.banner, 'x'));
    expect(readRegularFile(empty, 'banner')).toMatchObject({ data: Buffer.alloc(0) });
    const r = readRegularFile(full, 'banner');
    expect(isFileProblem(r) ? r : r.data.length).toBe(FILE_CAPS.banner);
  });

  it.each([
    { what: 'a missing file', make: () => path.join(dir, 'nope'), want: { kind: 'missing' } },
    {
      what: 'a fifo without a writer, at once',
      make: () => {
        const f = path.join(dir, 'fifo');
        execFileSync('mkfifo', [f]);
        return f;
      },
      want: { kind: 'not-regular', type: 'a fifo' },
    },
    {
      what: 'a directory',
      make: () => {
        const f = path.join(dir, 'sub');
        mkdirSync(f);
        return f;
      },
      want: { kind: 'not-regular', type: 'a directory' },
    },
    { what: 'a character device', make: () => '/dev/null', want: { kind: 'not-regular', type: 'a character device' } },
    {
      what: 'a file over the cap',
      make: () => {
        const f = path.join(dir, 'big');
        writeFileSync(f, Buffer.alloc(FILE_CAPS.banner + 1, 'x'));
        return f;
      },
      want: { kind: 'too-large', cap: FILE_CAPS.banner },
    },
  ])('refuses $what', ({ make, want }) => {
    expect(readRegularFile(make(), 'banner')).toMatchObject(want);
  });

  it('refuses a unix socket', async () => {
    const f = path.join(dir, 'sock');
    const server = net.createServer().listen(f);
    await once(server, 'listening');
    try {
      expect(readRegularFile(f, 'hosts')).toMatchObject({ kind: 'not-regular', type: 'a socket' });
    } finally {
      server.close();
    }
  });
});

/** A FIFO at `name` in the test's directory, nobody writing to it. */
function fifo(name: string): string {
  const f = path.join(dir, name);
  rmSync(f, { force: true });
  execFileSync('mkfifo', [f]);
  return f;
}

/** A file in the test's directory. */
function file(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** Runs the CLI to its end; a hang is killed after 20 s and shows as signal SIGTERM. */
function ninetd(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, signal: r.signal, stderr: r.stderr };
}

const HELLO = `127.0.0.1:t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello\n`;

describe('a fifo where ninetd reads a file', () => {
  it('--check reports a hosts file that is a fifo, without hanging, and exits 78', () => {
    const conf = file('fifo-check.conf', HELLO);
    const allow = fifo('fifo-check.allow');
    const ini = file('fifo-check.ini', `[daemon]\nhosts_allow = ${allow}\nhosts_deny = ${path.join(dir, 'none.deny')}\n`);
    const r = ninetd('--check', '-w', '--settings', ini, '--services', file('svc', 't-hello 0/tcp\n'), conf);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${allow}:0: `);
    expect(r.stderr).toContain('fifo');
  });

  it('--check and a start report a config file that is a fifo, and exit 78', () => {
    const conf = fifo('fifo.conf');
    const services = file('svc', 't-hello 0/tcp\n');
    const checked = ninetd('--check', '--services', services, conf);
    expect([checked.signal, checked.code]).toEqual([null, 78]);
    expect(checked.stderr).toContain(`${conf}:0: `);
    const started = ninetd('-d', '-p', '', '--services', services, conf);
    expect([started.signal, started.code]).toEqual([null, 78]);
    expect(started.stderr).toContain('fifo');
  });

  it('--check and a start report a settings file that is a fifo, and exit 78', () => {
    const conf = file('fifo-settings.conf', HELLO);
    const ini = fifo('fifo.ini');
    const services = file('svc', 't-hello 0/tcp\n');
    const checked = ninetd('--check', '--settings', ini, '--services', services, conf);
    expect([checked.signal, checked.code]).toEqual([null, 78]);
    expect(checked.stderr).toContain(`${ini}:0: `);
    const started = ninetd('-d', '-p', '', '--settings', ini, '--services', services, conf);
    expect([started.signal, started.code]).toEqual([null, 78]);
  });

  it('--check reports a services database that is a fifo', () => {
    const conf = file('fifo-services.conf', HELLO);
    const services = fifo('fifo.services');
    const r = ninetd('--check', '--services', services, conf);
    expect([r.signal, r.code]).toEqual([null, 78]);
    expect(r.stderr).toContain(`${services}:0: `);
  });

  it('a running daemon whose hosts.allow becomes a fifo refuses every client, reloads and stops on SIGTERM', async () => {
    const allow = file('live.allow', '');
    const deny = file('live.deny', '');
    const ini = file('live.ini', `[daemon]\ntcp_wrappers = yes\nhosts_allow = ${allow}\nhosts_deny = ${deny}\n`);
    const d = await startDaemon(HELLO, { services: 't-hello 0/tcp\n', args: ['--settings', ini] });
    try {
      const port = d.port('t-hello');
      expect((await exchange(port)).toString()).toBe('hello\n');
      // The attacker's move: a FIFO renamed over the file, nobody writing to it.
      const trap = fifo('live.trap');
      renameSync(trap, allow);
      expect((await exchange(port)).toString()).toBe('');
      expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ rule: `${allow}: unreadable` });
      expect(d.records.find((r) => r.code === 'ERR_ACCESS_READ')).toMatchObject({ file: allow });
      // Still answering, over and over: the FIFO blocks nothing.
      expect((await exchange(port)).toString()).toBe('');
      // A reload with a config that is itself a FIFO is rejected and blocks nothing either.
      renameSync(fifo('live.conf.trap'), d.config);
      process.kill(d.pid, 'SIGHUP');
      await d.waitFor((r) => r.msg === 'reload rejected: configuration unchanged', 'reload rejected');
      expect((await exchange(port)).toString()).toBe('');
    } finally {
      expect(await d.stop()).toBe(0);
    }
  });
});
