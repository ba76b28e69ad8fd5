import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RpcNetid, ServiceEntry } from '../../src/config/types.js';
import { RpcbindError, type RpcbindCalls } from '../../src/rpc/client.js';
import type { Registration } from '../../src/rpc/rpcbind.js';
import { formatRpcEntry, RpcRegistry, versionsText, type Timers } from '../../src/rpc/registry.js';

/**
 * rpcbind's registration table as the registry sees it through RpcbindCalls, with a switch for
 * "not running" and, for portmapper version 2, UNSET removing tcp and udp together.
 */
class TableRpcbind implements RpcbindCalls {
  readonly table = new Map<string, string>();
  readonly calls: string[] = [];
  running = true;
  portmap = false;

  async set(r: Registration): Promise<void> {
    this.calls.push(`set ${r.program}/${r.version}/${r.netid} ${r.address}`);
    if (!this.running) throw new RpcbindError('ERR_RPCBIND_UNREACHABLE', 'rpcbind is not reachable');
    const key = `${r.program}/${r.version}/${r.netid}`;
    const held = this.table.get(key);
    if (held !== undefined && held !== r.address) throw new RpcbindError('ERR_RPCBIND_REFUSED', 'held');
    this.table.set(key, r.address);
  }

  async unset(r: Omit<Registration, 'address'>): Promise<RpcNetid[]> {
    this.calls.push(`unset ${r.program}/${r.version}/${r.netid}`);
    if (!this.running) throw new RpcbindError('ERR_RPCBIND_UNREACHABLE', 'rpcbind is not reachable');
    const netids: RpcNetid[] = this.portmap ? ['tcp', 'udp'] : [r.netid];
    for (const n of netids) this.table.delete(`${r.program}/${r.version}/${n}`);
    return netids;
  }

  /** The table as sorted `program/version/netid address` lines. */
  rows(): string[] {
    return [...this.table].map(([k, v]) => `${k} ${v}`).sort();
  }
}

/** Timers the test fires by hand. */
class HandTimers implements Timers {
  pending: Array<{ fn: () => void; ms: number }> = [];
  set(fn: () => void, ms: number): unknown {
    const t = { fn, ms };
    this.pending.push(t);
    return t;
  }
  clear(handle: unknown): void {
    this.pending = this.pending.filter((t) => t !== handle);
  }
  fire(): void {
    const due = this.pending.splice(0);
    for (const t of due) t.fn();
  }
}

function entry(program: number, low: number, high: number, over: Partial<ServiceEntry> = {}, netids: RpcNetid[] = ['udp']): ServiceEntry {
  return {
    file: '/etc/inetd.conf', line: 1, name: `${program}/${low}-${high}`, service: String(program), protocol: 'rpc/udp', socketType: 'dgram', transport: 'udp',
    family: 'inet4', host: '*', port: 0, path: '', wait: true, instances: 0, cps: 0, perSource: 0, rate: 0,
    user: 'nobody', group: '', uid: 65534, gid: 65534, groups: [65534], server: '/usr/sbin/rpc.x', argv: ['rpc.x'],
    rpc: { name: String(program), program, low, high, netids }, ...over,
  };
}

function setup() {
  const records: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const rpcbind = new TableRpcbind();
  const timers = new HandTimers();
  const registry = new RpcRegistry({ logger: pino({ level: 'debug' }, sink), retryMs: 600_000, client: rpcbind, timers });
  return { records, rpcbind, timers, registry };
}

describe('RpcRegistry', () => {
  it('registers every version for each netid once bound, removing any stale registration first', async () => {
    const { rpcbind, registry, records } = setup();
    rpcbind.table.set('100001/2/udp', '0.0.0.0.4.0'); // left by an earlier instance
    const e = entry(100001, 1, 3, { family: 'inet46', protocol: 'rpc/udp46' }, ['udp', 'udp6']);
    registry.bound(e, 1000);
    await registry.settled();
    expect(rpcbind.rows()).toEqual([
      '100001/1/udp 0.0.0.0.3.232',
      '100001/1/udp6 ::.3.232',
      '100001/2/udp 0.0.0.0.3.232',
      '100001/2/udp6 ::.3.232',
      '100001/3/udp 0.0.0.0.3.232',
      '100001/3/udp6 ::.3.232',
    ]);
    expect(rpcbind.calls.slice(0, 2)).toEqual(['unset 100001/1/udp', 'set 100001/1/udp 0.0.0.0.3.232']);
    expect(registry.describe(e)).toEqual({ program: 100001, versions: '1-3', netids: ['udp', 'udp6'], port: 1000, registered: true });
    expect(records.filter((r) => r.msg === 'registered with rpcbind')).toEqual([expect.objectContaining({ service: '100001', proto: 'rpc/udp46', program: 100001, versions: '1-3', port: 1000 })]);
  });

  it('registers the address the socket is bound to', async () => {
    const { rpcbind, registry } = setup();
    registry.bound(entry(100001, 1, 1, { host: '127.0.0.1' }), 2049);
    await registry.settled();
    expect(rpcbind.rows()).toEqual(['100001/1/udp 127.0.0.1.8.1']);
  });

  it('unregisters an entry that goes away, and only its own versions', async () => {
    const { rpcbind, registry, records } = setup();
    const a = entry(100001, 1, 2);
    registry.bound(a, 1000);
    registry.bound(entry(100002, 2, 2), 1001);
    await registry.settled();
    registry.closed(a);
    await registry.settled();
    expect(rpcbind.rows()).toEqual(['100002/2/udp 0.0.0.0.3.233']);
    expect(records.some((r) => r.msg === 'unregistered from rpcbind' && r.program === 100001)).toBe(true);
  });

  it('leaves versions another entry has claimed since (a reload that replaced the range)', async () => {
    const { rpcbind, registry } = setup();
    const old = entry(100001, 1, 3);
    registry.bound(old, 1000);
    await registry.settled();
    // The reload binds the new entry first, then closes the old one.
    registry.bound(entry(100001, 2, 5, { name: '100001/2-5' }), 2000);
    registry.closed(old);
    await registry.settled();
    expect(rpcbind.rows()).toEqual(['100001/2/udp 0.0.0.0.7.208', '100001/3/udp 0.0.0.0.7.208', '100001/4/udp 0.0.0.0.7.208', '100001/5/udp 0.0.0.0.7.208']);
  });

  it('serves unregistered while rpcbind is down, logs that once, and retries every retry time until it succeeds', async () => {
    const { rpcbind, registry, records, timers } = setup();
    rpcbind.running = false;
    const e = entry(100001, 1, 1);
    registry.bound(e, 1000);
    await registry.settled();
    expect(registry.describe(e)).toMatchObject({ port: 1000, registered: false });
    expect(timers.pending.map((t) => t.ms)).toEqual([600_000]);
    timers.fire();
    await registry.settled();
    const failures = records.filter((r) => r.code === 'ERR_RPC_REGISTER');
    expect(failures.map((r) => r.level)).toEqual([50, 20]); // error once, then debug
    expect(failures[0]).toMatchObject({ service: '100001', proto: 'rpc/udp', err: { code: 'ERR_RPCBIND_UNREACHABLE' } });
    rpcbind.running = true;
    timers.fire();
    await registry.settled();
    expect(rpcbind.rows()).toEqual(['100001/1/udp 0.0.0.0.3.232']);
    expect(registry.describe(e)).toMatchObject({ registered: true });
    expect(timers.pending).toEqual([]);
    expect(records.filter((r) => r.msg === 'registered with rpcbind')).toHaveLength(1);
  });

  it('unregisters what a closed entry registered even while its registration was under way', async () => {
    const { rpcbind, registry } = setup();
    const e = entry(100001, 1, 4);
    registry.bound(e, 1000);
    registry.closed(e); // before the queued registration has run
    await registry.settled();
    expect(rpcbind.rows()).toEqual([]);
  });

  it('unregisters everything at stop and then retries nothing', async () => {
    const { rpcbind, registry, timers } = setup();
    registry.bound(entry(100001, 1, 2), 1000);
    registry.bound(entry(100002, 2, 3, {}, ['udp']), 1001);
    await registry.settled();
    rpcbind.running = false;
    registry.bound(entry(100003, 1, 1), 1002);
    await registry.settled();
    expect(timers.pending).toHaveLength(1);
    rpcbind.running = true;
    await registry.stopAll();
    expect(rpcbind.rows()).toEqual([]);
    expect(timers.pending).toEqual([]);
    registry.bound(entry(100004, 1, 1), 1003);
    await registry.settled();
    expect(rpcbind.rows()).toEqual([]);
  });

  it('warns once and gives up when rpcbind is unreachable at stop', async () => {
    const { rpcbind, registry, records } = setup();
    registry.bound(entry(100001, 1, 3), 1000);
    await registry.settled();
    rpcbind.running = false;
    rpcbind.calls.length = 0;
    await registry.stopAll();
    expect(rpcbind.calls).toEqual(['unset 100001/1/udp']);
    expect(records.filter((r) => r.code === 'ERR_RPC_UNREGISTER')).toHaveLength(1);
  });

  it('registers again what a portmapper version 2 UNSET removed of another entry', async () => {
    const { rpcbind, registry } = setup();
    rpcbind.portmap = true;
    registry.bound(entry(100005, 1, 1, { protocol: 'rpc/tcp', transport: 'tcp', socketType: 'stream' }, ['tcp']), 1000);
    await registry.settled();
    registry.bound(entry(100005, 1, 1), 1001); // its UNSET removes the tcp registration too
    await registry.settled();
    expect(rpcbind.rows()).toEqual(['100005/1/tcp 0.0.0.0.3.232', '100005/1/udp 0.0.0.0.3.233']);
  });

  it('replaces a stale registration under portmapper version 2 without losing the other transport', async () => {
    const { rpcbind, registry } = setup();
    rpcbind.portmap = true;
    registry.bound(entry(100005, 1, 1, { protocol: 'rpc/tcp', transport: 'tcp', socketType: 'stream' }, ['tcp']), 1000);
    await registry.settled();
    rpcbind.table.set('100005/1/udp', '0.0.0.0.0.9'); // stale
    registry.bound(entry(100005, 1, 1), 1001);
    await registry.settled();
    expect(rpcbind.rows()).toEqual(['100005/1/tcp 0.0.0.0.3.232', '100005/1/udp 0.0.0.0.3.233']);
  });

  it('registers again what a portmapper version 2 UNSET at close removed of another entry', async () => {
    const { rpcbind, registry } = setup();
    rpcbind.portmap = true;
    registry.bound(entry(100005, 1, 1, { protocol: 'rpc/tcp', transport: 'tcp', socketType: 'stream' }, ['tcp']), 1000);
    const udp = entry(100005, 1, 1);
    registry.bound(udp, 1001);
    await registry.settled();
    registry.closed(udp);
    await registry.settled();
    expect(rpcbind.rows()).toEqual(['100005/1/tcp 0.0.0.0.3.232']);
  });

  it('ignores entries that are not rpc entries', async () => {
    const { rpcbind, registry } = setup();
    const { rpc: _rpc, ...plain } = entry(1, 1, 1);
    registry.bound(plain, 7);
    registry.closed(plain);
    await registry.settled();
    expect(rpcbind.calls).toEqual([]);
  });
});

describe('versionsText and formatRpcEntry', () => {
  it.each([
    [1, 1, '1'],
    [1, 5, '1-5'],
  ])('writes versions %d to %d as %s', (low, high, want) => {
    expect(versionsText({ low, high })).toBe(want);
  });

  it('describes an rpc entry for --check', () => {
    expect(formatRpcEntry(entry(100001, 1, 5, { rpc: { name: 'rstatd', program: 100001, low: 1, high: 5, netids: ['udp'] } }))).toBe(
      '/etc/inetd.conf:1: rpc program 100001 (rstatd) versions 1-5 over udp, port picked when bound',
    );
    expect(formatRpcEntry(entry(300019, 1, 1, {}, ['tcp', 'tcp6']))).toBe('/etc/inetd.conf:1: rpc program 300019 version 1 over tcp and tcp6, port picked when bound');
  });
});
