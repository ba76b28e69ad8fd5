// The real daemon serving nowait stream services: exec'd handlers, internal services, limits.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exchange, fdCount, open, zombies } from '../helpers/client.js';
import { FIXTURES, FIXTURE_BIN, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

const SERVICES = ['t-cat', 't-report', 't-hello', 't-exit', 't-crash', 't-hang', 't-hang1', 'echo', 'discard', 'chargen', 'daytime', 'time']
  .map((n) => `${n} 0/tcp`)
  .join('\n');

const running: RunningDaemon[] = [];
const dirs: string[] = [];

/** A settings file with `text`, removed after the test. */
function settingsFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-settings-'));
  dirs.push(dir);
  const file = path.join(dir, 'ninetd.ini');
  writeFileSync(file, text);
  return file;
}
async function daemon(config: string, args: string[] = [], extra = {}): Promise<RunningDaemon> {
  const d = await startDaemon(`127.0.0.1:\n${config}\n`, { services: SERVICES, args, ...extra });
  running.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function report(text: string): { fds: string[]; env: Record<string, string>; kv: Record<string, string> } {
  const fds: string[] = [];
  const env: Record<string, string> = {};
  const kv: Record<string, string> = {};
  for (const line of text.trim().split('\n')) {
    const [k, ...rest] = line.split(' ');
    const v = rest.join(' ');
    if (k === 'fd') fds.push(v);
    else if (k === 'env') env[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
    else kv[k!] = v;
  }
  return { fds, env, kv };
}

describe('nowait stream services', () => {
  it('runs a handler with the connection as its stdin and stdout', async () => {
    const d = await daemon('t-cat stream tcp nowait - /bin/cat cat');
    const got = await exchange(d.port('t-cat'), 'hello through cat\n');
    expect(got.toString()).toBe('hello through cat\n');
  });

  it('gives the handler exactly fds 0-2, blocking, default signals, cwd /, its own process group, no terminal and UCSPI variables', async () => {
    const d = await daemon(`t-report stream tcp nowait - ${FIXTURE_BIN}/report report`);
    const port = d.port('t-report');
    const net = await import('node:net');
    const sock = net.connect({ port, host: '127.0.0.1' });
    await new Promise((r) => sock.once('connect', r));
    const clientPort = sock.localPort;
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    await new Promise((r) => sock.once('close', r));
    const { fds, env, kv } = report(Buffer.concat(chunks).toString());
    expect(fds.sort()).toEqual(['0', '1', '2']);
    expect(kv.nonblock0).toBe('0');
    expect(kv.SigIgn).toBe('0000000000000000');
    expect(kv.SigBlk).toBe('0000000000000000');
    expect(kv.cwd).toBe('/');
    expect(kv.pgid_is_pid).toBe('1'); // session or process group: test/e2e/session.test.ts
    expect(kv.tty).toBe('0');
    expect(env).toEqual({
      PATH: expect.stringContaining('/usr/bin'),
      PROTO: 'TCP',
      TCPLOCALIP: '127.0.0.1',
      TCPLOCALPORT: String(port),
      TCPREMOTEIP: '127.0.0.1',
      TCPREMOTEPORT: String(clientPort),
      REMOTE_HOST: '127.0.0.1',
    });
  });

  it.skipIf(process.getuid?.() !== 0)('runs the handler as the named user, with all its groups and no capabilities, when ninetd runs as root', async () => {
    const { execFileSync } = await import('node:child_process');
    const d = await daemon(`t-report stream tcp nowait nobody ${FIXTURE_BIN}/report report`);
    const { kv } = report((await exchange(d.port('t-report'))).toString());
    const [uid, gid] = [execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim(), execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim()];
    // real, effective, saved and filesystem ids
    expect(kv.Uid).toBe(`${uid} ${uid} ${uid} ${uid}`);
    expect(kv.Gid).toBe(`${gid} ${gid} ${gid} ${gid}`);
    const groups = execFileSync('id', ['-G', 'nobody'], { encoding: 'utf8' }).trim().split(' ').sort();
    expect((kv.Groups ?? '').trim().split(' ').filter(Boolean).sort()).toEqual(groups);
    expect(kv.CapEff).toBe('0000000000000000');
    expect(kv.CapPrm).toBe('0000000000000000');
  });

  it.skipIf(process.getuid?.() !== 0).each([
    ['user:group', 'nobody:daemon'],
    ['user.group', 'nobody.daemon'],
  ])('sets the primary group named as %s', async (_form, field) => {
    const { execFileSync } = await import('node:child_process');
    const d = await daemon(`t-report stream tcp nowait ${field} ${FIXTURE_BIN}/report report`);
    const { kv } = report((await exchange(d.port('t-report'))).toString());
    const daemonGid = execFileSync('getent', ['group', 'daemon'], { encoding: 'utf8' }).split(':')[2];
    expect(kv.gid).toBe(daemonGid);
    expect(kv.uid).toBe(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  });

  it('leaves no zombie and returns to its idle fd count after 1000 sequential and 200 concurrent connections', async () => {
    const d = await daemon(`t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`, ['-R', '0', '-l']);
    const port = d.port('t-hello');
    const idle = await fdCount(d.pid);
    for (let i = 0; i < 1000; i++) expect((await exchange(port)).toString()).toBe('hello\n');
    const concurrent = await Promise.all(Array.from({ length: 200 }, () => exchange(port)));
    expect(concurrent.every((b) => b.toString() === 'hello\n')).toBe(true);
    // Every handler's end is logged once it has been reaped.
    await d.waitFor(() => d.records.filter((r) => r.msg === 'connection').length >= 1200, '1200 connection records', 60_000);
    expect(await zombies(d.pid)).toEqual([]);
    expect(await fdCount(d.pid)).toBe(idle);
  });

  it('with -l, logs when a handler starts and when it ends (with its CPU and peak RSS), and at stop the handlers still running', async () => {
    const d = await daemon(`t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello\nt-hang stream tcp nowait - ${FIXTURES}/hang.sh hang`, ['-l']);
    const client = await open(d.port('t-hello'));
    const local = `127.0.0.1:${client.localPort!}`;
    const started = await d.waitFor((r) => r.msg === 'handler started' && r.peer === local, 'start record');
    const ended = await d.waitFor((r) => r.msg === 'connection' && r.pid === started.pid, 'end record');
    expect(started).toMatchObject({ service: 't-hello', pid: expect.any(Number), user: '-' });
    expect(ended).toMatchObject({ peer: local, code: 0, signal: null, ms: expect.any(Number), cpuUserMs: expect.any(Number), cpuSystemMs: expect.any(Number), maxRssKb: expect.any(Number) });
    client.destroy();
    const hung = await open(d.port('t-hang'));
    const pid = Number((await hung.nextData()).trim());
    process.kill(d.pid, 'SIGTERM');
    const left = await d.waitFor((r) => r.msg === 'handlers still running', 'shutdown record');
    expect(left).toMatchObject({ count: 1, handlers: [expect.objectContaining({ service: 't-hang', pid, peer: `127.0.0.1:${hung.localPort!}` })] });
    process.kill(pid, 'SIGKILL');
    hung.destroy();
  });

  it('keeps serving other services while handlers exit at once, crash, or never exit', async () => {
    const d = await daemon(
      [
        `t-exit stream tcp nowait - ${FIXTURES}/exit-now.sh exit-now`,
        `t-crash stream tcp nowait - ${FIXTURES}/crash.sh crash`,
        `t-hang stream tcp nowait - ${FIXTURES}/hang.sh hang`,
        `t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`,
      ].join('\n'),
      ['-l'],
    );
    expect((await exchange(d.port('t-exit'))).length).toBe(0);
    expect((await exchange(d.port('t-crash'))).length).toBe(0);
    await d.waitFor((r) => r.msg === 'connection' && r.service === 't-crash' && r.signal === 'SIGSEGV', 'crash record');
    const hung = await open(d.port('t-hang'));
    const pid = Number((await hung.nextData()).trim());
    expect(pid).toBeGreaterThan(0);
    expect((await exchange(d.port('t-hello'))).toString()).toBe('hello\n');
    process.kill(pid, 'SIGKILL');
    await d.waitFor((r) => r.msg === 'connection' && r.pid === pid, 'hung handler record');
    hung.destroy();
    expect((await exchange(d.port('t-hello'))).toString()).toBe('hello\n');
  });

  it('holds connections in the backlog while a service is at its max children', async () => {
    const d = await daemon(`t-hang1 stream tcp nowait/1 - ${FIXTURES}/hang.sh hang`);
    const port = d.port('t-hang1');
    const first = await open(port);
    const pid1 = Number((await first.nextData()).trim());
    const second = await open(port);
    process.kill(d.pid, 'SIGUSR2');
    const dump = await d.waitFor((r) => r.msg === 'state', 'state dump');
    expect(dump.services).toEqual([expect.objectContaining({ service: 't-hang1', state: 'full', children: 1 })]);
    expect(second.received()).toBe('');
    process.kill(pid1, 'SIGKILL');
    const pid2 = Number((await second.nextData()).trim());
    expect(pid2).toBeGreaterThan(0);
    expect(pid2).not.toBe(pid1);
    process.kill(pid2, 'SIGKILL');
    first.destroy();
    second.destroy();
  });

  it('suspends a service that exceeds its spawn rate and resumes it after the retry time', async () => {
    const d = await daemon(`t-hello stream tcp nowait.3 - ${FIXTURE_BIN}/hello hello`, ['--retry-time', '3']);
    const port = d.port('t-hello');
    for (let i = 0; i < 3; i++) expect((await exchange(port)).toString()).toBe('hello\n');
    // The fourth connection within the minute trips the guard and is closed unserved.
    expect((await exchange(port)).toString()).toBe('');
    // Suspended, the socket is closed (before that connection was): a client is refused at once
    // instead of left hanging.
    const refused = await exchange(port).then(
      () => 'served',
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect(refused).toBe('ECONNREFUSED');
    await d.waitFor((r) => typeof r.msg === 'string' && r.msg.startsWith('looping'), 'looping');
    process.kill(d.pid, 'SIGUSR2');
    expect((await d.waitFor((r) => r.msg === 'state', 'state dump')).services).toEqual([expect.objectContaining({ state: 'suspended', until: expect.any(String) })]);
    await d.waitFor((r) => r.msg === 'resumed after suspension', 'resume');
    expect((await exchange(port)).toString()).toBe('hello\n');
  });

  it('pauses instead of spinning when it runs out of file descriptors, then serves again', async () => {
    // Internal connections hold an fd in the supervisor until the client closes; their
    // daemon-wide cap (a quarter of the fd limit by default) is lifted here to run out of fds.
    const ini = settingsFile('[daemon]\ninternal_max_connections = 1000\n');
    const d = await daemon('discard stream tcp nowait - internal\necho stream tcp nowait - internal', ['-R', '0', '--settings', ini], { fdLimit: 64 });
    const conns = await Promise.all(Array.from({ length: 80 }, () => open(d.port('discard')).catch(() => null)));
    await d.waitFor((r) => typeof r.msg === 'string' && r.msg.startsWith('out of resources'), 'resource back-off');
    for (const c of conns) c?.destroy();
    expect((await exchange(d.port('echo'), 'again')).toString()).toBe('again');
    // One record when the episode begins and one when it ends, not one per readiness event.
    await d.waitFor((r) => typeof r.msg === 'string' && r.msg.startsWith('resources are back'), 'end of the episode');
    // The queued connections accepted after an episode may start another: episodes alternate
    // with their ends, each logged once, however many readiness events they span.
    const episodes = d.records.filter((r) => typeof r.msg === 'string' && /^(out of resources|resources are back)/.test(r.msg));
    const words = episodes.map((r) => (r.msg as string).split(' (')[0]);
    expect(words).toEqual(words.map((_w, i) => (i % 2 === 0 ? 'out of resources' : 'resources are back')));
    expect(words.length).toBeLessThanOrEqual(6);
    expect(d.proc.exitCode).toBeNull();
  });
});

describe('internal stream services', () => {
  const CONF = ['echo', 'discard', 'chargen', 'daytime', 'time'].map((n) => `${n} stream tcp nowait - internal`).join('\n');

  it('echo returns every byte sent', async () => {
    const d = await daemon(CONF);
    const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    expect((await exchange(d.port('echo'), data)).equals(data)).toBe(true);
  });

  it('discard sends nothing back', async () => {
    const d = await daemon(CONF);
    expect((await exchange(d.port('discard'), 'x'.repeat(10_000))).length).toBe(0);
  });

  it('chargen sends the RFC 864 rotating pattern', async () => {
    const d = await daemon(CONF);
    const got = await exchange(d.port('chargen'), undefined, { end: false, max: 74 * 96 });
    const lines = got.toString('latin1').split('\r\n');
    expect(lines[0]).toBe(' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg');
    expect(lines[1]).toBe('!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh');
    expect(lines[95]).toBe(lines[0]);
  });

  it('daytime sends one ctime line and closes', async () => {
    const d = await daemon(CONF);
    expect((await exchange(d.port('daytime'))).toString()).toMatch(/^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/);
  });

  it('time sends four big-endian bytes of seconds since 1900', async () => {
    const d = await daemon(CONF);
    const before = Math.floor(Date.now() / 1000) + 2_208_988_800;
    const got = await exchange(d.port('time'));
    const after = Math.floor(Date.now() / 1000) + 2_208_988_800;
    expect(got.length).toBe(4);
    const t = got.readUInt32BE(0);
    expect(t).toBeGreaterThanOrEqual(before % 2 ** 32);
    expect(t).toBeLessThanOrEqual(after % 2 ** 32);
  });
});

describe('internal stream services are fair and bounded', () => {
  /** A connected client that counts what it reads and records when the server closes. */
  async function client(port: number): Promise<{ sock: net.Socket; read: () => number; data: Promise<Buffer>; closed: Promise<void> }> {
    const sock = net.connect(port, '127.0.0.1');
    sock.on('error', () => {});
    let read = 0;
    const data = new Promise<Buffer>((r) => sock.once('data', (c: Buffer) => r(c)));
    sock.on('data', (c: Buffer) => (read += c.length));
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    await new Promise((r) => sock.once('connect', r));
    return { sock, read: () => read, data, closed };
  }

  it('answer other services while a client reads chargen as fast as it can', async () => {
    const d = await daemon(`chargen stream tcp nowait - internal\necho stream tcp nowait - internal\nt-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`);
    const reader = await client(d.port('chargen'));
    try {
      // In full flow: several megabytes read already.
      await new Promise<void>((r) => {
        const check = (): void => void (reader.read() > 8 * 1024 * 1024 ? r() : reader.sock.once('data', check));
        check();
      });
      for (let i = 0; i < 5; i++) {
        expect((await exchange(d.port('echo'), `ping ${i}`)).toString()).toBe(`ping ${i}`);
        expect((await exchange(d.port('t-hello'))).toString()).toBe('hello\n');
      }
      // The reader was served all along, and still is.
      const before = reader.read();
      await new Promise((r) => reader.sock.once('data', r));
      expect(reader.read()).toBeGreaterThan(before);
    } finally {
      reader.sock.destroy();
    }
  });

  it('are capped daemon-wide (the next client waits in the backlog) and closed when idle', async () => {
    const ini = settingsFile('[daemon]\ninternal_max_connections = 2\ninternal_idle_timeout = 3\n');
    const d = await daemon('echo stream tcp nowait - internal\nchargen stream tcp nowait - internal', ['--settings', ini]);
    const first = await client(d.port('echo'));
    first.sock.write('one');
    expect((await first.data).toString()).toBe('one');
    const second = await client(d.port('chargen'));
    await second.data;
    // It stops reading: once the buffers are full, no byte moves on either connection.
    second.sock.pause();
    // A third client connects (the kernel's backlog) but is not served while the cap holds.
    const third = await client(d.port('echo'));
    third.sock.write('three');
    process.kill(d.pid, 'SIGUSR2');
    const dump = await d.waitFor((r) => r.msg === 'state', 'state dump');
    expect(dump.services).toEqual(
      expect.arrayContaining([expect.objectContaining({ service: 'echo', state: 'full', children: 1 }), expect.objectContaining({ service: 'chargen', state: 'full', children: 1 })]),
    );
    // The idle timeout closes the first two (the paused chargen client cannot see its close, the
    // log says it), and that makes room for the third.
    await first.closed;
    await d.waitFor((r) => r.msg === 'idle connection closed' && r.service === 'echo', 'echo idle record');
    await d.waitFor((r) => r.msg === 'idle connection closed' && r.service === 'chargen', 'chargen idle record');
    expect((await third.data).toString()).toBe('three');
    second.sock.destroy();
    third.sock.destroy();
  });

  it('are capped per service by its instances limit', async () => {
    const d = await daemon('echo stream tcp nowait/1 - internal');
    const first = await client(d.port('echo'));
    first.sock.write('one');
    expect((await first.data).toString()).toBe('one');
    const second = await client(d.port('echo'));
    second.sock.write('two');
    process.kill(d.pid, 'SIGUSR2');
    const dump = await d.waitFor((r) => r.msg === 'state', 'state dump');
    expect(dump.services).toEqual([expect.objectContaining({ service: 'echo', state: 'full', children: 1 })]);
    first.sock.end();
    expect((await second.data).toString()).toBe('two');
    second.sock.destroy();
  });
});

describe('per-service process attributes', () => {
  it('apply umask, nice, limits, env, passenv and cwd from [service:NAME/PROTO] over [daemon]', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-attrs-'));
    const ini = path.join(dir, 'ninetd.ini');
    writeFileSync(
      ini,
      [
        '[daemon]',
        'umask = 077',
        'env = FROM_DAEMON=1',
        '[service:t-report/tcp]',
        'umask = 027',
        'nice = 7',
        'rlimit_nofile = 64',
        'rlimit_cpu = 30',
        'env = GREETING=hello',
        'passenv = NINETD_TEST_PASS',
        'cwd = /tmp',
        '',
      ].join('\n'),
    );
    try {
      const d = await startDaemon(`127.0.0.1:\nt-report stream tcp nowait - ${FIXTURE_BIN}/report report\nt-hello stream tcp nowait - ${FIXTURE_BIN}/report report\n`, {
        services: SERVICES,
        args: ['--settings', ini],
        env: { NINETD_TEST_PASS: 'passed', NINETD_TEST_HIDDEN: 'hidden' },
      });
      running.push(d);
      const { env, kv } = report((await exchange(d.port('t-report'))).toString());
      expect(kv).toMatchObject({ umask: '027', nice: '7', nofile: '64 64', cpu: '30', cwd: '/tmp' });
      expect(env).toMatchObject({ GREETING: 'hello', NINETD_TEST_PASS: 'passed', PROTO: 'TCP' });
      expect(env.NINETD_TEST_HIDDEN).toBeUndefined();
      // A section replaces a [daemon] default key by key; other services get the defaults.
      expect(env.FROM_DAEMON).toBeUndefined();
      const other = report((await exchange(d.port('t-hello'))).toString());
      expect(other.kv).toMatchObject({ umask: '077', cwd: '/' });
      expect(other.env).toMatchObject({ FROM_DAEMON: '1' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
