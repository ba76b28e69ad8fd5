// The converter's two directions, as text: an xinetd tree (already lowered by load.ts) becomes
// inetd.conf lines and `[service:…]` sections; inetd.conf entries with their sections become an
// xinetd.conf file. What one format cannot say is written as a comment naming it, never dropped
// silently. Pure: values in, text out; `ninetd convert` (cli.ts) reads and prints.
import path from 'node:path';
import type { ServicePlan } from '../resolve.js';
import { inetdLine, iniValue } from './load.js';
import type { Lowered } from './lower.js';

/** inetd.conf text and settings text for lowered xinetd services. */
export function toInetd(lowered: readonly Lowered[], source: string): { inetd: string; ini: string } {
  const inetd = [`# Converted by ninetd convert from ${source}`, ''];
  const ini = [`; [service:] sections converted by ninetd convert from ${source}`, ''];
  for (const l of lowered) {
    inetd.push(`# ${l.id}: ${l.file}:${l.line}`, inetdLine(l));
    const [svc, , proto] = l.fields as [string, string, string];
    // The section is named as parse.ts names the entry: no host prefix, tcpmux without `+`, ports without leading zeros.
    const name = svc.replace(/^(\[[^\]]*\]|[^:[]*):/, '').replace(/^tcpmux\/\+/, 'tcpmux/');
    ini.push(`[service:${name}/${proto}]`, ...l.keys.map((k) => `${k.key} = ${iniValue(k.value)}`), '');
  }
  return { inetd: `${inetd.join('\n')}\n`, ini: `${ini.join('\n')}\n` };
}

/** xinetd's `=` lines of one service, aligned. */
function entry(name: string, attrs: Array<[string, string]>, notes: string[]): string {
  const width = Math.max(...attrs.map(([k]) => k.length));
  return [...notes.map((n) => `# ${n}`), `service ${name}`, '{', ...attrs.map(([k, v]) => `\t${k.padEnd(width)} = ${v}`), '}', ''].join('\n');
}

/** Settings rlimit keys → xinetd's attribute; rlimit_nproc has none. Sorted. */
const XINETD_RLIMITS = {
  rlimit_as: 'rlimit_as',
  rlimit_cpu: 'rlimit_cpu',
  rlimit_data: 'rlimit_data',
  rlimit_nofile: 'rlimit_files',
  rlimit_rss: 'rlimit_rss',
  rlimit_stack: 'rlimit_stack',
} as const;

/** A limit as xinetd writes it: 0 is UNLIMITED. */
const limit = (n: number): string => (n === -1 ? 'UNLIMITED' : String(n));

/** An address pattern as xinetd writes it (no brackets). */
const address = (text: string): string => text.replace(/^\[([^\]]*)\]/, '$1');

/** xinetd.conf text for resolved plans (inetd.conf entries with their sections). */
export function toXinetd(plans: readonly ServicePlan[], source: string): string {
  const out = [`# Converted by ninetd convert from ${source}`, ''];
  for (const p of plans) {
    const e = p.entry;
    const notes: string[] = [`${e.file}:${e.line}`];
    if (e.family === 'unix' || e.socketType === 'seqpacket') {
      out.push(`# ${e.file}:${e.line}: ${e.service}/${e.protocol} not converted: xinetd has no unix or seqpacket sockets`, '');
      continue;
    }
    const a: Array<[string, string]> = [];
    const named = !/^\d+$/.test(e.service);
    let name = e.service;
    const types: string[] = [];
    if (e.tcpmux) {
      name = e.tcpmux.name;
      types.push(e.tcpmux.plus ? 'TCPMUXPLUS' : 'TCPMUX');
    }
    if (e.server === 'internal') types.push('INTERNAL');
    if (!named) {
      types.push('UNLISTED');
      // xinetd finds a builtin by the service's name, so an internal service keeps the builtin's.
      name = e.builtin ?? `port${e.port}`;
    }
    if (types.length) a.push(['type', types.join(' ')]);
    a.push(['socket_type', e.socketType], ['protocol', e.transport], ['wait', e.wait ? 'yes' : 'no']);
    if (!named) a.push(['port', String(e.port)]);
    if (e.host !== '*' && e.host !== '') a.push(['bind', address(e.host)]);
    const flags: string[] = [];
    if (e.family === 'inet4') flags.push('IPv4');
    else flags.push('IPv6');
    if (e.family === 'inet6') a.push(['v6only', 'yes']);
    if (e.user !== '-') a.push(['user', e.user]);
    else notes.push('user "-" (run as ninetd itself) has no xinetd spelling; xinetd runs it as root');
    if (e.group) a.push(['group', e.group]);
    if (e.redirect) a.push(['redirect', `${e.redirect.host} ${e.redirect.port}`]);
    else if (e.server !== 'internal') {
      a.push(['server', e.server]);
      const [argv0, ...rest] = e.argv;
      if (argv0 !== path.basename(e.server)) {
        flags.push('NAMEINARGS');
        a.push(['server_args', e.argv.join(' ')]);
      } else if (rest.length) a.push(['server_args', rest.join(' ')]);
      if (e.argv.some((x) => /\s/.test(x))) notes.push('an argument holds a blank: xinetd splits server_args at blanks');
    }
    if (p.socket.nodelay) flags.push('NODELAY');
    if (p.socket.keepalive) flags.push('KEEPALIVE');
    a.push(['flags', flags.join(' ')]);
    const { instances, perSource, cps, rate } = p.limits;
    if (instances.value > 0) a.push(['instances', limit(instances.value)]);
    if (perSource.value > 0) a.push(['per_source', limit(perSource.value)]);
    if (cps.value > 0) notes.push(`cps ${cps.value} per client per minute has no xinetd spelling`);
    if (p.looping.windowMs === 1000 && rate.value > 0) a.push(['cps', `${rate.value} ${Math.round((p.looping.suspendMs ?? 10_000) / 1000)}`]);
    else if (p.looping.windowMs === 1000) a.push(['cps', '0 0']);
    else notes.push(`looping limit of ${rate.value} per ${p.looping.windowMs / 1000} s has no exact xinetd spelling (xinetd counts per second)`);
    const acc = p.access;
    if (acc.only_from) a.push(['only_from', acc.only_from.map((x) => address(x.text)).join(' ')]);
    if (acc.no_access) a.push(['no_access', acc.no_access.map((x) => address(x.text)).join(' ')]);
    if (acc.access_times) {
      const hm = (m: number): string => `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}`;
      a.push(['access_times', acc.access_times.map(([f, t]) => `${hm(f)}-${hm(t)}`).join(' ')]);
    }
    for (const k of ['banner', 'banner_success', 'banner_fail'] as const) if (acc[k]) a.push([k, acc[k]]);
    if (p.logFile) a.push(['log_type', `FILE ${p.logFile}`]);
    const pr = p.process;
    if (pr.nice !== 0) a.push(['nice', String(pr.nice)]);
    if (pr.umask !== 0o022) a.push(['umask', pr.umask.toString(8).padStart(3, '0')]);
    if (Object.keys(pr.env).length) a.push(['env', Object.entries(pr.env).map(([k, v]) => `${k}=${v}`).join(' ')]);
    if (pr.passenv.length) a.push(['passenv', pr.passenv.join(' ')]);
    for (const [k, v] of Object.entries(pr.rlimits)) {
      const x = (XINETD_RLIMITS as Record<string, string>)[k];
      if (x) a.push([x, v === -1 ? 'UNLIMITED' : String(v)]);
      else notes.push(`${k} has no xinetd spelling`);
    }
    // ninetd gives handlers their supplementary groups unless told not to; xinetd the other way round.
    a.push(['groups', e.groups.length === 1 && e.groups[0] === e.gid ? 'no' : 'yes']);
    if (p.log) {
      if (p.log.onSuccess.length) a.push(['log_on_success', p.log.onSuccess.join(' ')]);
      if (p.log.onFailure.length) a.push(['log_on_failure', p.log.onFailure.join(' ')]);
    }
    a.push(['disable', 'no']);
    out.push(entry(name, a, notes));
  }
  return `${out.join('\n')}`;
}
