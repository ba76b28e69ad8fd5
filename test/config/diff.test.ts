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
  ])('%s → same key: %s', (_what, a, b, same) => {
    expect(serviceKey(a) === serviceKey(b)).toBe(same);
  });
});

describe('keyEntries', () => {
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
