// Who may connect, through the real daemon: hosts.allow/hosts.deny, per-service rules,
// per-source limits and banners, with clients on two loopback addresses (127.0.0.1, 127.0.0.2)
// and on ::1.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { HostsFiles, type GateRequest } from '../../src/access/gate.js';
import { exchange, open } from '../helpers/client.js';
import { FIXTURES, FIXTURE_BIN, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-access-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SERVICES = ['t-hello', 't-hang', 't46', 'tcpmux'].map((n) => `${n} 0/tcp`).join('\n');
const HELLO = `t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`;

const running: RunningDaemon[] = [];
async function daemon(config: string, ini: string, args: string[] = []): Promise<RunningDaemon> {
  const file = path.join(dir, `ninetd-${running.length}-${Date.now()}.ini`);
  writeFileSync(file, ini);
  const d = await startDaemon(`${config}\n`, { services: SERVICES, args: ['--settings', file, ...args] });
  running.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

const served = async (port: number, from: string, host = '*'): Promise<boolean> =>
  (await exchange(port, undefined, { from, host: host === '*' ? (from.includes(':') ? '::1' : '127.0.0.1') : host })).toString() === 'hello\n';

describe('tcp_wrappers hosts.allow and hosts.deny', () => {
  const allow = path.join(dir, 'hosts.allow');
  const deny = path.join(dir, 'hosts.deny');
  const wrappers = `[daemon]\ntcp_wrappers = yes\nhosts_allow = ${allow}\nhosts_deny = ${deny}\n`;

  it('refuse what hosts.deny names, serve the rest, and follow file changes without a reload', async () => {
    writeFileSync(allow, '# nothing allowed explicitly\n');
    writeFileSync(deny, 'hello: 127.0.0.2\n');
    const d = await daemon(`*:${HELLO}`, wrappers);
    const port = d.port('t-hello');
    expect(await served(port, '127.0.0.1')).toBe(true);
    expect(await served(port, '127.0.0.2')).toBe(false);
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ rule: `${deny}:1`, peer: expect.stringMatching(/^127\.0\.0\.2:/) });
    // EXCEPT, and a file rewritten in place: the next connection sees it.
    writeFileSync(deny, '# everyone but .2\nALL: ALL EXCEPT 127.0.0.2\n');
    expect(await served(port, '127.0.0.1')).toBe(false);
    expect(await served(port, '127.0.0.2')).toBe(true);
    // hosts.allow is read first.
    writeFileSync(allow, 'hello, other: 127.0.0.1\n');
    expect(await served(port, '127.0.0.1')).toBe(true);
  });

  it('treat a malformed rule as a non-match, never as allow-all, and report it by file and line', async () => {
    writeFileSync(allow, 'ALL: @trusted\nALL: 127.0.0.1 : spawn /bin/echo %z\n');
    writeFileSync(deny, 'ALL: ALL\n');
    const d = await daemon(`*:${HELLO}`, wrappers);
    const port = d.port('t-hello');
    expect(await served(port, '127.0.0.1')).toBe(false);
    expect(await served(port, '127.0.0.2')).toBe(false);
    const errs = d.records.filter((r) => typeof r.code === 'string' && (r.code as string).startsWith('ERR_ACCESS_'));
    expect(errs.map((r) => [r.file, r.line])).toEqual([
      [allow, 1],
      [allow, 2],
    ]);
  });

  it('refuse the clients a hosts.deny rule names even when that rule cannot be read (fail closed)', async () => {
    writeFileSync(allow, '');
    // Before: read as "matches nothing", so 127.0.0.1 was served. libwrap refuses.
    writeFileSync(deny, 'hello: 127.0.0.2 : frobnicate\nother: ALL\n');
    const d = await daemon(`*:${HELLO}`, wrappers);
    const port = d.port('t-hello');
    expect(await served(port, '127.0.0.1')).toBe(false);
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ rule: `${deny}:1` });
    expect(d.records.find((r) => r.code === 'ERR_ACCESS_OPTION')).toMatchObject({ file: deny, line: 1 });
    // A rule for another daemon refuses nobody here; one whose daemon list is unreadable refuses all.
    writeFileSync(deny, 'other: ALL : frobnicate\n');
    expect(await served(port, '127.0.0.1')).toBe(true);
    writeFileSync(deny, 'hel!lo: 127.0.0.2\n');
    expect(await served(port, '127.0.0.1')).toBe(false);
  });

  it('refuse every client while a hosts file exists but cannot be read, and serve again once it can', async () => {
    writeFileSync(allow, '');
    rmSync(deny, { force: true });
    mkdirSync(deny); // exists, and reading it fails (EISDIR), even for root
    try {
      const d = await daemon(`*:${HELLO}`, wrappers);
      const port = d.port('t-hello');
      expect(await served(port, '127.0.0.1')).toBe(false);
      expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ rule: `${deny}: unreadable` });
      expect(d.records.find((r) => r.code === 'ERR_ACCESS_READ')).toMatchObject({ file: deny });
      rmSync(deny, { recursive: true });
      writeFileSync(deny, 'ALL: 127.0.0.2\n');
      expect(await served(port, '127.0.0.1')).toBe(true);
      expect(await served(port, '127.0.0.2')).toBe(false);
    } finally {
      rmSync(deny, { recursive: true, force: true });
    }
  });

  it('match host names and LOCAL only when reverse lookups are on', async () => {
    writeFileSync(allow, '');
    writeFileSync(deny, 'ALL: LOCAL\n');
    const off = await daemon(`*:${HELLO}`, wrappers);
    // Without lookups no client has a name, so LOCAL (a name without a dot) matches nobody.
    expect(await served(off.port('t-hello'), '127.0.0.1')).toBe(true);
    const on = await daemon(`*:${HELLO}`, `${wrappers}reverse_lookup = 2\n`);
    const port = on.port('t-hello');
    // 127.0.0.1 is "localhost" in /etc/hosts, forward-confirmed; 127.0.0.2 has no name.
    expect(await served(port, '127.0.0.1')).toBe(false);
    expect(await served(port, '127.0.0.2')).toBe(true);
    writeFileSync(deny, 'ALL: UNKNOWN\n');
    expect(await served(port, '127.0.0.1')).toBe(true);
    expect(await served(port, '127.0.0.2')).toBe(false);
  });

  it('give tcpmux sub-services the client name the multiplexer looked up', async () => {
    writeFileSync(allow, '');
    writeFileSync(deny, 'tcpmux/hello: LOCAL\n');
    const d = await daemon(['*:', 'tcpmux stream tcp nowait - internal', `tcpmux/+hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`].join('\n'), `${wrappers}reverse_lookup = 2\n`);
    const port = d.port('tcpmux');
    expect((await exchange(port, 'hello\r\n', { from: '127.0.0.2' })).toString()).toBe('+Go\r\nhello\n');
    expect((await exchange(port, 'hello\r\n', { from: '127.0.0.1' })).toString()).toBe('-Service not available\r\n');
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ service: 'tcpmux/hello', rule: `${deny}:1` });
  });

  it('allow and deny options decide within one file', async () => {
    writeFileSync(allow, 'ALL: 127.0.0.2 : deny\nALL: ALL : allow\n');
    writeFileSync(deny, '');
    const d = await daemon(`*:${HELLO}`, wrappers);
    expect(await served(d.port('t-hello'), '127.0.0.1')).toBe(true);
    expect(await served(d.port('t-hello'), '127.0.0.2')).toBe(false);
  });
});

describe('HostsFiles.decide: the action and Effects dispatch applies', () => {
  const allow = path.join(dir, 'decide.allow');
  const deny = path.join(dir, 'decide.deny');
  const records: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => records.push(JSON.parse(line) as Record<string, unknown>) });
  const gate = () => new HostsFiles(allow, deny, log);
  const req = (over: Partial<GateRequest> = {}): GateRequest => ({ daemons: ['in.ftpd', 'ftp'], clientIp: '192.0.2.1', ...over });

  it.each([
    { what: 'no rule: serve, no effects', allowText: '', denyText: '', r: {}, want: { action: 'serve', rule: null, effects: {} } },
    { what: 'a deny rule: refuse', allowText: '', denyText: 'ALL: ALL', r: {}, want: { action: 'refuse', rule: `${deny}:1`, effects: {} } },
    {
      what: 'spawn in hosts.deny runs and still refuses',
      allowText: '',
      denyText: 'ALL: ALL: spawn (logger %d %a) &',
      r: {},
      want: { action: 'refuse', rule: `${deny}:1`, effects: { spawn: ['(logger in.ftpd 192.0.2.1) &'] } },
    },
    {
      what: 'twist in hosts.deny replaces the handler',
      allowText: '',
      denyText: 'ALL: ALL: twist /bin/echo 421 %h',
      r: { client: { name: 'evil;reboot', mismatch: false } },
      want: { action: 'twist', rule: `${deny}:1`, effects: { twist: '/bin/echo 421 evil_reboot' } },
    },
    {
      what: 'options of an allow rule apply to the handler',
      allowText: 'in.ftpd: 192.0.2.: setenv WHO %a: umask 077: user nobody.nogroup: nice 5: keepalive: linger 3: severity auth.warning: banners /b',
      denyText: 'ALL: ALL',
      r: {},
      want: {
        action: 'serve',
        rule: `${allow}:1`,
        effects: { env: { WHO: '192.0.2.1' }, umask: 0o77, user: 'nobody', group: 'nogroup', nice: 5, keepalive: true, linger: 3, severity: { level: 'warn', facility: 'auth' }, bannersDir: '/b' },
      },
    },
    {
      what: 'daemon@host matches on the local address',
      allowText: '',
      denyText: 'in.ftpd@198.51.100.7: ALL: spawn echo %A %s',
      r: { serverIp: '198.51.100.7' },
      want: { action: 'refuse', rule: `${deny}:1`, effects: { spawn: ['echo 198.51.100.7 in.ftpd@198.51.100.7'] } },
    },
    { what: 'daemon@host does not match another local address', allowText: '', denyText: 'in.ftpd@198.51.100.7: ALL', r: { serverIp: '198.51.100.8' }, want: { action: 'serve', rule: null, effects: {} } },
    { what: 'a broken hosts.deny rule refuses', allowText: '', denyText: 'ftp: ALL: spawn %z', r: {}, want: { action: 'refuse', rule: `${deny}:1`, effects: {} } },
  ])('$what', ({ allowText, denyText, r, want }) => {
    writeFileSync(allow, allowText);
    writeFileSync(deny, denyText);
    expect(gate().decide(req(r))).toEqual({ ...want, effects: { spawn: [], env: {}, ...want.effects }, facts: expect.objectContaining({ daemon: 'in.ftpd', pid: process.pid }) });
  });

  it('keeps refusal() for callers that apply no Effects: twist refuses there', () => {
    writeFileSync(allow, 'ALL: 192.0.2.1: twist /bin/echo hi\nALL: 192.0.2.2: spawn x');
    writeFileSync(deny, '');
    expect(gate().refusal(['in.ftpd'], '192.0.2.1')).toBe(`${allow}:1`);
    expect(gate().refusal(['in.ftpd'], '192.0.2.2')).toBeNull();
  });
});

describe('per-service rules in [service:NAME/PROTO]', () => {
  it('only_from and no_access, for IPv4 and IPv6 clients of a dual-stack service', async () => {
    const d = await daemon(`*:t46 stream tcp46 nowait - ${FIXTURE_BIN}/hello hello`, '[service:t46/tcp46]\nonly_from = 127.0.0.0/8 [::1]\nno_access = 127.0.0.2\n');
    const port = d.port('t46');
    expect(await served(port, '127.0.0.1')).toBe(true);
    expect(await served(port, '::1')).toBe(true);
    expect(await served(port, '127.0.0.2')).toBe(false);
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ rule: '[service:t46/tcp46] no_access' });
  });

  it('only_from refuses every address it does not list, and the refusals are counted', async () => {
    const d = await daemon(`*:${HELLO}`, '[service:t-hello/tcp]\nonly_from = 127.0.0.2\n');
    expect(await served(d.port('t-hello'), '127.0.0.1')).toBe(false);
    expect(await served(d.port('t-hello'), '127.0.0.2')).toBe(true);
    process.kill(d.pid, 'SIGUSR2');
    const dump = await d.waitFor((r) => r.msg === 'state', 'state');
    expect(dump.services).toEqual([expect.objectContaining({ service: 't-hello', refused: 1 })]);
  });

  it('per_source limits handlers per client address, others still get in', async () => {
    const d = await daemon(`*:t-hang stream tcp nowait - ${FIXTURES}/hang.sh hang`, '[service:t-hang/tcp]\nper_source = 1\n');
    const port = d.port('t-hang');
    const first = await open(port, '127.0.0.1', '127.0.0.1');
    const pid1 = Number((await first.nextData()).trim());
    const second = (await exchange(port, undefined, { from: '127.0.0.1' })).toString();
    expect(second).toBe('');
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ rule: '[service:t-hang/tcp] per_source' });
    const other = await open(port, '127.0.0.1', '127.0.0.2');
    const pid2 = Number((await other.nextData()).trim());
    expect(pid2).toBeGreaterThan(0);
    for (const p of [pid1, pid2]) process.kill(p, 'SIGKILL');
    first.destroy();
    other.destroy();
  });

  it('cps limits connections per minute per client address', async () => {
    const d = await daemon(`*:${HELLO}`, '[service:t-hello/tcp]\ncps = 2\n');
    const port = d.port('t-hello');
    expect([await served(port, '127.0.0.1'), await served(port, '127.0.0.1'), await served(port, '127.0.0.1')]).toEqual([true, true, false]);
    expect(await served(port, '127.0.0.2')).toBe(true);
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ rule: '[service:t-hello/tcp] cps' });
  });

  it('sends banner before the handler and banner_fail to a refused client', async () => {
    writeFileSync(path.join(dir, 'welcome'), 'welcome\n');
    writeFileSync(path.join(dir, 'go-away'), 'go away\n');
    const d = await daemon(`*:${HELLO}`, `[service:t-hello/tcp]\nno_access = 127.0.0.2\nbanner = ${dir}/welcome\nbanner_fail = ${dir}/go-away\n`);
    const port = d.port('t-hello');
    expect((await exchange(port, undefined, { from: '127.0.0.1' })).toString()).toBe('welcome\nhello\n');
    expect((await exchange(port, undefined, { from: '127.0.0.2' })).toString()).toBe('go away\n');
  });

  it('sends a banner without waiting, and never one larger than the banner cap', async () => {
    // Banners are capped at 64 KiB (less than a socket buffer), so a client that never reads one
    // cannot stall the supervisor; a larger file is refused when it is read, and logged.
    const big = Buffer.alloc(16 << 20, 'b');
    writeFileSync(path.join(dir, 'big'), big);
    const fits = Buffer.alloc(60 << 10, 'f');
    writeFileSync(path.join(dir, 'fits'), fits);
    const d = await daemon(`*:${HELLO}`, `[service:t-hello/tcp]\nbanner = ${dir}/big\n`);
    expect(await d.waitFor((r) => typeof r.msg === 'string' && r.msg.startsWith(`banner ${dir}/big:`), 'banner error')).toMatchObject({ level: 50 });
    expect((await exchange(d.port('t-hello'))).toString()).toBe('hello\n');
    const d2 = await daemon(`*:${HELLO}`, `[service:t-hello/tcp]\nbanner = ${dir}/fits\n`);
    const port = d2.port('t-hello');
    const idle = net.connect({ port, host: '127.0.0.1' });
    idle.pause();
    idle.on('error', () => {});
    try {
      await once(idle, 'connect');
      const got = await exchange(port, undefined, { from: '127.0.0.2' });
      expect(got.equals(Buffer.concat([fits, Buffer.from('hello\n')]))).toBe(true);
    } finally {
      idle.destroy();
    }
  });

  it('-s and -C apply to services that set no limit of their own', async () => {
    const d = await daemon(`*:${HELLO}`, '[daemon]\n', ['-C', '1']);
    const port = d.port('t-hello');
    expect([await served(port, '127.0.0.1'), await served(port, '127.0.0.1')]).toEqual([true, false]);
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ rule: '-C' });
  });

  it("names the inetd.conf entry's per-ip-per-minute when that limit refuses", async () => {
    const d = await daemon(`*:t-hello stream tcp nowait/0/1 - ${FIXTURE_BIN}/hello hello`, '[daemon]\n');
    const port = d.port('t-hello');
    expect([await served(port, '127.0.0.1'), await served(port, '127.0.0.1')]).toEqual([true, false]);
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ rule: `${d.config}:1 per-ip-per-minute` });
  });
});

describe('wait datagram services', () => {
  it('read and drop a datagram from a refused sender, start nothing, and serve the next allowed one', async () => {
    const { udpAsk, udpSendFrom } = await import('../helpers/udp.js');
    const file = path.join(dir, 'udp.ini');
    writeFileSync(file, '[service:t-once/udp]\nno_access = 127.0.0.2\n');
    const d = await startDaemon(`127.0.0.1:t-once dgram udp wait - ${FIXTURES}/udp-once.py udp-once\n`, {
      services: 't-once 0/udp\n',
      args: ['--settings', file],
    });
    running.push(d);
    const port = d.port('t-once');
    await udpSendFrom('127.0.0.2', 0, port, '127.0.0.1', 'from .2');
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused')).toMatchObject({ rule: '[service:t-once/udp] no_access' });
    // The refused datagram is gone: the next handler gets the allowed one.
    expect((await udpAsk(port, 'allowed')).toString().split(' ')[1]).toBe('allowed');
    process.kill(d.pid, 'SIGUSR2');
    const dump = await d.waitFor((r) => r.msg === 'state', 'state');
    expect(dump.services).toEqual([expect.objectContaining({ refused: 1, spawns: 1 })]);
  });
});
