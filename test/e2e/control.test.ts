// The operator's console against the real daemon: `ninetd status` (text and JSON), `ninetd
// reload` (changes, or errors and 78), `ninetd --check --diff` (a dry run that changes nothing),
// /metrics after real traffic (values, the allow-list, promtool), and the SIGUSR2 record made
// from the same snapshot. Each daemon's control socket sits beside its own pid file.
import { execFile, spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exchange } from '../helpers/client.js';
import { CLI, FIXTURES, FIXTURE_BIN, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

const SERVICES = ['t-hello', 't-crash', 't-fail', 't-other', 'echo', 'daytime'].map((n) => `${n} 0/tcp`).join('\n');
const HELLO = `127.0.0.1:t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`;
const CRASH = `127.0.0.1:t-crash stream tcp nowait - ${FIXTURES}/crash.sh crash`;
const FAIL = `127.0.0.1:t-fail stream tcp nowait - /bin/sh sh -c "exit 3"`;
const ECHO = '127.0.0.1:echo stream tcp nowait - internal';

const running: RunningDaemon[] = [];
const clients: net.Socket[] = [];
const settingsDir = mkdtempSync(path.join(tmpdir(), 'ninetd-control-'));
afterAll(() => rmSync(settingsDir, { recursive: true, force: true }));
let n = 0;
/** Starts a daemon with -l and, when given, a settings file of that text. */
async function daemon(config: string, settings?: string): Promise<RunningDaemon> {
  const args = ['-l'];
  if (settings !== undefined) {
    const file = path.join(settingsDir, `s${n++}.ini`);
    writeFileSync(file, settings);
    args.push('--settings', file);
  }
  const d = await startDaemon(config, { services: SERVICES, args });
  running.push(d);
  return d;
}
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
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

const pidfileOf = (d: RunningDaemon): string => path.join(d.dir, 'ninetd.pid');
const socketOf = (d: RunningDaemon): string => path.join(d.dir, 'ninetd.sock');

/** GET a URL; resolves with status and body, or rejects when the connection is closed. */
function get(port: number, urlPath = '/metrics'): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
      })
      .on('error', reject);
  });
}

/** The value of one sample of the exposition, by metric name and labels (a subset). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{.*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('ninetd status', () => {
  it('prints the daemon and a row per service, and --json the same snapshot', async () => {
    const d = await daemon(`${HELLO}\n${ECHO}\n`);
    expect((await exchange(d.port('t-hello'))).toString()).toBe('hello\n');
    await d.waitFor((r) => r.msg === 'connection' && r.service === 't-hello', 'connection record');
    const text = await ninetd('status', '-p', pidfileOf(d));
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toContain(`pid ${d.pid}`);
    expect(text.stdout).toContain(`config: ${d.config}`);
    expect(text.stdout).toMatch(/^t-hello\s+tcp\s+127\.0\.0\.1:\d+\s+nowait\s+listening\s+0\s+1\s+-\s+0\s+exit 0 \(pid \d+/m);
    expect(text.stdout).toMatch(/^echo\s+tcp\s+127\.0\.0\.1:\d+\s+nowait internal\s+listening/m);
    const json = await ninetd('status', '--json', '--control-socket', socketOf(d), 't-hello');
    const snap = JSON.parse(json.stdout) as { pid: number; configFile: string; services: Array<Record<string, unknown>> };
    expect(snap).toMatchObject({ pid: d.pid, configFile: d.config });
    expect(snap.services).toEqual([expect.objectContaining({ service: 't-hello', connections: 1, spawns: 1, exits: { ok: 1, nonzero: 0, signal: 0 } })]);
  });

  it('says no daemon runs, and exits 69, when nothing answers at the socket', async () => {
    const d = await daemon(`${ECHO}\n`);
    await d.stop();
    running.splice(0);
    const r = await ninetd('status', '-p', pidfileOf(d));
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/^ninetd: .*ninetd\.sock: no ninetd is running/);
  });

  it('names a service it does not know and exits 64', async () => {
    const d = await daemon(`${ECHO}\n`);
    const r = await ninetd('status', '-p', pidfileOf(d), 'nosuch');
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('"nosuch"');
  });

  it('finds the socket named by control_socket in the settings file, and has none with --control-socket ""', async () => {
    const sock = path.join(settingsDir, 'named.sock');
    const ini = path.join(settingsDir, 'named.ini');
    writeFileSync(ini, `[daemon]\ncontrol_socket = ${sock}\n`);
    const d = await startDaemon(`${ECHO}\n`, { services: SERVICES, args: ['--settings', ini] });
    running.push(d);
    expect(lstatSync(sock).isSocket()).toBe(true);
    expect(() => lstatSync(socketOf(d))).toThrow();
    expect(JSON.parse((await ninetd('status', '--json', '--settings', ini)).stdout)).toMatchObject({ pid: d.pid });
    const none = await startDaemon(`${ECHO}\n`, { services: SERVICES, args: ['--control-socket', ''] });
    running.push(none);
    expect(none.records.some((r) => r.msg === 'control socket listening')).toBe(false);
    expect(() => lstatSync(socketOf(none))).toThrow();
  });

  it('makes its socket mode 0600, and removes it when the daemon stops', async () => {
    const d = await daemon(`${ECHO}\n`);
    expect(lstatSync(socketOf(d)).mode & 0o777).toBe(0o600);
    await d.stop();
    running.splice(0);
    expect(() => lstatSync(socketOf(d))).toThrow();
  });
});

describe('the control socket under attack', () => {
  it('answers services and other control clients while one floods, one stalls mid-line and one sends garbage', async () => {
    const d = await daemon(`${ECHO}\n`);
    const socket = socketOf(d);
    const conn = (): net.Socket => {
      const c = net.connect(socket);
      c.on('error', () => {});
      clients.push(c);
      return c;
    };
    const replies = (c: net.Socket): Promise<string> =>
      new Promise((resolve) => {
        let buf = '';
        c.setEncoding('utf8');
        c.on('data', (x: string) => (buf += x));
        c.once('close', () => resolve(buf));
      });
    const flood = conn();
    const flooded = replies(flood);
    flood.on('connect', () => flood.write(Buffer.alloc(10 * 2 ** 20, 0x7b)));
    const stall = conn();
    stall.on('connect', () => stall.write('{"cmd":"stat'));
    const junk = conn();
    const junked = replies(junk);
    junk.on('connect', () => junk.end('{"cmd": nope}\n'));
    // Meanwhile: a service answers, and so does the control socket to a well-behaved client.
    expect((await exchange(d.port('echo'), 'served')).toString()).toBe('served');
    const status = await ninetd('status', '--json', '-p', pidfileOf(d));
    expect(JSON.parse(status.stdout)).toMatchObject({ pid: d.pid });
    expect(JSON.parse((await junked).trim())).toMatchObject({ ok: false, error: { code: 'ERR_CONTROL_REQUEST' } });
    expect(await flooded).toMatch(/ERR_CONTROL_TOO_LONG|^$/);
    // The stalled client still holds its connection (until the request timeout); the echo service does not care.
    expect(stall.destroyed).toBe(false);
    expect((await exchange(d.port('echo'), 'again')).toString()).toBe('again');
    expect(d.records.filter((r) => r.msg === 'control request')).toContainEqual(expect.objectContaining({ level: 20, cmd: 'status', uid: process.geteuid!() }));
  });
});

describe('ninetd reload', () => {
  it('prints what was added, removed and changed (with the fields) and exits 0; counters of services that stay go on', async () => {
    const d = await daemon(`${HELLO}\n${ECHO}\n127.0.0.1:t-other stream tcp nowait - /bin/echo echo one\n`);
    await exchange(d.port('t-hello'));
    await d.waitFor((r) => r.msg === 'connection' && r.service === 't-hello', 'connection record');
    d.writeConfig(`${HELLO}\n127.0.0.1:t-other stream tcp nowait nobody /bin/echo echo two\n127.0.0.1:daytime stream tcp nowait - internal\n`);
    const r = await ninetd('reload', '-p', pidfileOf(d));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      expect.stringMatching(/^added +daytime\/tcp 127\.0\.0\.1:0$/),
      expect.stringMatching(/^removed +echo\/tcp 127\.0\.0\.1:\d+$/),
      expect.stringMatching(/^changed +t-other\/tcp 127\.0\.0\.1:0: argv, user$/),
      'reloaded: 1 added, 1 removed, 1 changed, 1 unchanged',
      '',
    ]);
    const snap = JSON.parse((await ninetd('status', '--json', '-p', pidfileOf(d))).stdout) as { lastReload: unknown; reloads: unknown; services: Array<Record<string, unknown>> };
    expect(snap.lastReload).toMatchObject({ result: 'ok', added: 1, removed: 1, changed: 1, unchanged: 1 });
    expect(snap.reloads).toEqual({ ok: 1, rejected: 0 });
    expect(snap.services.find((s) => s.service === 't-hello')).toMatchObject({ connections: 1, spawns: 1 });
  });

  it('prints every file:line error and "configuration unchanged", exits 78, and keeps serving', async () => {
    const d = await daemon(`${ECHO}\n`);
    d.writeConfig(`${ECHO}\nfoo strem tcp nowait - internal\nbar stream tcp\n`);
    const r = await ninetd('reload', '-p', pidfileOf(d));
    expect(r.code).toBe(78);
    expect(r.stderr.split('\n')).toEqual([expect.stringMatching(new RegExp(`^${d.config}:2: `)), expect.stringMatching(new RegExp(`^${d.config}:3: `)), 'configuration unchanged', '']);
    expect((await exchange(d.port('echo'), 'still')).toString()).toBe('still');
  });

  it('leaves SIGHUP working as before', async () => {
    const d = await daemon(`${ECHO}\n`);
    d.writeConfig(`${ECHO}\n127.0.0.1:daytime stream tcp nowait - internal\n`);
    process.kill(d.pid, 'SIGHUP');
    expect(await d.waitFor((r) => r.msg === 'reloaded', 'reloaded')).toMatchObject({ added: 1, unchanged: 1 });
  });
});

describe('ninetd --check --diff', () => {
  it('prints what a reload of another file would change, and changes nothing', async () => {
    const d = await daemon(`${HELLO}\n${ECHO}\n`);
    const other = path.join(d.dir, 'other.conf');
    writeFileSync(other, `${HELLO} -x\n127.0.0.1:daytime stream tcp nowait - internal\n`);
    const r = await ninetd('--check', '--diff', '-p', pidfileOf(d), other);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^added +daytime\/tcp/m);
    expect(r.stdout).toMatch(/^removed +echo\/tcp/m);
    expect(r.stdout).toMatch(/^changed +t-hello\/tcp 127\.0\.0\.1:0: argv$/m);
    expect(r.stdout).toContain('a reload would make: 1 added, 1 removed, 1 changed, 0 unchanged');
    // Nothing moved: echo still answers, no reload was counted.
    expect((await exchange(d.port('echo'), 'here')).toString()).toBe('here');
    const snap = JSON.parse((await ninetd('status', '--json', '-p', pidfileOf(d))).stdout) as { reloads: unknown; services: unknown[] };
    expect(snap.reloads).toEqual({ ok: 0, rejected: 0 });
    expect(snap.services).toHaveLength(2);
    expect(d.records.some((x) => x.msg === 'reloaded')).toBe(false);
  });

  it('prints the errors of a bad file, says a reload would be rejected, and exits 78', async () => {
    const d = await daemon(`${ECHO}\n`);
    const bad = path.join(d.dir, 'bad.conf');
    writeFileSync(bad, 'x strem tcp nowait - internal\n');
    const r = await ninetd('--check', '--diff', '-p', pidfileOf(d), bad);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(new RegExp(`^${bad}:1: .*\\na reload would be rejected: configuration unchanged\\n$`));
  });
});

describe('metrics', () => {
  const settings = (from = '127.0.0.1'): string => `[daemon]\nmetrics_listen = 127.0.0.1:0\nmetrics_from = ${from}\n[service:t-other/tcp]\nonly_from = 10.0.0.0/8\n`;
  const metricsPort = async (d: RunningDaemon): Promise<number> => (await d.waitFor((r) => r.msg === 'metrics listening', 'metrics listening')).port as number;

  it('counts real traffic: connections, exits by outcome, durations, CPU, refusals by reason', async () => {
    const d = await daemon(`${HELLO}\n${CRASH}\n${FAIL}\n127.0.0.1:t-other stream tcp nowait - /bin/echo echo x\n`, settings());
    for (let i = 0; i < 2; i++) await exchange(d.port('t-hello'));
    await exchange(d.port('t-crash'));
    await exchange(d.port('t-fail'));
    expect((await exchange(d.port('t-other'))).toString()).toBe('');
    await d.waitFor((r) => r.msg === 'refused' && r.service === 't-other', 'refused');
    await d.waitFor((r) => r.msg === 'connection' && r.service === 't-crash', 'crash end');
    await d.waitFor((r) => r.msg === 'connection' && r.service === 't-fail', 'fail end');
    await d.waitFor((r) => d.records.filter((x) => x.msg === 'connection' && x.service === 't-hello').length === 2 && r.msg === 'connection', 'hello ends');
    const { status, body, type } = await get(await metricsPort(d));
    expect(status).toBe(200);
    expect(type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const hello = { service: 't-hello', proto: 'tcp' };
    expect(sample(body, 'ninetd_connections_total', hello)).toBe(2);
    expect(sample(body, 'ninetd_handler_spawns_total', hello)).toBe(2);
    expect(sample(body, 'ninetd_handler_exits_total', { ...hello, outcome: 'ok' })).toBe(2);
    expect(sample(body, 'ninetd_handler_duration_seconds_count', hello)).toBe(2);
    expect(sample(body, 'ninetd_handler_duration_seconds_bucket', { ...hello, le: '+Inf' })).toBe(2);
    expect(sample(body, 'ninetd_handler_cpu_seconds_total', { ...hello, mode: 'user' })).toBeGreaterThanOrEqual(0);
    expect(sample(body, 'ninetd_handler_exits_total', { service: 't-crash', outcome: 'signal' })).toBe(1);
    expect(sample(body, 'ninetd_handler_exits_total', { service: 't-fail', outcome: 'nonzero' })).toBe(1);
    expect(sample(body, 'ninetd_refusals_total', { service: 't-other', reason: 'only_from' })).toBe(1);
    expect(sample(body, 'ninetd_refusals_total', { service: 't-other', reason: 'hosts' })).toBe(0);
    expect(sample(body, 'ninetd_handler_spawns_total', { service: 't-other' })).toBe(0);
    expect(sample(body, 'ninetd_service_state', { ...hello, state: 'listening' })).toBe(1);
    expect(sample(body, 'ninetd_handlers_running', hello)).toBe(0);
    expect(sample(body, 'ninetd_reloads_total', { result: 'ok' })).toBe(0);
    expect(sample(body, 'process_open_fds')).toBeGreaterThan(3);
    expect(sample(body, 'process_max_fds')).toBeGreaterThan(sample(body, 'process_open_fds')!);
    expect(sample(body, 'ninetd_build_info')).toBe(1);

    // The same snapshot behind `status --json` and the SIGUSR2 record.
    const snap = JSON.parse((await ninetd('status', '--json', '-p', pidfileOf(d), 't-hello')).stdout) as { services: Array<Record<string, unknown>> };
    expect(snap.services[0]).toMatchObject({ connections: 2, exits: { ok: 2, nonzero: 0, signal: 0 } });
    process.kill(d.pid, 'SIGUSR2');
    const state = await d.waitFor((r) => r.msg === 'state', 'state');
    expect(state.daemon).toMatchObject({ pid: d.pid, reloads: { ok: 0, rejected: 0 } });
    expect(state.services).toContainEqual(expect.objectContaining({ service: 't-hello', connections: 2, exits: { ok: 2, nonzero: 0, signal: 0 } }));

    // Reloads are counted, and a service that stays keeps its counts.
    d.writeConfig(`${HELLO}\n`);
    expect((await ninetd('reload', '-p', pidfileOf(d))).code).toBe(0);
    const after = (await get(await metricsPort(d))).body;
    expect(sample(after, 'ninetd_reloads_total', { result: 'ok' })).toBe(1);
    expect(sample(after, 'ninetd_last_reload_success')).toBe(1);
    expect(sample(after, 'ninetd_connections_total', hello)).toBe(2);
    expect(sample(after, 'ninetd_connections_total', { service: 't-crash' })).toBeUndefined();
  });

  it('passes promtool check metrics', async (ctx) => {
    if (spawnSync('promtool', ['--version']).error) return ctx.skip('promtool is not installed (Debian package prometheus): cannot validate the exposition');
    const d = await daemon(`${HELLO}\n${ECHO}\n`, settings());
    await exchange(d.port('t-hello'));
    await exchange(d.port('echo'), 'x');
    await d.waitFor((r) => r.msg === 'connection' && r.service === 't-hello', 'connection record');
    const { body } = await get(await metricsPort(d));
    const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('closes a connection from an address not in metrics_from, and answers 404 off /metrics', async () => {
    const d = await daemon(`${ECHO}\n`, settings('10.0.0.0/8'));
    const port = await metricsPort(d);
    await expect(get(port)).rejects.toMatchObject({ code: expect.stringMatching(/^(ECONNRESET|EPIPE)$/) });
    expect(await d.waitFor((r) => r.msg === 'metrics: refused', 'metrics refused')).toMatchObject({ rule: '[daemon] metrics_from' });
    const d2 = await daemon(`${ECHO}\n`, settings());
    expect((await get(await metricsPort(d2), '/')).status).toBe(404);
  });

  it('is off unless metrics_listen is set', async () => {
    const d = await daemon(`${ECHO}\n`);
    expect(d.records.some((r) => r.msg === 'metrics listening')).toBe(false);
  });
});
