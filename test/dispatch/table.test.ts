// The service table built directly on a test Host: applying plans, reloads that keep sockets,
// tcpmux lookups, the internal datagram ports and the state dump.
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceTable } from '../../src/dispatch/table.js';
import { dropReason } from '../../src/dispatch/dgram-guard.js';
import { testHost } from '../helpers/host.js';
import { plansOf } from '../helpers/plan.js';

const tables: ServiceTable[] = [];

/** The port of the first service bound on `t`'s host, from its 'listening' record. */
const portOf = (t: ReturnType<typeof testHost>): number => t.records.find((r) => r.msg === 'listening')!.port as number;
afterEach(() => {
  for (const t of tables.splice(0)) t.closeAll();
});

function table(): { t: ReturnType<typeof testHost>; table: ServiceTable } {
  const t = testHost();
  const table = new ServiceTable(t.host);
  tables.push(table);
  return { t, table };
}

describe('ServiceTable', () => {
  it('binds added services, keeps unchanged and changed ones on their socket, and closes removed ones', () => {
    const { t, table: tab } = table();
    const first = tab.apply(plansOf('127.0.0.1:cat stream tcp nowait - /bin/cat cat\n127.0.0.1:echo dgram udp wait - internal\n'));
    expect([first.added.length, first.unchanged.length]).toEqual([2, 0]);
    const before = tab.snapshot();
    const pollers = t.pollers.length;
    const second = tab.apply(plansOf('127.0.0.1:cat stream tcp nowait - /bin/cat cat -u\n'));
    expect({ added: second.added.length, changed: second.changed.length, removed: second.removed.length }).toEqual({ added: 0, changed: 1, removed: 1 });
    // The changed one kept its socket: no new watch was made.
    expect(t.pollers.length).toBe(pollers);
    expect(tab.snapshot()).toEqual([expect.objectContaining({ service: before[0]!.service, state: 'listening' })]);
    expect(t.records.filter((r) => r.msg === 'closed').map((r) => r.proto)).toEqual(['udp']);
  });

  it('leaves a suspended service suspended, its socket closed, across a reload that keeps it', async () => {
    const { t, table: tab } = table();
    const conf = '127.0.0.1:cat stream tcp nowait.1 - /bin/cat cat\n';
    tab.apply(plansOf(conf));
    const fd = t.pollers[0]!.fd;
    const { connect } = await import('node:net');
    const clients = [connect({ port: portOf(t), host: '127.0.0.1' }), connect({ port: portOf(t), host: '127.0.0.1' })];
    await Promise.all(clients.map((c) => new Promise((r) => c.once('connect', r))));
    t.poller(fd).fire();
    expect(tab.snapshot()[0]).toMatchObject({ state: 'suspended', suspensions: 1 });
    const changes = tab.apply(plansOf(conf.replace('cat\n', 'cat -u\n')));
    expect(changes.changed).toHaveLength(1);
    expect(tab.snapshot()[0]).toMatchObject({ state: 'suspended', until: expect.any(String) });
    expect(t.pollers.filter((p) => !p.closed)).toHaveLength(0);
    t.timers.advance(60_000);
    expect(tab.snapshot()[0]).toMatchObject({ state: 'listening' });
    for (const c of clients) c.destroy();
  });

  it('finds tcpmux sub-services by lower-case name and lists them for HELP', () => {
    const { table: tab } = table();
    tab.apply(plansOf('tcpmux/+Date stream tcp nowait - internal daytime\ntcpmux/who stream tcp nowait - /usr/bin/who who\n127.0.0.1:0 stream tcp nowait - /bin/cat cat\n'));
    expect(tab.tcpmux('date')).toBeDefined();
    expect(tab.tcpmux('cat')).toBeUndefined();
    expect(tab.tcpmuxNames().sort()).toEqual(['Date', 'who']);
  });

  it('knows the ports of its internal UDP services, for the reflection-loop check', () => {
    const { table: tab } = table();
    tab.apply(plansOf('127.0.0.1:echo dgram udp wait - internal\n127.0.0.1:cat dgram udp wait - /bin/cat cat\n'));
    const guard = tab.datagramGuard();
    const ports = [...guard.subarray(1024, 65536).entries()].filter(([, why]) => why !== 0).map(([i]) => i + 1024);
    expect(ports).toHaveLength(1);
    expect(dropReason(guard, Uint8Array.of(192, 0, 2, 1), ports[0]!)).toBe('loop');
    // The same table, rewritten when the services change.
    tab.apply([]);
    expect(tab.datagramGuard()).toBe(guard);
    expect(dropReason(guard, Uint8Array.of(192, 0, 2, 1), ports[0]!)).toBe(null);
  });

  it('keeps a service whose bind fails as unbound, retries it each retry time, and counts it', () => {
    const { t, table: tab } = table();
    const path = `/nonexistent-dir-${process.pid}/s.sock`;
    tab.apply(plansOf(`${path} stream unix nowait - /bin/cat cat\n127.0.0.1:0 stream tcp nowait - /bin/cat cat\n`));
    expect(tab.counts()).toEqual({ services: 2, unbound: 1 });
    expect(tab.snapshot()[0]).toMatchObject({ state: 'unbound', error: expect.stringContaining('bind') });
    const errors = (): number => t.records.filter((r) => r.code === 'ERR_BIND').length;
    expect(errors()).toBe(1);
    t.timers.advance(60_000);
    expect(errors()).toBe(2);
  });

  it('keeps the Launcher of a fast-path service across a reload that leaves its plan unchanged, and makes a new one for a changed plan', () => {
    const t = testHost();
    const tab = new ServiceTable({ ...t.host, fastPath: true });
    tables.push(tab);
    // Nothing outside tells a kept Launcher from a new one with the same template (the socket
    // stays either way): what a rebuild costs is 5000 templates made and freed per reload.
    const watcher = (): unknown => Reflect.get(Reflect.get(tab, 'services').values().next().value, 'socket').watcher;
    const conf = '127.0.0.1:0 stream tcp nowait - /bin/cat cat\n';
    tab.apply(plansOf(conf));
    expect(t.records.find((r) => r.msg === 'listening')).toMatchObject({ fastPath: true });
    const first = watcher();
    expect(tab.apply(plansOf(`\n${conf}`)).unchanged).toHaveLength(1);
    expect(watcher()).toBe(first);
    expect(tab.apply(plansOf(conf.replace('cat\n', 'cat -u\n'))).changed).toHaveLength(1);
    expect(watcher()).not.toBe(first);
  });
});
