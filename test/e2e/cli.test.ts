// The command line contract: options, usage errors, --check, exit codes, the bundled config.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exchange } from '../helpers/client.js';
import { CLI, ROOT, startDaemon } from '../helpers/daemon.js';
import { unixDgramSink } from '../helpers/unix-dgram.js';
import { alive, until } from '../helpers/wait.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ninetd(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('ninetd command line', () => {
  it.each([
    ['an unknown option', ['--no-such-option']],
    ['a negative rate', ['-R', '-1']],
    ['a fractional max-children', ['-c', '1.5']],
    ['a non-numeric retry time', ['--retry-time', 'soon']],
    ['an unknown log level', ['--log-level', 'loud']],
    ['two config files', ['a.conf', 'b.conf']],
    ['a zero backlog', ['-q', '0']],
    ['a bind address that is a host name', ['-a', 'localhost']],
  ])('exits 64 with a usage message for %s', (_what, args) => {
    const r = ninetd(...args);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^ninetd: /);
  });

  it.each([
    ['-R', 'abc'],
    ['-c', 'many'],
    ['-s', 'x1'],
    ['-C', ''],
    ['-q', 'deep'],
    ['--retry-time', 'soon'],
    ['--rate=abc', undefined],
  ])('says %s %s is not a number, quoting it', (flag, value) => {
    const r = ninetd(...(value === undefined ? [flag] : [flag, value]));
    expect(r.code).toBe(64);
    expect(r.stderr.split('\n')[0]).toMatch(/: ".*" is not a number$/);
    expect(r.stderr).toContain(`"${value ?? 'abc'}"`);
  });

  it('prints help and version and exits 0', () => {
    const help = ninetd('--help');
    expect(help.code).toBe(0);
    for (const flag of ['--foreground', '--check', '--log-connections', '--services', '--rate', '--max-children', '--retry-time']) {
      expect(help.stdout).toContain(flag);
    }
    const version = ninetd('--version');
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('--check prints every error as file:line and exits 78', () => {
    const conf = file('bad.conf', 'echo stream tcp nowait root internal\nfoo strem tcp nowait root internal\n\nbar stream tcp nowait root /no/such/program bar\n');
    const services = file('services', 'echo 7/tcp\nfoo 1000/tcp\nbar 1001/tcp\n');
    const r = ninetd('--check', '--services', services, conf);
    expect(r.code).toBe(78);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${conf}:2: `));
    expect(lines[1]).toMatch(new RegExp(`^${conf}:4: `));
  });

  it('--check with -w reports the hosts files by file and line too, and exits 78', () => {
    const conf = file('ok.conf', 'echo stream tcp nowait - internal\n');
    const services = file('services-w', 'echo 7/tcp\n');
    const allow = file('hosts.allow', '# fine\nALL: 127.0.0.1\n');
    const deny = file('hosts.deny', 'ALL: @netgroup\n\nsshd: ALL : spawn /bin/echo %z\n');
    const ini = file('w.ini', `[daemon]\nhosts_allow = ${allow}\nhosts_deny = ${deny}\n`);
    const r = ninetd('--check', '-w', '--settings', ini, '--services', services, conf);
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split('\n').map((l) => l.slice(0, l.indexOf(': ')))).toEqual([`${deny}:1`, `${deny}:3`]);
    // Without -w the hosts files are not consulted, and not checked.
    expect(ninetd('--check', '--settings', ini, '--services', services, conf).code).toBe(0);
  });

  it('--check exits 0 for the bundled etc/inetd.conf', () => {
    const r = ninetd('--check', '--services', path.join(ROOT, 'etc', 'services'), path.join(ROOT, 'etc', 'inetd.conf'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('exits 78 when no entry can be served', () => {
    const conf = file('none.conf', '# nothing here\nfoo strem tcp nowait root internal\n');
    const r = ninetd('-d', '-p', '', '--services', file('s2', 'foo 1000/tcp\n'), conf);
    expect(r.code).toBe(78);
  });

  it('serves the good entries of a config with bad lines and reports each bad one by line', async () => {
    const d = await startDaemon(
      ['127.0.0.1:', 'echo stream tcp nowait - internal', 'broken stream tcp', 'daytime stream tcp nowait - internal', 'x stream tcp nowait - /no/such/prog x'].join('\n'),
      { services: 'echo 0/tcp\ndaytime 0/tcp\nbroken 0/tcp\nx 0/tcp\n' },
    );
    try {
      const errs = d.records.filter((r) => r.level === 50 && typeof r.line === 'number').map((r) => r.line);
      expect(errs.sort()).toEqual([3, 5]);
      expect(d.records.filter((r) => r.msg === 'listening').map((r) => r.service).sort()).toEqual(['daytime', 'echo']);
    } finally {
      expect(await d.stop()).toBe(0);
    }
  });
});

describe('flags of openbsd-inetd and FreeBSD inetd', () => {
  const services = () => file('classic-services', '# none\n');

  it('accepts -q, -i, -E, -W and -a as scripts pass them', () => {
    const conf = file('classic.conf', '8007 stream tcp nowait - internal echo\n');
    const ini = file('classic.ini', `[daemon]\nhosts_allow = ${file('classic.allow', '')}\nhosts_deny = ${file('classic.deny', '')}\n`);
    const r = ninetd('--check', '-q', '64', '-i', '-E', '-W', '-a', '127.0.0.1', '--settings', ini, '--services', services(), conf);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('-a gives entries without a host that address', () => {
    // Two entries on port 8007: one on every address, one on 127.0.0.1. With -a 127.0.0.1 the
    // first moves to 127.0.0.1 too, and they collide.
    const conf = file('a.conf', '8007 stream tcp nowait - internal echo\n127.0.0.1:8007 stream tcp nowait - internal echo\n');
    expect(ninetd('--check', '--services', services(), conf).code).toBe(0);
    const r = ninetd('--check', '-a', '127.0.0.1', '--services', services(), conf);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(new RegExp(`^${conf}:2: `));
  });

  it('-a and -q apply to the sockets of a running daemon', async () => {
    const d = await startDaemon('echo stream tcp nowait - internal\n', { services: 'echo 0/tcp\n', args: ['-a', '127.0.0.2', '-q', '7'] });
    try {
      const rec = d.records.find((r) => r.msg === 'listening')!;
      expect(rec.addr).toBe('127.0.0.2');
      expect((await exchange(rec.port as number, 'via -a', { host: '127.0.0.2' })).toString()).toBe('via -a');
      // ss shows a listening socket's backlog in Send-Q.
      const ss = spawnSync('ss', ['-Hltn', `sport = :${rec.port as number}`], { encoding: 'utf8' });
      if (ss.status === 0) expect(ss.stdout.trim().split(/\s+/)[2]).toBe('7');
    } finally {
      await d.stop();
    }
  });

  it('-W checks hosts.allow and hosts.deny as -w does', () => {
    const conf = file('w2.conf', '8007 stream tcp nowait - internal echo\n');
    const ini = file('w2.ini', `[daemon]\nhosts_allow = ${file('w2.allow', 'ALL: @netgroup\n')}\nhosts_deny = ${file('w2.deny', '')}\n`);
    expect(ninetd('--check', '-W', '--settings', ini, '--services', services(), conf).code).toBe(78);
  });

  it('-i stays in the foreground, as -d does', () => {
    // Nothing to serve: in the foreground the failure is a JSON log record on stderr; a
    // detaching ninetd would print the plain line its child reported.
    const conf = file('i.conf', 'x strem tcp nowait - internal\n');
    const r = ninetd('-i', '-p', '', '--services', services(), conf);
    expect(r.code).toBe(78);
    expect(JSON.parse(r.stderr.split('\n')[0]!)).toMatchObject({ line: 1 });
  });
});

describe('--check as a user who is not root', () => {
  // Runs ninetd as nobody (uid 65534): only root can do that. The checkout may sit below a
  // directory only its owner can enter (a fresh clone in a mktemp -d directory), so the built
  // command is copied where every user can read it.
  const isRoot = process.getuid?.() === 0;
  const copy = isRoot ? mkdtempSync(path.join(tmpdir(), 'ninetd-copy-')) : '';
  if (isRoot) {
    for (const part of ['package.json', 'dist', 'node_modules', path.join('build', 'Release', 'fdsock.node')]) {
      cpSync(path.join(ROOT, part), path.join(copy, part), { recursive: true });
    }
    for (const d of [copy, path.join(copy, 'build'), path.join(copy, 'build', 'Release')]) chmodSync(d, 0o755);
  }
  afterAll(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });
  const asNobody = (...args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(copy, 'dist', 'cli.js'), ...args], { encoding: 'utf8', timeout: 20_000, uid: 65534, gid: 65534 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const canRun = isRoot && asNobody('--version').code === 0;

  it.skipIf(!canRun)('warns per line about low ports, other users and socket owners, and still says ok', () => {
    const nobodyDir = mkdtempSync(path.join(tmpdir(), 'ninetd-nobody-'));
    try {
      chmodSync(nobodyDir, 0o755);
      const conf = path.join(nobodyDir, 'inetd.conf');
      writeFileSync(conf, ['7 stream tcp nowait - internal echo', '8007 stream tcp nowait root /bin/cat cat', `:root:root:660:${nobodyDir}/s.sock stream unix nowait - /bin/cat cat`, '8008 stream tcp nowait - /bin/cat cat'].join('\n'));
      writeFileSync(path.join(nobodyDir, 'services'), '# none\n');
      const r = asNobody('--check', '--services', path.join(nobodyDir, 'services'), conf);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${conf}: ok, 4 services\n`);
      expect(r.stderr.trim().split('\n').map((l) => l.slice(0, l.indexOf(': warning: ')))).toEqual([`${conf}:1`, `${conf}:2`, `${conf}:3`]);
      expect(r.stderr).toContain('CAP_NET_BIND_SERVICE');
      // As root, the same file checks clean.
      expect(ninetd('--check', '--services', path.join(nobodyDir, 'services'), conf).stderr).toBe('');
    } finally {
      rmSync(nobodyDir, { recursive: true, force: true });
    }
  });
  if (!canRun) console.warn('--check as nobody skipped: not root, or nobody cannot run a copy of ninetd');
});

describe('settings file', () => {
  it('is overridden by command-line flags', async () => {
    const ini = file('quiet.ini', '[daemon]\nlog_level = error\nrate = 1\n');
    const d = await startDaemon('127.0.0.1:echo stream tcp nowait - internal\n', {
      services: 'echo 0/tcp\n',
      args: ['--settings', ini, '-R', '0'],
    });
    try {
      // --log-level debug (from the harness) beats log_level = error: "listening" is logged.
      const port = d.port('echo');
      // -R 0 beats rate = 1: a second connection within the minute is still served.
      expect((await exchange(port, 'one')).toString()).toBe('one');
      expect((await exchange(port, 'two')).toString()).toBe('two');
    } finally {
      await d.stop();
    }
  });

  it('with an error stops ninetd from starting, naming file, line, section and key', () => {
    const ini = file('bad.ini', '[daemon]\numask = 999\n');
    const r = ninetd('-d', '-p', '', '--settings', ini, file('ok.conf', '127.0.0.1:7 stream tcp nowait - internal echo\n'));
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(new RegExp(`^${ini}:2: \\[daemon\\] umask`));
  });
});

describe('detaching (no -d)', () => {
  const services = () => file('dservices', 'echo 0/tcp\nt-bad 0/tcp\n');

  it('returns 0 once the daemon has bound its services, and the daemon serves in its own session', async () => {
    const pidfile = path.join(dir, 'detach.pid');
    const conf = file('detach.conf', '127.0.0.1:echo stream tcp nowait - internal\n');
    const log = path.join(dir, 'detach.log');
    const r = ninetd('-p', pidfile, '--log-file', log, '--settings', file('umask.ini', '[daemon]\numask = 027\n'), '--services', services(), conf);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pid = Number(readFileSync(pidfile, 'utf8'));
    try {
      // Bound before the command returned: the record is already in the log.
      const listening = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; port: number }).find((x) => x.msg === 'listening');
      expect(await exchange(listening!.port, 'detached')).toEqual(Buffer.from('detached'));
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
      expect(Number(stat[3])).toBe(pid); // session id: setsid made it a session leader
      expect(readlinkSync(`/proc/${pid}/cwd`)).toBe('/');
      expect(readlinkSync(`/proc/${pid}/fd/0`)).toBe('/dev/null');
      expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Umask:\s+0027$/m);
    } finally {
      process.kill(pid, 'SIGTERM');
      await until(() => !alive(pid), 'detached daemon to exit');
    }
    expect(existsSync(pidfile)).toBe(false);
  });

  it('reports configuration errors on stderr and exits non-zero when nothing can be served', () => {
    const conf = file('detach-bad.conf', 't-bad strem tcp nowait - internal\n');
    const r = ninetd('-p', path.join(dir, 'bad.pid'), '--services', services(), conf);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${conf}:1: `);
  });

  it('reports a port in use on stderr and exits 71', async () => {
    const server = net.createServer();
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const conf = file('detach-busy.conf', `127.0.0.1:${port} stream tcp nowait - internal echo\n`);
      const r = ninetd('-p', path.join(dir, 'busy.pid'), '--services', services(), conf);
      expect(r.code).toBe(71);
      expect(r.stderr).toMatch(/bind: address already in use/);
    } finally {
      server.close();
    }
  });
});

describe('log destinations that cannot be written at start', () => {
  const services = () => file('log-services', '# none\n');
  const conf = () => file('log.conf', '127.0.0.1:0 stream tcp nowait - internal echo\n');

  /** Starts a detached ninetd and returns its pid; the caller stops it. */
  function detached(name: string, ...args: string[]) {
    const pidfile = path.join(dir, `${name}.pid`);
    const r = ninetd('-p', pidfile, ...args, '--services', services(), conf());
    expect(r.code).toBe(0);
    return { stderr: r.stderr, pid: Number(readFileSync(pidfile, 'utf8')) };
  }
  async function stop(pid: number) {
    process.kill(pid, 'SIGTERM');
    await until(() => !alive(pid), 'detached daemon to exit');
  }

  it('detached, with no syslog socket: says so on the terminal, keeps going, and reports the drops once the socket appears', async () => {
    const socket = path.join(dir, 'late-syslog.syslog');
    const ini = file('late-syslog.ini', `[daemon]\nsyslog_socket = ${socket}\n`);
    const { stderr, pid } = detached('late-syslog', '--settings', ini);
    expect(stderr).toContain(`cannot write to syslog socket ${socket}`);
    expect(stderr).toContain('dropped');
    const sink = unixDgramSink(socket);
    try {
      process.kill(pid, 'SIGUSR2'); // any record will do: "state"
      const restored = await sink.waitFor((m) => m.includes('syslog restored'), 'the drop count');
      expect(restored).toMatch(/syslog restored: [1-9]\d* records were dropped while /);
      await sink.waitFor((m) => m.includes('state: 1 services'), 'the state record');
    } finally {
      sink.close();
      await stop(pid);
    }
  });

  it('detached, with an unwritable log file: says so and logs readable lines to syslog instead', async () => {
    const socket = path.join(dir, 'file-fallback.syslog');
    const sink = unixDgramSink(socket);
    const ini = file('file-fallback.ini', `[daemon]\nsyslog_socket = ${socket}\n`);
    const logFile = path.join(dir, 'no-such-dir', 'ninetd.log');
    const { stderr, pid } = detached('file-fallback', '-l', '--log-file', logFile, '--settings', ini);
    try {
      expect(stderr).toContain(`cannot write log file ${logFile}`);
      expect(stderr).toContain(`logging to syslog (${socket}) instead`);
      const listening = await sink.waitFor((m) => m.includes('listening on 127.0.0.1:'), 'listening');
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(listening)![1]);
      expect((await exchange(port, 'hi')).toString()).toBe('hi');
      const conn = await sink.waitFor((m) => m.includes('connection from'), 'the connection record');
      expect(conn).toMatch(/ninetd\[\d+\]: connection from 127\.0\.0\.1:\d+ to 0\/tcp, \d+ ms$/);
    } finally {
      sink.close();
      await stop(pid);
    }
  });

  it('in the foreground, with an unwritable log file: warns on stderr and logs there', async () => {
    const logFile = path.join(dir, 'no-such-dir', 'fg.log');
    const d = await startDaemon('127.0.0.1:0 stream tcp nowait - internal echo\n', { args: ['--log-file', logFile] });
    try {
      const warning = d.records.find((r) => r.code === 'ERR_LOG_DESTINATION');
      expect(warning).toMatchObject({ level: 40, file: logFile });
      expect(String(warning!.msg)).toContain('logging to stderr instead');
    } finally {
      await d.stop();
    }
  });
});
