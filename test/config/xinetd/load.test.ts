// xinetd services lowered to inetd.conf lines and [service:] keys, and the converter's round trips:
// an xinetd tree and its conversion make the same plans, and so do an inetd.conf file and its.
import { describe, expect, it } from 'vitest';
import { samePlan } from '../../../src/config/diff.js';
import { parseConfig, type Lookups } from '../../../src/config/parse.js';
import { resolveLimitDefaults, resolveServices, type ServicePlan } from '../../../src/config/resolve.js';
import { parseSettings } from '../../../src/config/settings.js';
import { toInetd, toXinetd } from '../../../src/config/xinetd/convert.js';
import { xinetdConfig } from '../../../src/config/xinetd/load.js';
import type { TreeReader } from '../../../src/config/xinetd/read.js';

const lookups: Lookups = {
  port: (name, t) => ({ 'echo/tcp': 7, 'echo/udp': 7, 'daytime/tcp': 13, 'nrpe/tcp': 5666 } as Record<string, number>)[`${name}/${t}`] ?? null,
  rpc: () => null,
  user: (n) => (n === 'root' ? { uid: 0, gid: 0 } : n === 'nobody' ? { uid: 65534, gid: 65534 } : null),
  group: (n) => (n === 'nogroup' ? 65534 : n === 'root' ? 0 : null),
  groups: (_u, gid) => [gid, 4],
  executable: (p) => p.startsWith('/bin/') || p.startsWith('/usr/'),
};

function one(text: string): TreeReader {
  return { read: (f) => (f === '/x' ? text : new Error('ENOENT')), list: () => [], isFile: () => false };
}
const svc = (name: string, ...lines: string[]): string => `service ${name}\n{\n${lines.map((l) => `\t${l}\n`).join('')}}\n`;
const load = (text: string) => xinetdConfig('/x', lookups, one(text));

/** Plans of an xinetd tree. */
function plans(text: string): ServicePlan[] {
  const c = load(text);
  expect(c.errors).toEqual([]);
  return resolveServices(c.entries, c.sections, resolveLimitDefaults({}, {}), {});
}

/** Plans of inetd.conf text with settings text. */
function inetdPlans(inetd: string, ini: string): ServicePlan[] {
  const c = parseConfig(inetd, '/conv', lookups);
  const s = parseSettings(ini, '/conv.ini');
  expect([...c.errors, ...s.errors]).toEqual([]);
  return resolveServices(c.entries, s.settings.services, resolveLimitDefaults({}, {}), {});
}

const TREE = [
  `defaults\n{\n\tinstances = 30\n\tonly_from = 127.0.0.1 10.0.0.0\n\tlog_on_success = PID HOST\n}\n`,
  svc('echo', 'id = echo-stream', 'type = INTERNAL', 'socket_type = stream', 'wait = no', 'flags = IPv4'),
  svc('echo', 'id = echo-dgram', 'type = INTERNAL', 'socket_type = dgram', 'wait = yes'),
  svc('nrpe', 'socket_type = stream', 'wait = no', 'user = nobody', 'group = nogroup', 'server = /usr/sbin/nrpe', 'server_args = -c /etc/nrpe.cfg --inetd', 'only_from += 192.168.{1,2}', 'log_on_success += DURATION', 'cps = 20 5', 'per_source = 2', 'env = LANG=C', 'rlimit_as = 64M', 'groups = yes'),
  svc('health', 'type = UNLISTED', 'port = 9200', 'socket_type = stream', 'protocol = tcp', 'wait = no', 'user = nobody', 'server = /usr/bin/tcpd', 'server_args = check /usr/local/bin/check', 'flags = NAMEINARGS NODELAY', 'bind = 127.0.0.1', 'access_times = 8:00-18:30 20:00-21:00', 'instances = UNLIMITED'),
  svc('fwd', 'type = UNLISTED', 'port = 8080', 'socket_type = stream', 'wait = no', 'user = nobody', 'redirect = 127.0.0.1 80', 'flags = IPv6', 'v6only = yes', 'only_from ='),
].join('');

describe('lowering xinetd services', () => {
  it('writes each service as an inetd.conf line', () => {
    const c = load(TREE);
    expect(c.errors).toEqual([]);
    expect(c.entries.map((e) => [e.name, e.protocol, e.family, e.host, e.wait, e.user, e.server, e.argv.join(' ')])).toEqual([
      ['echo', 'tcp4', 'inet4', '*', false, 'root', 'internal', 'echo'],
      ['echo', 'udp46', 'inet46', '*', true, 'root', 'internal', 'echo'],
      ['nrpe', 'tcp46', 'inet46', '*', false, 'nobody', '/usr/sbin/nrpe', 'nrpe -c /etc/nrpe.cfg --inetd'],
      ['9200', 'tcp4', 'inet4', '127.0.0.1', false, 'nobody', '/usr/bin/tcpd', 'check /usr/local/bin/check'],
      ['8080', 'tcp6', 'inet6', '*', false, 'nobody', 'redirect', 'redirect 127.0.0.1 80'],
    ]);
  });

  it('carries attributes into the plan: limits, access, looping, process, socket options', () => {
    const [echo, , nrpe, health, fwd] = plans(TREE);
    expect(echo!.limits.instances.value).toBe(30);
    expect(echo!.looping).toEqual({ windowMs: 1000, suspendMs: 10_000 });
    expect(echo!.limits.rate.value).toBe(50);
    expect(nrpe!.limits.rate.value).toBe(20);
    expect(nrpe!.looping).toEqual({ windowMs: 1000, suspendMs: 5000 });
    expect(nrpe!.limits.perSource.value).toBe(2);
    expect(nrpe!.access.only_from!.map((p) => p.text)).toEqual(['127.0.0.1', '10.0.0.0/8', '192.168.1.0/24', '192.168.2.0/24']);
    expect(nrpe!.log).toEqual({ onSuccess: ['PID', 'HOST', 'DURATION'], onFailure: [] });
    expect(nrpe!.process.env).toEqual({ LANG: 'C' });
    expect(nrpe!.process.rlimits).toEqual({ rlimit_as: 64 << 20 });
    expect(nrpe!.entry.groups).toEqual([65534, 4]);
    expect(echo!.entry.groups).toEqual([0]);
    expect(health!.limits.instances.value).toBe(0);
    expect(health!.access.access_times).toEqual([[480, 1110], [1200, 1260]]);
    expect(health!.socket).toEqual({ nodelay: true, keepalive: false });
    expect(fwd!.entry.redirect).toEqual({ host: '127.0.0.1', port: 80 });
    expect(fwd!.access.only_from!.map((p) => p.text)).toEqual(['0.0.0.0/32', '[::]/128']);
  });

  it.each([
    ['a refused flag', svc('a', 'type = UNLISTED', 'port = 1', 'socket_type = stream', 'wait = no', 'user = root', 'server = /bin/cat', 'flags = SENSOR'), 9, 'ERR_XINETD_ATTRIBUTE'],
    ['type RPC', svc('echo', 'type = RPC', 'socket_type = stream', 'wait = no', 'user = root', 'server = /bin/cat'), 3, 'ERR_XINETD_ATTRIBUTE'],
    ['a bad wait', svc('echo', 'type = INTERNAL', 'socket_type = stream', 'wait = maybe'), 5, 'ERR_XINETD_VALUE'],
    ['a host name in only_from', svc('echo', 'type = INTERNAL', 'socket_type = stream', 'wait = no', 'only_from = example.org'), 6, 'ERR_XINETD_VALUE'],
    ['a port that is not the listed one', svc('echo', 'type = INTERNAL', 'socket_type = stream', 'wait = no', 'port = 8'), 6, 'ERR_XINETD_VALUE'],
    ['an unlisted name', svc('gopher', 'socket_type = stream', 'wait = no', 'user = root', 'server = /bin/cat'), 1, 'ERR_XINETD_VALUE'],
    ['a missing server', svc('echo', 'socket_type = stream', 'wait = no', 'user = root'), 1, 'ERR_XINETD_ATTRIBUTE'],
    ['a bad access_times', svc('echo', 'type = INTERNAL', 'socket_type = stream', 'wait = no', 'access_times = 25:00-26:00'), 6, 'ERR_XINETD_VALUE'],
    ['an unknown user', svc('echo', 'socket_type = stream', 'wait = no', 'user = nosuch', 'server = /bin/cat'), 1, 'ERR_CONFIG_USER'],
    ['a missing program', svc('echo', 'socket_type = stream', 'wait = no', 'user = root', 'server = /nope'), 1, 'ERR_CONFIG_SERVER'],
    ['a bad nice', svc('echo', 'socket_type = stream', 'wait = no', 'user = root', 'server = /bin/cat', 'nice = 99'), 7, 'ERR_SETTINGS_VALUE'],
    ['a redirect to a name', svc('echo', 'socket_type = stream', 'wait = no', 'user = nobody', 'redirect = db.example 80'), 6, 'ERR_XINETD_VALUE'],
    ['a redirect without a user, as xinetd wants one', svc('echo', 'socket_type = stream', 'wait = no', 'redirect = 127.0.0.1 80'), 1, 'ERR_XINETD_ATTRIBUTE'],
    ['an access_times interval past midnight', svc('echo', 'type = INTERNAL', 'socket_type = stream', 'wait = no', 'access_times = 23:00-1:00'), 6, 'ERR_XINETD_VALUE'],
    ['an internal service ninetd does not have', svc('servers', 'type = INTERNAL UNLISTED', 'port = 9099', 'socket_type = stream', 'wait = no'), 3, 'ERR_XINETD_VALUE'],
  ])('refuses %s on its line', (_w, text, line, code) => {
    const c = load(text);
    expect(c.errors.map((e) => [e.file, e.line, e.code])).toEqual([['/x', line, code]]);
    expect(c.entries).toEqual([]);
  });

  it('makes TCPMUX and TCPMUXPLUS services tcpmux sub-services of an INTERNAL tcpmux', () => {
    const c = xinetdConfig('/x', { ...lookups, port: (n, t) => (n === 'tcpmux' && t === 'tcp' ? 1 : lookups.port(n, t)) }, one(
      svc('tcpmux', 'type = INTERNAL', 'socket_type = stream', 'protocol = tcp', 'wait = no') +
        svc('myorg_date', 'type = TCPMUXPLUS', 'socket_type = stream', 'protocol = tcp', 'wait = no', 'user = nobody', 'server = /bin/date'),
    ));
    expect(c.errors).toEqual([]);
    expect(c.entries.map((e) => [e.service, e.builtin ?? e.server, e.tcpmux])).toEqual([
      ['tcpmux', 'tcpmux', undefined],
      ['tcpmux/myorg_date', '/bin/date', { name: 'myorg_date', plus: true }],
    ]);
  });

  it('serves a service repeated exactly (Debian ships chargen-dgram twice) once, with a warning', () => {
    const dgram = svc('echo', 'id = echo-dgram', 'type = INTERNAL', 'socket_type = dgram', 'wait = yes');
    const c = load(dgram + dgram);
    expect(c.errors).toEqual([]);
    expect(c.entries.length).toBe(1);
    expect(c.warnings.map((w) => [w.line, w.code])).toEqual([[8, 'WARN_XINETD']]);
  });

  it('gives a service with log_type = FILE its own log file, and only warns about SYSLOG', () => {
    const c = load(`${svc('echo', 'type = INTERNAL', 'socket_type = stream', 'wait = no', 'log_type = FILE /var/log/echo.log 1000 2000')}${svc('daytime', 'type = INTERNAL', 'socket_type = stream', 'wait = no', 'log_type = SYSLOG daemon info')}`);
    expect(c.errors).toEqual([]);
    const [echo, daytime] = resolveServices(c.entries, c.sections, resolveLimitDefaults({}, {}), {});
    expect([echo!.logFile, daytime!.logFile]).toEqual(['/var/log/echo.log', null]);
    expect(c.warnings.map((w) => [w.line, w.code])).toEqual([[13, 'WARN_XINETD']]);
  });

  it('warns that USERID does nothing, once', () => {
    const c = load(`defaults\n{\n\tlog_on_failure = USERID HOST\n}\n${svc('echo', 'type = INTERNAL', 'socket_type = stream', 'wait = no')}${svc('daytime', 'type = INTERNAL', 'socket_type = stream', 'wait = no')}`);
    expect(c.errors).toEqual([]);
    expect(c.warnings.map((w) => [w.line, w.code])).toEqual([[3, 'WARN_XINETD']]);
  });
});

describe('converting', () => {
  it('xinetd → inetd.conf and [service:] sections gives the same plans', () => {
    const c = load(TREE);
    const { inetd, ini } = toInetd(c.lowered, '/x');
    const a = plans(TREE);
    const b = inetdPlans(inetd, ini);
    expect(b.length).toBe(a.length);
    for (const [i, p] of a.entries()) expect(samePlan(p, b[i]!)).toBe(true);
  });

  it('inetd.conf → xinetd.conf → inetd.conf gives the same plans', () => {
    const a = inetdPlans(
      'echo stream tcp4 nowait root internal\n127.0.0.1:9200 stream tcp4 nowait nobody:nogroup /usr/bin/tcpd check /usr/local/bin/check\n8080 stream tcp6 nowait root redirect 10.0.0.5 80\n',
      '[service:echo/tcp4]\nrate = 40\nrate_window = 1\nrate_suspend = 7\ngroups = no\n[service:9200/tcp4]\nonly_from = 10.0.0.0/8\nrate = 50\nrate_window = 1\ngroups = no\ninstances = 3\ntcp_nodelay = yes\n[service:8080/tcp6]\nrate = 0\nrate_window = 1\ngroups = no\n',
    );
    const text = toXinetd(a, '/conv');
    const b = plans(text);
    expect(b.length).toBe(a.length);
    for (const [i, p] of a.entries()) expect(samePlan({ ...p, looping: { ...p.looping, suspendMs: p.looping.suspendMs ?? 10_000 } }, b[i]!) || samePlan(p, b[i]!)).toBe(true);
  });
});
