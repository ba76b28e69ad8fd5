// Services behind load balancers through the real daemon: PROXY headers from raw clients (good,
// hostile, slow, in many small writes), the configuration checks, and the real senders: HAProxy
// (`send-proxy`, `send-proxy-v2`) in front of ninetd with clients on 127.0.0.2, 127.0.0.3,
// 127.0.0.5 and ::1, and curl's --haproxy-protocol. HAProxy runs in the foreground on loopback
// with a generated configuration, listening on sockets the test bound on ephemeral ports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';
import { exchange } from '../helpers/client.js';
import { CLI, FIXTURES, startDaemon, type LogRecord, type RunningDaemon } from '../helpers/daemon.js';
import { alive, until } from '../helpers/wait.js';

const ENV = path.join(FIXTURES, 'proxy-env.sh');
const HANG = path.join(FIXTURES, 'hang.sh');
const SIG = '0d0a0d0a000d0a515549540a';
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const V1 = 'PROXY TCP4 192.0.2.7 198.51.100.2 50000 443\r\n';
/** v2 PROXY, TCP over IPv6: 2001:db8::7:50000 → 2001:db8::2:443, with the authority "example.org". */
const V2 = hex(`${SIG} 21 21 0032 20010db8000000000000000000000007 20010db8000000000000000000000002 c350 01bb 02000b 6578616d706c652e6f7267`);

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-proxy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const running: RunningDaemon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

let files = 0;
/** Writes a settings file and returns its path. */
function settingsFile(ini: string): string {
  const file = path.join(dir, `ninetd-${++files}.ini`);
  writeFileSync(file, ini);
  return file;
}

/** Starts ninetd with -l on `conf` (the `names` are services on port 0) and the settings file `settings`. */
async function daemon(conf: string, names: string[], settings: string): Promise<RunningDaemon> {
  const d = await startDaemon(conf, { services: names.map((n) => `${n} 0/tcp`).join('\n'), args: ['-l', '--settings', settings] });
  running.push(d);
  return d;
}

/** The `key value` lines of proxy-env.sh's answer. */
function answer(out: Buffer | string): Record<string, string> {
  const text = out.toString();
  const start = text.indexOf('\r\n\r\n');
  if (start < 0) return {};
  return Object.fromEntries(
    text
      .slice(start + 4)
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
  );
}

/** Logs one `state` record (SIGUSR2) and resolves with the named service's entry. */
async function state(d: RunningDaemon, service: string): Promise<Record<string, unknown>> {
  const from = d.records.length;
  process.kill(d.pid, 'SIGUSR2');
  const rec = await d.waitFor((r) => r.msg === 'state' && d.records.indexOf(r) >= from, 'state');
  return (rec.services as Array<Record<string, unknown>>).find((s) => s.service === service)!;
}

/** A raw client: sends `parts` (each byte on its own with `bytewise`), optionally half-closes; `gone` resolves when the server closes. */
async function rawClient(port: number, parts: Array<Buffer | string>, opts: { bytewise?: boolean; end?: boolean; from?: string } = {}) {
  const sock = net.connect({ port, host: '127.0.0.1', ...(opts.from ? { localAddress: opts.from } : {}) });
  sock.setNoDelay(true);
  let got = '';
  sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
  sock.on('error', () => {});
  const gone = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const source = `${opts.from ?? '127.0.0.1'}:${sock.localPort}`;
  const write = (b: Buffer): Promise<void> => new Promise((resolve) => sock.write(b, () => resolve()));
  for (const part of parts) {
    const b = typeof part === 'string' ? Buffer.from(part, 'latin1') : part;
    if (opts.bytewise) for (let i = 0; i < b.length; i++) await write(b.subarray(i, i + 1));
    else await write(b);
  }
  if (opts.end) sock.end();
  return { sock, source, gone, received: () => got };
}

const PROXIED = ['praw', 'other', 'tcpmux'];
const PROXIED_CONF = [
  '127.0.0.1:',
  `praw stream tcp nowait - ${ENV} proxy-env.sh`,
  `other stream tcp nowait - ${ENV} proxy-env.sh`,
  'tcpmux stream tcp nowait - internal',
  `tcpmux/+env stream tcp nowait - ${ENV} proxy-env.sh`,
  '',
].join('\n');
const PROXIED_INI = [
  '[service:praw/tcp]',
  'proxy_protocol = any',
  'proxy_from = 127.0.0.1',
  '[service:tcpmux/tcp]',
  'proxy_protocol = v1',
  'proxy_from = 127.0.0.1',
  '',
].join('\n');

describe('a service that reads PROXY headers', () => {
  it.each([
    ['v1', V1, { remote: '192.0.2.7 50000', local: '198.51.100.2 443', authority: '' }],
    ['v2', V2, { remote: '2001:db8::7 50000', local: '2001:db8::2 443', authority: 'example.org' }],
  ])('gives the handler the client of a %s header, the balancer in PROXYREMOTEIP, and every byte after the header', async (_v, header, want) => {
    const d = await daemon(PROXIED_CONF, PROXIED, settingsFile(PROXIED_INI));
    const c = await rawClient(d.port('praw'), [header, 'hello\n']);
    await c.gone;
    expect(answer(c.received())).toEqual({ ...want, proxy: `127.0.0.1 ${c.source.split(':')[1]}`, first: 'hello' });
    const conn = await d.waitFor((r) => r.msg === 'connection' && r.service === 'praw', 'connection');
    expect(conn).toMatchObject({ peer: want.remote.startsWith('2001') ? '[2001:db8::7]:50000' : '192.0.2.7:50000', proxy: c.source });
  });

  it('reads a header that arrives in many small writes', async () => {
    const d = await daemon(PROXIED_CONF, PROXIED, settingsFile(PROXIED_INI));
    const c = await rawClient(d.port('praw'), [V2, 'hello\n'], { bytewise: true });
    await c.gone;
    expect(answer(c.received())).toMatchObject({ remote: '2001:db8::7 50000', first: 'hello' });
  });

  it('reads the header first, then the tcpmux request line', async () => {
    const d = await daemon(PROXIED_CONF, PROXIED, settingsFile(PROXIED_INI));
    const out = await exchange(d.port('tcpmux'), `${V1}env\r\nhello\n`);
    expect(out.toString().startsWith('+Go\r\n')).toBe(true);
    expect(answer(out.subarray(5))).toMatchObject({ remote: '192.0.2.7 50000', local: '198.51.100.2 443', first: 'hello' });
  });

  it('refuses a connection from outside proxy_from without reading it', async () => {
    const d = await daemon(PROXIED_CONF, PROXIED, settingsFile(PROXIED_INI));
    const c = await rawClient(d.port('praw'), [V1, 'hello\n'], { from: '127.0.0.2' });
    await c.gone;
    expect(c.received()).toBe('');
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused')).toMatchObject({ service: 'praw', peer: c.source, rule: '[service:praw/tcp] proxy_from' });
  });

  const HOSTILE: Array<[string, Array<Buffer | string>, { bytewise?: boolean; end?: boolean }, string]> = [
    ['truncated', ['PROXY TCP4 192.0.2.7 198.51'], { end: true }, 'truncated'],
    ['oversized v1', [`PROXY TCP4 ${'9'.repeat(110)}`], {}, 'too-long'],
    ['oversized v2', [hex(`${SIG} 21 11 2000`)], {}, 'too-long'],
    ['a bad signature', ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], {}, 'signature'],
    ['a bad version', [hex(`${SIG} 11 11 000c c0000207 c6336402 c350 01bb`)], {}, 'version'],
    ['a bad length', [hex(`${SIG} 21 21 000c c0000207 c6336402 c350 01bb`)], {}, 'length'],
    ['bad address text', ['PROXY TCP6 2001:db8::g ::1 1 2\r\n'], {}, 'address'],
    ['bad address text, split across many small writes', ['PROXY TCP4 192.0.2.7 198.51.100.2 50000 65536\r\n'], { bytewise: true }, 'address'],
  ];

  it('closes every hostile header without a handler, counts and logs each with its sender, and serves others meanwhile', async () => {
    const d = await daemon(PROXIED_CONF, PROXIED, settingsFile(PROXIED_INI));
    const port = d.port('praw');
    // A slow sender: part of a header, then nothing. It is cut off after 5 s.
    const slow = await rawClient(port, ['PROXY TCP4 192.0.2.7']);
    const bad = [];
    for (const [, parts, opts, reason] of HOSTILE) bad.push({ reason, c: await rawClient(port, parts, opts) });
    for (const { reason, c } of bad) {
      await c.gone;
      expect(c.received()).toBe('');
      const rec = await d.waitFor((r) => String(r.msg).startsWith('bad proxy header') && r.peer === c.source, `bad header from ${c.source}`);
      expect(rec).toMatchObject({ service: 'praw', level: 40, code: 'ERR_PROXY_HEADER', reason });
    }
    // While the slow sender is still being waited for, both services serve others.
    expect(answer(await exchange(port, `${V1}x\n`))).toMatchObject({ remote: '192.0.2.7 50000' });
    expect(answer(await exchange(d.port('other'), 'y\n'))).toMatchObject({ remote: expect.stringMatching(/^127\.0\.0\.1 /), first: 'y' });
    expect(d.records.some((r) => r.reason === 'timeout')).toBe(false);
    await slow.gone;
    expect(await d.waitFor((r) => r.reason === 'timeout', 'the slow sender cut off', 15_000)).toMatchObject({ peer: slow.source });
    expect(await state(d, 'praw')).toMatchObject({ proxyErrors: HOSTILE.length + 1, spawns: 1, refused: 0, children: 0 });
  });
});

describe('where the PROXY protocol cannot be used', () => {
  const CONF = `127.0.0.1:pwait stream tcp wait - ${ENV} proxy-env.sh\n127.0.0.1:pok stream tcp nowait - ${ENV} proxy-env.sh\n`;
  const INI = '[service:pwait/tcp]\n\nproxy_protocol = v2\nproxy_from = 127.0.0.1\n';
  const NAMES = ['pwait', 'pok'];

  it('--check reports a wait stream service with proxy_protocol on its line, and exits 78', () => {
    const ini = path.join(dir, 'check.ini');
    const conf = path.join(dir, 'check.conf');
    const services = path.join(dir, 'check.services');
    writeFileSync(ini, INI);
    writeFileSync(conf, CONF);
    writeFileSync(services, NAMES.map((n) => `${n} 0/tcp`).join('\n'));
    const r = spawnSync(process.execPath, [CLI, '--check', '--settings', ini, '--services', services, conf], { encoding: 'utf8' });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(new RegExp(`^${ini}:3: \\[service:pwait/tcp\\] proxy_protocol: "pwait/tcp" at ${conf}:1 is a wait service`, 'm'));
  });

  it('leaves the service out at start and serves the others', async () => {
    const d = await daemon(CONF, NAMES, settingsFile(INI));
    expect(d.records.find((r) => r.code === 'ERR_SETTINGS_PROXY')).toMatchObject({ line: 3 });
    expect(d.records.some((r) => r.msg === 'listening' && r.service === 'pwait')).toBe(false);
    expect(answer(await exchange(d.port('pok'), 'z\n'))).toMatchObject({ first: 'z' });
  });

  it('rejects a reload that turns it on', async () => {
    const settings = settingsFile('[service:pok/tcp]\nnice = 1\n');
    const d = await daemon(CONF, NAMES, settings);
    writeFileSync(settings, INI);
    const from = d.records.length;
    process.kill(d.pid, 'SIGHUP');
    const outcome: LogRecord = await d.waitFor((r) => d.records.indexOf(r) >= from && /^reload|^reloaded/.test(String(r.msg)), 'reload outcome');
    expect(outcome.msg).toMatch(/^reload rejected/);
    expect(d.records.slice(from).some((r) => r.code === 'ERR_SETTINGS_PROXY')).toBe(true);
  });
});

// ---- the real senders ----

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const HAPROXY = has('haproxy');
const CURL = has('curl');
if (!HAPROXY) console.warn('test/e2e/proxy.test.ts: haproxy is not installed (Debian package haproxy): the tests behind HAProxy are skipped');
if (!CURL) console.warn('test/e2e/proxy.test.ts: curl is not installed: the --haproxy-protocol test is skipped');

/** A listening TCP socket on `host`, port 0, for HAProxy to inherit. */
function listener(host: string): { fd: number; port: number } {
  const C = native.constants;
  const fd = native.socket(host.includes(':') ? C.AF_INET6 : C.AF_INET, C.SOCK_STREAM);
  native.bind(fd, host, 0);
  native.listen(fd, 64);
  return { fd, port: (native.getsockname(fd) as { port: number }).port };
}

describe.skipIf(!HAPROXY)('behind HAProxy', () => {
  const NAMES = ['pv1', 'pv2', 'phang', 'pcheck'];
  const CONF = [
    '127.0.0.1:',
    `pv1 stream tcp nowait - ${ENV} proxy-env.sh`,
    `pv2 stream tcp nowait - ${ENV} proxy-env.sh`,
    `phang stream tcp nowait - ${HANG} hang.sh`,
    `pcheck stream tcp nowait - ${ENV} proxy-env.sh`,
    '',
  ].join('\n');
  const allow = path.join(dir, 'hosts.allow');
  const deny = path.join(dir, 'hosts.deny');
  const INI = [
    '[daemon]',
    'tcp_wrappers = yes',
    `hosts_allow = ${allow}`,
    `hosts_deny = ${deny}`,
    ...NAMES.flatMap((s) => [`[service:${s}/tcp]`, `proxy_protocol = ${s === 'pv1' ? 'v1' : 'v2'}`, 'proxy_from = 127.0.0.1', ...(s === 'phang' ? ['per_source = 1'] : [])]),
    '',
  ].join('\n');

  let d: RunningDaemon;
  let haproxy: ChildProcess;
  let haproxyLog = '';
  /** Front-end ports: [127.0.0.1, ::1] for v1 and v2, and one for the per-source service. */
  const fe = { v1: [0, 0], v2: [0, 0], hang: 0 };

  beforeAll(async () => {
    // HAProxy's own address is allowed; one client of it is not.
    writeFileSync(allow, 'ALL: 127.0.0.1\n');
    writeFileSync(deny, 'ALL: 127.0.0.3\n');
    d = await startDaemon(CONF, { services: NAMES.map((n) => `${n} 0/tcp`).join('\n'), args: ['-l', '--settings', settingsFile(INI)] });
    const socks = [listener('127.0.0.1'), listener('::1'), listener('127.0.0.1'), listener('::1'), listener('127.0.0.1')];
    fe.v1 = [socks[0]!.port, socks[1]!.port];
    fe.v2 = [socks[2]!.port, socks[3]!.port];
    fe.hang = socks[4]!.port;
    const cfg = path.join(dir, 'haproxy.cfg');
    writeFileSync(
      cfg,
      [
        'global',
        '  maxconn 256',
        'defaults',
        '  mode tcp',
        '  timeout connect 5s',
        '  timeout client 30s',
        '  timeout server 30s',
        'frontend fe_v1',
        '  bind fd@3',
        '  bind fd@4',
        '  default_backend be_v1',
        'backend be_v1',
        `  server ninetd 127.0.0.1:${d.port('pv1')} send-proxy`,
        'frontend fe_v2',
        '  bind fd@5',
        '  bind fd@6',
        '  default_backend be_v2',
        'backend be_v2',
        `  server ninetd 127.0.0.1:${d.port('pv2')} send-proxy-v2 proxy-v2-options crc32c`,
        'frontend fe_hang',
        '  bind fd@7',
        '  default_backend be_hang',
        'backend be_hang',
        `  server ninetd 127.0.0.1:${d.port('phang')} send-proxy-v2`,
        'backend be_check',
        `  server ninetd 127.0.0.1:${d.port('pcheck')} send-proxy-v2 check inter 300ms`,
        '',
      ].join('\n'),
    );
    haproxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'pipe', 'pipe', ...socks.map((s) => s.fd)] });
    haproxy.stdout!.on('data', (b: Buffer) => (haproxyLog += b.toString()));
    haproxy.stderr!.on('data', (b: Buffer) => (haproxyLog += b.toString()));
    // HAProxy has its copies; the connections wait in the backlog until it accepts them.
    for (const s of socks) native.close(s.fd);
  });

  afterAll(async () => {
    if (haproxy && haproxy.exitCode === null) {
      const exited = new Promise((resolve) => haproxy.once('exit', resolve));
      haproxy.kill('SIGTERM');
      await exited;
    }
    await d?.stop();
  });

  /** One exchange through a HAProxy front end; fails with HAProxy's output when HAProxy died. */
  async function through(port: number, host: string, from: string, line: string): Promise<{ out: Record<string, string>; raw: string }> {
    if (haproxy.exitCode !== null) throw new Error(`haproxy exited (${haproxy.exitCode}):\n${haproxyLog}`);
    const raw = await exchange(port, `${line}\n`, { host, from });
    return { out: answer(raw), raw: raw.toString() };
  }

  it.each([
    ['send-proxy', '127.0.0.2', 'v1' as const, 0, '127.0.0.1'],
    ['send-proxy', '::1', 'v1' as const, 1, '::1'],
    ['send-proxy-v2 (with its CRC32C)', '127.0.0.2', 'v2' as const, 0, '127.0.0.1'],
    ['send-proxy-v2 (with its CRC32C)', '::1', 'v2' as const, 1, '::1'],
  ])('%s: the handler sees a client from %s as itself, and HAProxy as PROXYREMOTEIP', async (_what, from, v, i, host) => {
    const port = fe[v][i]!;
    const { out } = await through(port, host, from, `hello over ${v}`);
    expect(out.remote).toMatch(new RegExp(`^${from.replace(/\./g, '\\.')} \\d+$`));
    expect(out.local).toBe(`${host} ${port}`);
    expect(out.proxy).toMatch(/^127\.0\.0\.1 \d+$/);
    expect(out.first).toBe(`hello over ${v}`);
    const conn = await d.waitFor((r) => r.msg === 'connection' && r.service === `p${v}` && String(r.peer).includes(out.remote!.split(' ')[1]!), 'connection record');
    expect(conn.proxy).toBe(`127.0.0.1:${out.proxy!.split(' ')[1]}`);
  });

  it.each([
    ['send-proxy', 'v1' as const, 'pv1'],
    ['send-proxy-v2', 'v2' as const, 'pv2'],
  ])('%s: a hosts.deny rule refuses the client though HAProxy\'s address is allowed', async (_what, v, service) => {
    const from = d.records.length;
    const { raw } = await through(fe[v][0]!, '127.0.0.1', '127.0.0.3', 'let me in');
    expect(raw).toBe('');
    const rec = await d.waitFor((r) => d.records.indexOf(r) >= from && r.msg === 'refused' && r.service === service, 'refused');
    expect(rec).toMatchObject({ peer: expect.stringMatching(/^127\.0\.0\.3:\d+$/), proxy: expect.stringMatching(/^127\.0\.0\.1:\d+$/), rule: `${deny}:1` });
  });

  it('applies per_source to each client, not to HAProxy', async () => {
    const first = await rawClient(fe.hang, [], { from: '127.0.0.2' });
    const pids: number[] = [];
    try {
      await until(() => /^\d+\n/.test(first.received()), 'the first client served');
      pids.push(Number(first.received().trim()));
      const from = d.records.length;
      const second = await rawClient(fe.hang, [], { from: '127.0.0.2' });
      await second.gone;
      expect(second.received()).toBe('');
      expect(await d.waitFor((r) => d.records.indexOf(r) >= from && r.msg === 'refused' && r.service === 'phang', 'refused')).toMatchObject({
        peer: expect.stringMatching(/^127\.0\.0\.2:/),
        rule: '[service:phang/tcp] per_source',
      });
      const other = await rawClient(fe.hang, [], { from: '127.0.0.5' });
      await until(() => /^\d+\n/.test(other.received()), 'a client from another address served');
      pids.push(Number(other.received().trim()));
      other.sock.destroy();
    } finally {
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      first.sock.destroy();
    }
  });

  it("takes HAProxy's health checks (a v2 LOCAL header, then a reset) as connections from HAProxy itself", async () => {
    const rec = await d.waitFor((r) => r.msg === 'proxy header' && r.service === 'pcheck', 'a health check');
    expect(rec).toMatchObject({ version: 2, command: 'local', peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(rec.proxy).toBe(rec.peer);
    expect(d.records.some((r) => r.service === 'pcheck' && r.code === 'ERR_PROXY_HEADER')).toBe(false);
  });
});

describe.skipIf(!CURL)("curl's --haproxy-protocol", () => {
  const CONF = `127.0.0.1:pcurl stream tcp nowait - ${ENV} proxy-env.sh\n`;
  const INI = '[service:pcurl/tcp]\nproxy_protocol = v1\nproxy_from = 127.0.0.1\n';

  it('sends a v1 header ninetd reads, and its request reaches the handler whole', async () => {
    const d = await daemon(CONF, ['pcurl'], settingsFile(INI));
    const port = d.port('pcurl');
    const r = spawnSync('curl', ['-sS', '--max-time', '10', '--haproxy-protocol', `http://127.0.0.1:${port}/hello`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = answer(`\r\n\r\n${r.stdout}`);
    const [ip, cport] = out.remote!.split(' ');
    expect(ip).toBe('127.0.0.1');
    expect(out).toMatchObject({ local: `127.0.0.1 ${port}`, proxy: `127.0.0.1 ${cport}`, first: 'GET /hello HTTP/1.1\r' });
  });

  it('is refused from an address outside proxy_from', async () => {
    const d = await daemon(CONF, ['pcurl'], settingsFile(INI));
    const r = spawnSync('curl', ['-sS', '--max-time', '10', '--interface', '127.0.0.2', '--haproxy-protocol', `http://127.0.0.1:${d.port('pcurl')}/`], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(await d.waitFor((r2) => r2.msg === 'refused', 'refused')).toMatchObject({ peer: expect.stringMatching(/^127\.0\.0\.2:/), rule: '[service:pcurl/tcp] proxy_from' });
  });
});
