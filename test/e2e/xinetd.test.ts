// Side by side with the real xinetd (Debian package `xinetd`): one directory of xinetd files — the
// package's own /etc/xinetd.d with `disable = no` and ports moved to free test ports, and
// vendor-style snippets (an HTTP health check answered by a shell script, a monitoring agent, tftp
// with server_args, only_from, instances and per_source hit, access_times, a redirect) — is served
// by xinetd (`-dontfork -f`, never as the system service) and then by ninetd, and clients must get
// the same answers and the same refusals. Where ninetd deliberately differs (daytime's format),
// the test checks each side's documented form. Skipped with a message when xinetd is missing.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchange, open } from '../helpers/client.js';
import { CLI, ROOT, startDaemon } from '../helpers/daemon.js';
import { freePort, portFree } from '../helpers/ports.js';
import { udpAsk } from '../helpers/udp.js';
import { until } from '../helpers/wait.js';

const XINETD = '/usr/sbin/xinetd';
const STOCK = '/etc/xinetd.d';
const hasXinetd = existsSync(XINETD) && process.getuid?.() === 0;
const hasTftp = spawnSync('sh', ['-c', 'command -v in.tftpd && command -v tftp'], { stdio: 'ignore' }).status === 0;
if (!hasXinetd) console.warn('xinetd not installed (or not root): skipping the side-by-side tests (.ci/run installs it)');

const svc = (name: string, ...lines: string[]): string => `service ${name}\n{\n${lines.map((l) => `\t${l}\n`).join('')}}\n`;

/** Stock file → the same file with `disable = no` and each service on its test port (type UNLISTED). */
function remapStock(text: string, port: (name: string) => number): string {
  return text.replace(/service (\S+)\s*\{[^}]*\}/g, (body, name: string) =>
    body
      .replace(/\n\s*port\s*=.*/g, '')
      .replace(/disable\s*=\s*yes/, 'disable = no')
      .replace(/(type\s*=\s*INTERNAL)(?! UNLISTED)/, '$1 UNLISTED')
      .replace('{', `{\n\tport = ${port(name)}`),
  );
}

/** exchange(), with a connection error as `<CODE>` instead of a rejection, so both daemons' answers can be compared. */
function ask(port: number, send?: string, opts: Parameters<typeof exchange>[2] = {}): Promise<Buffer> {
  return exchange(port, send, opts).catch((err: NodeJS.ErrnoException) => Buffer.from(`<${err.code ?? err.message}>`));
}

/** What clients saw from one daemon. */
type Observed = Record<string, unknown>;

/** Reads until `want` arrives or the server closes; resolves with what was read. */
function readUntil(sock: net.Socket, want: string): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (): void => resolve(buf);
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => {
      buf += c;
      if (buf.includes(want)) done();
    });
    sock.on('close', done);
    sock.on('error', done);
  });
}

describe.skipIf(!hasXinetd)('xinetd files served by xinetd and by ninetd', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-xinetd-'));
  const tree = path.join(dir, 'xinetd.d');
  const conf = path.join(dir, 'xinetd.conf');
  const tftpRoot = path.join(dir, 'tftp');
  const ports = new Map<string, number>();
  const port = (k: string): number => ports.get(k)!;
  let target: net.Server;
  const results: Record<'xinetd' | 'ninetd', Observed> = { xinetd: {}, ninetd: {} };
  let ninetdCheck = '';
  let xinetdLog = '';

  beforeAll(async () => {
    chmodSync(dir, 0o755);
    mkdirSync(tree);
    mkdirSync(tftpRoot);
    chmodSync(tftpRoot, 0o777);
    writeFileSync(path.join(tftpRoot, 'blob.bin'), Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256)));
    chmodSync(path.join(tftpRoot, 'blob.bin'), 0o644);
    for (const s of ['health.sh', 'agent.sh', 'hold.sh']) {
      copyFileSync(path.join(ROOT, 'test', 'fixtures', 'xinetd', s), path.join(dir, s));
      chmodSync(path.join(dir, s), 0o755);
    }
    // A relay ended by a reset must not become an unhandled error here.
    target = net.createServer((s) => s.on('error', () => {}).pipe(s));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    for (const k of ['echo', 'discard', 'daytime', 'chargen', 'time', 'servers', 'services', 'health', 'agent', 'denied', 'limited', 'persrc', 'closed', 'open', 'fwd', 'tftp']) ports.set(k, await freePort());
    // The package's own files, all of them, with disable = no.
    if (existsSync(STOCK)) for (const f of readdirSync(STOCK)) writeFileSync(path.join(tree, f), remapStock(readFileSync(path.join(STOCK, f), 'utf8'), port));
    // An interval twelve hours away cannot hold the test's run; the whole day must.
    const away = (new Date().getHours() + 12) % 24;
    const unlisted = (name: string, ...lines: string[]): string => svc(name, 'type = UNLISTED', `port = ${port(name)}`, 'socket_type = stream', 'protocol = tcp', 'wait = no', ...lines);
    writeFileSync(path.join(tree, 'vendor-health'), unlisted('health', 'user = nobody', `server = ${dir}/health.sh`, 'only_from = 127.0.0.1 ::1', 'per_source = UNLIMITED', 'log_on_success += HOST'));
    writeFileSync(path.join(tree, 'vendor-agent'), unlisted('agent', 'user = root', `server = ${dir}/agent.sh`, 'server_args = --inetd -v', 'env = AGENT_MODE=inetd', 'flags = NODELAY', 'only_from = 127.0.0.0/8'));
    writeFileSync(path.join(tree, 'vendor-denied'), unlisted('denied', 'user = root', `server = ${dir}/agent.sh`, 'only_from = 10.1.2.3'));
    writeFileSync(path.join(tree, 'vendor-limited'), unlisted('limited', 'user = root', `server = ${dir}/hold.sh`, 'instances = 1'));
    writeFileSync(path.join(tree, 'vendor-persrc'), unlisted('persrc', 'user = root', `server = ${dir}/hold.sh`, 'per_source = 1'));
    writeFileSync(path.join(tree, 'vendor-times'), unlisted('closed', 'user = root', `server = ${dir}/agent.sh`, `access_times = ${away}:00-${away}:30`) + unlisted('open', 'user = root', `server = ${dir}/agent.sh`, 'access_times = 0:00-23:59'));
    writeFileSync(path.join(tree, 'vendor-fwd'), unlisted('fwd', 'user = nobody', `redirect = 127.0.0.1 ${(target.address() as net.AddressInfo).port}`));
    writeFileSync(path.join(tree, 'vendor-tftp'), svc('tftp', 'type = UNLISTED', `port = ${port('tftp')}`, 'socket_type = dgram', 'protocol = udp', 'wait = yes', 'user = root', 'server = /usr/sbin/in.tftpd', `server_args = -s ${tftpRoot} -t 1 -u nobody`));
    // Files includedir must skip: a package manager's leftovers and an editor backup.
    writeFileSync(path.join(tree, 'vendor-agent.dpkg-old'), 'this is not xinetd syntax\n');
    writeFileSync(path.join(tree, 'vendor-agent~'), 'nor is this\n');
    writeFileSync(conf, `defaults\n{\n\tlog_type = FILE ${dir}/services.log\n}\nincludedir ${tree}\n`);

    // xinetd, in the foreground on the test ports.
    const xlog = path.join(dir, 'xinetd.log');
    const x = spawn(XINETD, ['-dontfork', '-f', conf, '-pidfile', path.join(dir, 'xinetd.pid'), '-filelog', xlog], { stdio: 'ignore' });
    try {
      await until(() => existsSync(xlog) && readFileSync(xlog, 'utf8').includes('Started working'), 'xinetd to start');
      results.xinetd = await observe();
    } finally {
      x.kill('SIGTERM');
      await once(x, 'exit');
    }
    xinetdLog = readFileSync(xlog, 'utf8');
    // A wait-mode handler outlives xinetd: in.tftpd holds the tftp socket until its -t 1 runs out.
    await until(async () => (await Promise.all([...ports.values()].map(portFree))).every(Boolean), "xinetd's handlers to let go of the test ports");

    // ninetd on the same file.
    const check = spawnSync(process.execPath, [CLI, '--check', conf], { encoding: 'utf8' });
    ninetdCheck = check.stderr;
    const d = await startDaemon(readFileSync(conf, 'utf8'));
    try {
      results.ninetd = await observe();
    } finally {
      await d.stop();
    }
  }, 120_000);

  afterAll(() => {
    target?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every client of the suite, against whichever daemon runs now. */
  async function observe(): Promise<Observed> {
    const o: Observed = {};
    o.echoTcp = (await ask(port('echo'), 'hello\n')).toString();
    o.echoUdp = (await udpAsk(port('echo'), 'ping')).toString();
    o.chargenLine = (await ask(port('chargen'), undefined, { end: false, max: 74 })).subarray(0, 74).toString('latin1');
    o.chargenUdpLength = (await udpAsk(port('chargen'), '')).toString('latin1').split('\r\n')[0]!.length;
    o.discard = (await ask(port('discard'), 'dropped')).length;
    const t = await ask(port('time'));
    o.timeTcp = t.length === 4 && Math.abs(t.readUInt32BE(0) - 2_208_988_800 - Date.now() / 1000) < 30;
    const tu = await udpAsk(port('time'), '');
    o.timeUdp = tu.length === 4 && Math.abs(tu.readUInt32BE(0) - 2_208_988_800 - Date.now() / 1000) < 30;
    o.daytime = (await ask(port('daytime'))).toString();
    o.health = (await ask(port('health'), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).toString();
    o.agent = (await ask(port('agent'))).toString();
    o.denied = (await ask(port('denied'))).toString();
    o.closedTimes = (await ask(port('closed'))).toString();
    o.openTimes = (await ask(port('open'))).toString();
    const f = await open(port('fwd'));
    f.write('through the relay');
    o.fwd = await f.nextData();
    f.end();
    // The client ends its sending first: a relay that keeps the other direction open still answers.
    o.fwdHalfClose = (await ask(port('fwd'), 'after the end')).toString();
    // per_source = 1: a second client from the same address while the first holds its handler.
    const p1 = await open(port('persrc'));
    await p1.nextData();
    o.perSourceSecond = (await ask(port('persrc'))).toString();
    p1.end();
    // instances = 1: the second client is served once the first has gone.
    const l1 = await open(port('limited'));
    await l1.nextData();
    const l2 = net.connect(port('limited'), '127.0.0.1');
    const second = readUntil(l2, 'held');
    await once(l2, 'connect');
    l1.end();
    o.instancesSecond = await second;
    l2.end();
    if (hasTftp) {
      const out = path.join(dir, `got-${Date.now()}.bin`);
      // A failure is an observation too: the comparison below names the daemon that failed.
      o.tftp = await new Promise<unknown>((resolve) =>
        execFile('tftp', ['-m', 'binary', '127.0.0.1', String(port('tftp')), '-c', 'get', 'blob.bin', out], { timeout: 30_000 }, (err, stdout, stderr) =>
          resolve(err ? `tftp failed: ${err.message.trim()} ${stdout} ${stderr}` : readFileSync(out).equals(readFileSync(path.join(tftpRoot, 'blob.bin')))),
        ),
      );
    }
    return o;
  }

  it('converts the whole tree to inetd.conf and [service:] sections that serve as many services, and back', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    const services = path.join(dir, 'no-services');
    writeFileSync(services, '');
    const count = (out: string): number => Number(/ok, (\d+) services?/.exec(out)?.[1] ?? -1);
    const direct = run('--check', '--services', services, conf);
    const ini = path.join(dir, 'converted.ini');
    const inetd = path.join(dir, 'converted.conf');
    const conv = run('convert', '--services', services, '--settings-out', ini, conf);
    // The stock servers and services entries are refused, so the tree itself does not convert;
    // without them it does.
    expect(conv.status).toBe(78);
    for (const f of ['servers', 'services']) rmSync(path.join(tree, f), { force: true });
    const clean = run('--check', '--services', services, conf);
    expect(clean.status).toBe(0);
    const conv2 = run('convert', '--services', services, '--settings-out', ini, conf);
    expect(conv2.status).toBe(0);
    writeFileSync(inetd, conv2.stdout);
    const viaInetd = run('--check', '--services', services, '--settings', ini, inetd);
    expect([viaInetd.status, count(viaInetd.stdout)]).toEqual([0, count(clean.stdout)]);
    const back = run('convert', '--services', services, '--settings', ini, inetd);
    const again = path.join(dir, 'again.conf');
    writeFileSync(again, back.stdout);
    const againCheck = run('--check', '--services', services, again);
    expect([againCheck.stderr, count(againCheck.stdout)]).toEqual(['', count(clean.stdout)]);
    expect(direct.status).toBe(78);
  });

  it('the stock files: echo, chargen, discard and time answer the same over tcp and udp', () => {
    for (const k of ['echoTcp', 'echoUdp', 'chargenUdpLength', 'discard', 'timeTcp', 'timeUdp']) expect([k, results.ninetd[k]]).toEqual([k, results.xinetd[k]]);
    // chargen: 72 characters of the rotating pattern and CR LF under both; xinetd starts at "!",
    // ninetd at " " as the BSD inetds and RFC 864's example do (docs/migrating-from-xinetd.md).
    for (const who of ['xinetd', 'ninetd'] as const) expect(results[who].chargenLine).toMatch(/^[ -~]{72}\r\n$/);
    expect(results.ninetd.chargenLine).toMatch(/^ !"#/);
    expect(results.ninetd.echoTcp).toBe('hello\n');
    expect(results.ninetd.timeTcp).toBe(true);
  });

  it('daytime: both tell the time; the format differs as documented (xinetd "02 DEC 2026 21:14:01 UTC", ninetd ctime)', () => {
    expect(results.xinetd.daytime).toMatch(/^\d\d [A-Z]{3} \d{4} \d\d:\d\d:\d\d \S+\r\n$/);
    expect(results.ninetd.daytime).toMatch(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/);
  });

  it('the stock servers and services entries: refused by both, by name', () => {
    expect(xinetdLog).toMatch(/No such internal service: servers/);
    expect(xinetdLog).toMatch(/No such internal service: services/);
    expect(ninetdCheck).toMatch(/servers:\d+: .*"servers"/);
    expect(ninetdCheck).toMatch(/services:\d+: .*"services"/);
  });

  it('vendor snippets: health check, agent, redirect and tftp answer the same', () => {
    for (const k of ['health', 'agent', 'fwd', 'openTimes', 'tftp']) expect([k, results.ninetd[k]]).toEqual([k, results.xinetd[k]]);
    expect(results.ninetd.health).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    expect(results.ninetd.agent).toBe('<<<agent>>>\nargs: --inetd -v\nAGENT_MODE=inetd\nargv0: agent.sh\n');
    expect(results.ninetd.fwd).toBe('through the relay');
    if (hasTftp) expect(results.ninetd.tftp).toBe(true);
  });

  it('redirect after the client half-closes: xinetd drops the answer, ninetd relays it (documented)', () => {
    expect(results.xinetd.fwdHalfClose).toBe('');
    expect(results.ninetd.fwdHalfClose).toBe('after the end');
  });

  it('refusals: only_from, access_times and per_source close the connection unanswered under both', () => {
    for (const k of ['denied', 'closedTimes', 'perSourceSecond']) {
      expect([k, results.xinetd[k]]).toEqual([k, '']);
      expect([k, results.ninetd[k]]).toEqual([k, '']);
    }
  });

  it('instances: xinetd drops a client beyond the limit; ninetd keeps it waiting and serves it once a slot frees (documented)', () => {
    expect(results.xinetd.instancesSecond).toBe('');
    expect(results.ninetd.instancesSecond).toBe('held\n');
  });
});
