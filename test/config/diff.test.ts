import { describe, expect, it } from 'vitest';
import { keyEntries, reconcile, serviceKey } from '../../src/config/diff.js';
import { resolveLimitDefaults, resolveService, type ServicePlan } from '../../src/config/resolve.js';
import type { ServiceSettings } from '../../src/config/settings.js';
import type { ServiceEntry } from '../../src/config/types.js';

function entry(over: Partial<ServiceEntry> = {}): ServiceEntry {
  return {
    file: 'inetd.conf', line: 1, name: 'echo', service: 'echo', protocol: 'tcp', socketType: 'stream', transport: 'tcp',
    family: 'inet4', host: '*', port: 7, path: '', wait: false, instances: 0, cps: 0, perSource: 0, rate: 0,
    user: 'root', group: '', uid: 0, gid: 0, groups: [0], server: 'internal', argv: ['echo'], ...over,
  };
}
const DEFAULTS = resolveLimitDefaults({}, {});
/** A plan of `e` with the section `s`. */
const plan = (e: ServiceEntry, s?: ServiceSettings): ServicePlan => resolveService(e, s, DEFAULTS, {});
const table = (...ps: ServicePlan[]) => new Map(ps.map((p) => [p.key, p]));

/** An rpc entry: `rstatd/LOW-HIGH dgram rpc/udp wait`. */
function rpc(low: number, high: number, over: Partial<ServiceEntry> = {}, netids: Array<'udp' | 'udp6'> = ['udp']): ServiceEntry {
  return entry({
    name: `rstatd/${low}-${high}`, service: 'rstatd', protocol: 'rpc/udp', socketType: 'dgram', transport: 'udp', port: 0, wait: true,
    server: '/usr/sbin/rpc.rstatd', argv: ['rpc.rstatd'], rpc: { name: 'rstatd', program: 100001, low, high, netids }, ...over,
  });
}

describe('serviceKey', () => {
  it.each([
    ['the same listener written on another line', entry(), entry({ line: 9 }), true],
    ['another port', entry(), entry({ port: 8 }), false],
    ['another address', entry(), entry({ host: '127.0.0.1' }), false],
    ['another family', entry(), entry({ family: 'inet46', protocol: 'tcp46' }), false],
    ['another socket type', entry(), entry({ socketType: 'dgram', transport: 'udp', protocol: 'udp' }), false],
    ['other args', entry(), entry({ argv: ['echo', '-x'] }), true],
    ['two ephemeral ports with different names', entry({ port: 0, name: 'a' }), entry({ port: 0, name: 'b' }), false],
    ['another unix path', entry({ family: 'unix', path: '/a' }), entry({ family: 'unix', path: '/b' }), false],
    ['an rpc program written by name and by number', rpc(1, 5), rpc(1, 5, { name: '100001/1-5', service: '100001' }), true],
    ['another rpc version range', rpc(1, 5), rpc(1, 3), false],
    ['another rpc program', rpc(1, 5), rpc(1, 5, { rpc: { name: 'rusersd', program: 100002, low: 1, high: 5, netids: ['udp'] } }), false],
    ['another rpc netid', rpc(1, 5), rpc(1, 5, { family: 'inet6', protocol: 'rpc/udp6' }, ['udp6']), false],
    ['an rpc entry and a port-0 entry of the same name', rpc(1, 5), entry({ port: 0, name: 'rstatd/1-5', socketType: 'dgram', transport: 'udp' }), false],
  ])('%s → same key: %s', (_what, a, b, same) => {
    expect(serviceKey(a) === serviceKey(b)).toBe(same);
  });
});

describe('keyEntries', () => {
  it('reports an rpc entry that claims a version another one claims over the same netid', () => {
    const { byKey, errors } = keyEntries([rpc(1, 3), rpc(3, 5, { line: 2 }), rpc(4, 5, { line: 3 })]);
    expect([...byKey.values()].map((e) => e.line)).toEqual([1, 3]);
    expect(errors).toEqual([{ file: 'inetd.conf', line: 2, code: 'ERR_CONFIG_DUPLICATE', message: expect.stringContaining('version 3 over udp') }]);
  });

  it('reports rpc entries of one program on two addresses: rpcbind holds one address per version', () => {
    const { errors } = keyEntries([rpc(1, 1, { host: '127.0.0.1' }), rpc(1, 1, { host: '127.0.0.2', line: 2 })]);
    expect(errors.map((e) => [e.line, e.code])).toEqual([[2, 'ERR_CONFIG_DUPLICATE']]);
  });

  it('keeps rpc entries of one program apart when their netids differ', () => {
    const { byKey, errors } = keyEntries([rpc(1, 5), rpc(1, 5, { family: 'inet6', protocol: 'rpc/udp6', line: 2 }, ['udp6'])]);
    expect(errors).toEqual([]);
    expect(byKey.size).toBe(2);
  });

  it('reports a dual-stack rpc entry that overlaps an IPv6 one', () => {
    const { errors } = keyEntries([rpc(2, 2, { family: 'inet6', protocol: 'rpc/udp6' }, ['udp6']), rpc(1, 5, { family: 'inet46', protocol: 'rpc/udp46', line: 2 }, ['udp', 'udp6'])]);
    expect(errors).toEqual([expect.objectContaining({ line: 2, message: expect.stringContaining('version 2 over udp6') })]);
  });

  it('reports a second entry for the same listener and keeps the first', () => {
    const { byKey, errors } = keyEntries([entry({ line: 1 }), entry({ line: 2 })]);
    expect([...byKey.values()].map((e) => e.line)).toEqual([1]);
    expect(errors).toEqual([expect.objectContaining({ line: 2, code: 'ERR_CONFIG_DUPLICATE' })]);
  });
});

describe('reconcile', () => {
  it.each([
    { what: 'nothing to nothing', old: [], next: [], want: { added: 0, changed: 0, unchanged: 0, removed: 0 } },
    { what: 'a new service is added', old: [], next: [plan(entry())], want: { added: 1, changed: 0, unchanged: 0, removed: 0 } },
    { what: 'a moved line is unchanged', old: [plan(entry())], next: [plan(entry({ line: 5 }))], want: { added: 0, changed: 0, unchanged: 1, removed: 0 } },
    {
      what: 'a moved line with a limit of its own is unchanged',
      old: [plan(entry({ instances: 3 }))],
      next: [plan(entry({ instances: 3, line: 5 }))],
      want: { added: 0, changed: 0, unchanged: 1, removed: 0 },
    },
    { what: 'new args change in place', old: [plan(entry())], next: [plan(entry({ argv: ['echo', '-v'] }))], want: { added: 0, changed: 1, unchanged: 0, removed: 0 } },
    { what: 'a new user changes in place', old: [plan(entry())], next: [plan(entry({ user: 'nobody', uid: 65534 }))], want: { added: 0, changed: 1, unchanged: 0, removed: 0 } },
    { what: 'a new section value changes in place', old: [plan(entry())], next: [plan(entry(), { per_source: 2 })], want: { added: 0, changed: 1, unchanged: 0, removed: 0 } },
    { what: 'a new port is an add and a remove', old: [plan(entry())], next: [plan(entry({ port: 8 }))], want: { added: 1, changed: 0, unchanged: 0, removed: 1 } },
    { what: 'a dropped line is removed', old: [plan(entry()), plan(entry({ port: 9 }))], next: [plan(entry())], want: { added: 0, changed: 0, unchanged: 1, removed: 1 } },
  ])('$what', ({ old, next, want }) => {
    const plan = reconcile(table(...old), table(...next));
    expect({ added: plan.added.length, changed: plan.changed.length, unchanged: plan.unchanged.length, removed: plan.removed.length }).toEqual(want);
  });
});
