// rpc/udp and rpc/tcp entries through the real daemon, with the real programs: Debian's rpcbind,
// rpc.rstatd and rpc.rusersd (unpacked from their packages, whose scripts never run), and the
// clients rpcinfo, rup and rusers. Each test gets its own network and mount namespace, since
// rpcbind binds port 111 and /run/rpcbind.sock.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI, FIXTURE_BIN, startDaemon, type LogRecord, type RunningDaemon } from '../helpers/daemon.js';
import { RpcbindClient } from '../../src/rpc/client.js';
import { missingProgram, Sandbox, sandboxSkipReason } from './sandbox.js';

/** The rpc database the tests name programs from (the machine's /etc/rpc is not relied on). */
const RPC_DB = ['rstatd\t\t100001\trstat rstat_svc rup perfmeter', 'rusersd\t\t100002\trusers', 'nullprog\t300019', ''].join('\n');

const skip = sandboxSkipReason(['rpcbind', 'rpcinfo']);
if (skip) console.warn(`test/rpc/services.test.ts: skipping the tests with real rpc programs: ${skip}`);

/** Where the unpacked rpc.rstatd and rpc.rusersd are, or why they are not. */
let debs: { dir: string; rstatd: string; rusersd: string } | { missing: string } = { missing: 'not fetched' };
let work: string;
let rpcFile: string;

/** Fetches Debian's rstatd and rusersd packages and unpacks them, without installing (no maintainer scripts run). */
function fetchDebs(): typeof debs {
  const client = missingProgram(['rup', 'rusers', 'apt-get', 'dpkg']);
  if (client) return { missing: `needs ${client} (see .ci/run)` };
  const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-rpc-debs-'));
  // Handlers run as nobody: the directories must be searchable by everyone.
  chmodSync(dir, 0o755);
  const download = spawnSync('apt-get', ['download', 'rstatd', 'rusersd'], { cwd: dir, encoding: 'utf8' });
  if (download.status !== 0) return { missing: `apt-get download rstatd rusersd failed: ${download.stderr.trim() || download.error?.message}` };
  for (const deb of readdirSync(dir).filter((f) => f.endsWith('.deb'))) execFileSync('dpkg', ['-x', path.join(dir, deb), path.join(dir, 'root')]);
  const rstatd = path.join(dir, 'root', 'usr', 'sbin', 'rpc.rstatd');
  const rusersd = path.join(dir, 'root', 'usr', 'sbin', 'rpc.rusersd');
  if (!existsSync(rstatd) || !existsSync(rusersd)) return { missing: 'the packages hold no rpc.rstatd or rpc.rusersd' };
  for (const d of ['root', 'root/usr', 'root/usr/sbin']) chmodSync(path.join(dir, d), 0o755);
  return { dir, rstatd, rusersd };
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'ninetd-rpc-'));
  rpcFile = path.join(work, 'rpc');
  writeFileSync(rpcFile, RPC_DB);
  if (!skip) debs = fetchDebs();
  if ('missing' in debs && !skip) console.warn(`test/rpc/services.test.ts: skipping the rstatd and rusersd tests: ${debs.missing}`);
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  if ('dir' in debs) rmSync(debs.dir, { recursive: true, force: true });
});

describe('ninetd --check', () => {
  it('shows the program and versions of each rpc entry', () => {
    const conf = path.join(work, 'check.conf');
    writeFileSync(conf, `rstatd/1-5 dgram rpc/udp wait nobody /bin/true\n300019/1 stream rpc/tcp46 nowait nobody /bin/true\n`);
    const services = path.join(work, 'services');
    writeFileSync(services, '');
    const out = spawnSync(process.execPath, [CLI, '--check', '--rpc', rpcFile, '--services', services, conf], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout.split('\n')).toEqual([
      `${conf}: ok, 2 services`,
      `${conf}:1: rpc program 100001 (rstatd) versions 1-5 over udp, port picked when bound`,
      `${conf}:2: rpc program 300019 version 1 over tcp and tcp6, port picked when bound`,
      '',
    ]);
  });
});

describe.skipIf(skip !== null)('rpc services with a real rpcbind', () => {
  let sandbox: Sandbox;
  const running: RunningDaemon[] = [];

  beforeEach(async () => {
    sandbox = await Sandbox.open();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((d) => d.stop()));
    await sandbox.close();
  });

  /** Starts ninetd inside the sandbox. */
  async function daemon(config: string, args: string[] = []): Promise<RunningDaemon> {
    const d = await startDaemon(config, { args: ['-l', '--rpc', rpcFile, ...args], wrap: sandbox.prefix() });
    running.push(d);
    return d;
  }

  const registered = (d: RunningDaemon, service: string) => d.waitFor((r) => r.msg === 'registered with rpcbind' && r.service === service, `${service} registered`);
  const connection = (d: RunningDaemon, service: string) => d.waitFor((r) => r.msg === 'connection' && r.service === service, `a ${service} handler run`);

  async function dump(d: RunningDaemon): Promise<LogRecord[]> {
    const before = d.records.length;
    process.kill(d.pid, 'SIGUSR2');
    const rec = await d.waitFor((r) => r.msg === 'state' && d.records.indexOf(r) >= before, 'state dump');
    return rec.services as LogRecord[];
  }

  it('serves rpc.rstatd and rpc.rusersd registered with rpcbind; rup and rusers answer through them', async (ctx) => {
    if ('missing' in debs) return ctx.skip(debs.missing);
    await sandbox.startRpcbind();
    const d = await daemon(`rstatd/1-5 dgram rpc/udp wait nobody ${debs.rstatd} rpc.rstatd\nrusersd/2-3 dgram rpc/udp wait nobody ${debs.rusersd} rpc.rusersd\n`);
    await registered(d, 'rstatd');
    await registered(d, 'rusersd');
    const rstat = d.port('rstatd');
    const rusers = d.port('rusersd');
    expect(await sandbox.portmapList()).toEqual([
      ...[1, 2, 3, 4, 5].map((v) => [100001, v, 'udp', rstat]),
      [100002, 2, 'udp', rusers],
      [100002, 3, 'udp', rusers],
    ]);

    const rup = await sandbox.run('rup', ['localhost']);
    expect(rup.stderr).toBe('');
    expect(rup.stdout).toMatch(/^localhost\s+.*\bup\b.*\bload\b/);
    const users = await sandbox.run('rusers', ['-a', 'localhost']);
    expect(users.stderr).toBe('');
    expect(users.stdout).toMatch(/^localhost\b/);
    await connection(d, 'rstatd');
    await connection(d, 'rusersd');

    const services = await dump(d);
    expect(services.find((s) => s.service === 'rstatd')).toMatchObject({ proto: 'rpc/udp', rpc: { program: 100001, versions: '1-5', netids: ['udp'], port: rstat, registered: true } });
  });

  it('serves an rpc/tcp entry with a handler per connection, found through rpcbind', async () => {
    await sandbox.startRpcbind();
    const d = await daemon(`nullprog/1-2 stream rpc/tcp nowait nobody ${FIXTURE_BIN}/rpc-null rpc-null\n`);
    await registered(d, 'nullprog');
    expect(await sandbox.portmapList()).toEqual([
      [300019, 1, 'tcp', d.port('nullprog')],
      [300019, 2, 'tcp', d.port('nullprog')],
    ]);
    for (const version of ['1', '2']) {
      const out = await sandbox.run('rpcinfo', ['-t', 'localhost', '300019', version]);
      expect(out.stdout).toBe(`program 300019 version ${version} ready and waiting\n`);
    }
    await connection(d, 'nullprog');
  });

  it('registers a dual-stack rpc/tcp46 entry under tcp and tcp6, reachable over both', async () => {
    await sandbox.startRpcbind();
    const d = await daemon(`nullprog/1 stream rpc/tcp46 nowait nobody ${FIXTURE_BIN}/rpc-null rpc-null\n`);
    await registered(d, 'nullprog');
    const { stdout } = await sandbox.run('rpcinfo', ['-s']);
    expect(stdout).toMatch(/\b300019\s+1\s+tcp6?,tcp6?\s/);
    for (const [netid, host] of [['tcp', '127.0.0.1'], ['tcp6', '::1']]) {
      const out = await sandbox.run('rpcinfo', ['-T', netid!, host!, '300019', '1']);
      expect(out.stdout).toBe('program 300019 version 1 ready and waiting\n');
    }
  });

  it('applies a [service:NAME/rpc/tcp] section', async () => {
    await sandbox.startRpcbind();
    const settings = path.join(work, 'rpc-section.ini');
    writeFileSync(settings, '[service:nullprog/rpc/tcp]\nonly_from = 10.0.0.0/8\n');
    const d = await daemon(`nullprog/1 stream rpc/tcp nowait nobody ${FIXTURE_BIN}/rpc-null rpc-null\n`, ['--settings', settings]);
    await registered(d, 'nullprog');
    expect((await sandbox.run('rpcinfo', ['-t', 'localhost', '300019', '1'])).code).not.toBe(0);
    await d.waitFor((r) => r.msg === 'refused' && r.service === 'nullprog' && String(r.rule).includes('[service:nullprog/rpc/tcp]'), 'the section to refuse');
    expect(d.records.some((r) => String(r.msg).includes('matches no service'))).toBe(false);
  });

  it('unregisters an entry a reload removes, and keeps the others registered', async () => {
    await sandbox.startRpcbind();
    const keep = `nullprog/1 stream rpc/tcp nowait nobody ${FIXTURE_BIN}/rpc-null rpc-null\n`;
    const d = await daemon(`${keep}300020/1-2 stream rpc/tcp nowait nobody ${FIXTURE_BIN}/rpc-null rpc-null\n`);
    await registered(d, 'nullprog');
    await registered(d, '300020');
    expect((await sandbox.portmapList()).map((r) => r[0])).toEqual([300019, 300020, 300020]);
    d.writeConfig(keep);
    process.kill(d.pid, 'SIGHUP');
    await d.waitFor((r) => r.msg === 'unregistered from rpcbind' && r.service === '300020', '300020 unregistered');
    expect(await sandbox.portmapList()).toEqual([[300019, 1, 'tcp', d.port('nullprog')]]);
  });

  it('moves the registration to the new socket when a reload widens the version range', async () => {
    await sandbox.startRpcbind();
    const d = await daemon(`nullprog/1 stream rpc/tcp nowait nobody ${FIXTURE_BIN}/rpc-null rpc-null\n`);
    await registered(d, 'nullprog');
    const before = d.records.length;
    d.writeConfig(`nullprog/1-2 stream rpc/tcp nowait nobody ${FIXTURE_BIN}/rpc-null rpc-null\n`);
    process.kill(d.pid, 'SIGHUP');
    const again = await d.waitFor((r) => r.msg === 'registered with rpcbind' && d.records.indexOf(r) >= before, 'the new range registered');
    // The old entry's version is now claimed by the new one, so closing the old one unregistered nothing.
    await d.waitFor((r) => r.msg === 'reloaded', 'reloaded');
    expect(await sandbox.portmapList()).toEqual([
      [300019, 1, 'tcp', again.port],
      [300019, 2, 'tcp', again.port],
    ]);
  });

  it('replaces a stale registration of its program version', async () => {
    await sandbox.startRpcbind();
    // Left behind by a server that is gone, at a port nothing listens on.
    await new RpcbindClient({ socketPath: sandbox.path('/run/rpcbind.sock') }).set({ program: 300019, version: 1, netid: 'tcp', address: '0.0.0.0.0.9' });
    expect(await sandbox.portmapList()).toEqual([[300019, 1, 'tcp', 9]]);
    const d = await daemon(`nullprog/1 stream rpc/tcp nowait nobody ${FIXTURE_BIN}/rpc-null rpc-null\n`);
    await registered(d, 'nullprog');
    expect(await sandbox.portmapList()).toEqual([[300019, 1, 'tcp', d.port('nullprog')]]);
  });

  it('unregisters everything at stop', async () => {
    await sandbox.startRpcbind();
    const d = await daemon(`nullprog/1-3 stream rpc/tcp nowait nobody ${FIXTURE_BIN}/rpc-null rpc-null\n300021/1 dgram rpc/udp wait nobody ${FIXTURE_BIN}/rpc-null rpc-null\n`);
    await registered(d, 'nullprog');
    await registered(d, '300021');
    expect(await sandbox.portmapList()).toHaveLength(4);
    expect(await d.stop()).toBe(0);
    running.splice(running.indexOf(d), 1);
    expect(await sandbox.portmapList()).toEqual([]);
  });

  it('serves unregistered while rpcbind is not running, and registers once it is', async () => {
    const d = await daemon(`nullprog/1 stream rpc/tcp nowait nobody ${FIXTURE_BIN}/rpc-null rpc-null\n`, ['--retry-time', '1']);
    const failed = await d.waitFor((r) => r.code === 'ERR_RPC_REGISTER', 'the registration failure');
    expect(failed).toMatchObject({ service: 'nullprog', proto: 'rpc/tcp', err: { code: 'ERR_RPCBIND_UNREACHABLE' } });
    expect((await dump(d))[0]).toMatchObject({ state: 'listening', rpc: { program: 300019, versions: '1', port: d.port('nullprog'), registered: false } });
    await sandbox.startRpcbind();
    await registered(d, 'nullprog');
    expect(await sandbox.portmapList()).toEqual([[300019, 1, 'tcp', d.port('nullprog')]]);
    expect(d.records.filter((r) => r.code === 'ERR_RPC_REGISTER' && r.level === 50)).toHaveLength(1);
  });
});
