import { describe, expect, it } from 'vitest';
import { parseAddressList } from '../../src/access/address.js';
import { resolveLimitDefaults, resolveService, type LimitFlags } from '../../src/config/resolve.js';
import type { DaemonSettings, ServiceSettings } from '../../src/config/settings.js';
import type { ServiceEntry } from '../../src/config/types.js';

function entry(over: Partial<ServiceEntry> = {}): ServiceEntry {
  return {
    file: 'inetd.conf', line: 12, name: 'finger', service: 'finger', protocol: 'tcp', socketType: 'stream', transport: 'tcp',
    family: 'inet4', host: '*', port: 79, path: '', wait: false, instances: 0, cps: 0, perSource: 0, rate: 0,
    user: 'nobody', group: '', uid: 65534, gid: 65534, groups: [65534], server: '/usr/sbin/in.fingerd', argv: ['in.fingerd'], ...over,
  };
}

describe('resolveLimitDefaults', () => {
  it.each<[string, LimitFlags, DaemonSettings, Record<string, [number, string]>]>([
    ['built-in values', {}, {}, { instances: [0, 'default'], perSource: [0, 'default'], cps: [0, 'default'], rate: [256, 'default'] }],
    [
      '[daemon] over built-in values',
      {},
      { max_children: 5, per_source: 2, cps: 30, rate: 40 },
      { instances: [5, '[daemon] max_children'], perSource: [2, '[daemon] per_source'], cps: [30, '[daemon] cps'], rate: [40, '[daemon] rate'] },
    ],
    [
      'flags over [daemon], 0 included',
      { instances: 0, perSource: 3, cps: 0, rate: 0 },
      { max_children: 5, per_source: 2, cps: 30, rate: 40 },
      { instances: [0, '-c'], perSource: [3, '-s'], cps: [0, '-C'], rate: [0, '-R'] },
    ],
  ])('%s', (_what, flags, daemon, want) => {
    const got = resolveLimitDefaults(flags, daemon);
    expect(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, [v.value, v.from]]))).toEqual(want);
  });
});

describe('resolveService', () => {
  const defaults = resolveLimitDefaults({ perSource: 4 }, { max_children: 9, rate: 100 });
  it.each<[string, Partial<ServiceEntry>, ServiceSettings | undefined, Record<string, [number, string]>]>([
    [
      'daemon-wide defaults when neither the entry nor a section sets a limit',
      {},
      undefined,
      { instances: [9, '[daemon] max_children'], perSource: [4, '-s'], cps: [0, 'default'], rate: [100, '[daemon] rate'] },
    ],
    [
      "the entry's own limits, named by file, line and field",
      { instances: 3, cps: 10, perSource: 2, rate: 0 },
      undefined,
      { instances: [3, 'inetd.conf:12 max-child'], perSource: [2, 'inetd.conf:12 per-ip-children'], cps: [10, 'inetd.conf:12 per-ip-per-minute'], rate: [100, '[daemon] rate'] },
    ],
    [
      "the section's keys over the entry's fields",
      { instances: 3, cps: 10, perSource: 2, rate: 7 },
      { instances: 1, per_source: 0, cps: 5 },
      {
        instances: [1, '[service:finger/tcp] instances'],
        perSource: [0, '[service:finger/tcp] per_source'],
        cps: [5, '[service:finger/tcp] cps'],
        rate: [7, 'inetd.conf:12 .max'],
      },
    ],
  ])('%s', (_what, over, section, want) => {
    const plan = resolveService(entry(over), section, defaults, {});
    expect(Object.fromEntries(Object.entries(plan.limits).map(([k, v]) => [k, [v.value, v.from]]))).toEqual(want);
  });

  it('takes handler settings from the section over [daemon], with built-in values last', () => {
    const daemon = { umask: 0o027, nice: 5, env: { LANG: 'C' }, rlimit_cpu: 10, rlimit_as: 1 << 30, per_source: 99 };
    const plan = resolveService(entry(), { nice: 10, rlimit_cpu: -1, passenv: ['TZ'] }, defaults, daemon);
    expect(plan.process).toEqual({ umask: 0o027, nice: 10, cwd: '/', env: { LANG: 'C' }, passenv: ['TZ'], rlimits: { rlimit_as: 1 << 30, rlimit_cpu: -1 } });
  });

  it('keeps the access rules of the section and names it', () => {
    const plan = resolveService(entry(), { banner: '/etc/issue.net', instances: 2 }, defaults, {});
    expect(plan.access).toEqual({ banner: '/etc/issue.net' });
    expect(plan.section).toBe('[service:finger/tcp]');
    expect(plan.key).toBe('stream/tcp/inet4/*/79');
  });
});

describe('resolveService: the PROXY protocol', () => {
  const defaults = resolveLimitDefaults({}, {});
  const from = parseAddressList('10.0.0.0/8').patterns;

  it('plans no header when the section turns it on nowhere', () => {
    expect(resolveService(entry(), undefined, defaults, {}).proxy).toBeNull();
    expect(resolveService(entry(), { proxy_protocol: 'off', proxy_from: from }, defaults, {}).proxy).toBeNull();
  });

  it('plans the versions and balancers of the section, refusing others by default', () => {
    expect(resolveService(entry(), { proxy_protocol: 'v1', proxy_from: from }, defaults, {}).proxy).toEqual({ versions: 'v1', from, direct: false });
    expect(resolveService(entry(), { proxy_protocol: 'any', proxy_from: from, proxy_direct: true }, defaults, {}).proxy).toEqual({ versions: 'any', from, direct: true });
  });
});
