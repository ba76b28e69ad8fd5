// Turns one xinetd service record (read.ts) into what ninetd reads natively: the fields of an
// inetd.conf line and the keys of its `[service:NAME/PROTO]` section, each key remembering the
// xinetd line it came from. Both front-ends then go through the same parser and the same settings
// validators, so an xinetd file and its conversion become the same ServicePlan by construction;
// the converter prints exactly this. It checks what only xinetd's syntax can get wrong (yes/no
// words, address forms, `type` and `flags` words, required attributes); field values ninetd
// already checks (socket type, users, programs, ports) are left to parse.ts. Pure.
import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import { BUILTIN_NAMES, isBuiltinName } from '../../builtins/names.js';
import type { ConfigError } from '../types.js';
import { FLAGS, LOG_ON_FAILURE, LOG_ON_SUCCESS, TYPES } from './attributes.js';
import type { Value, XinetdCode, XinetdService } from './read.js';

/** A `[service:…]` key, its value as the settings file would spell it, and the xinetd line behind it. */
export interface LoweredKey {
  key: string;
  value: string;
  file: string;
  line: number;
}

/** One xinetd service in ninetd's terms. */
export interface Lowered {
  id: string;
  file: string;
  line: number;
  /** The inetd.conf fields: service, socket type, protocol, wait, user, server, argv… */
  fields: string[];
  keys: LoweredKey[];
}

/** What lowering needs to know: the services database (by name and transport). */
export interface LowerLookups {
  port(name: string, transport: 'tcp' | 'udp'): number | null;
}

/** xinetd's looping limit when a service sets no `cps`: 50 connections a second, then 10 s off. */
export const XINETD_CPS = { max: 50, wait: 10 } as const;

/** xinetd's rlimit attributes → the settings key, and whether K and M suffixes are allowed. Sorted. */
const RLIMITS = [
  ['rlimit_as', 'rlimit_as', true],
  ['rlimit_cpu', 'rlimit_cpu', false],
  ['rlimit_data', 'rlimit_data', true],
  ['rlimit_files', 'rlimit_nofile', false],
  ['rlimit_rss', 'rlimit_rss', true],
  ['rlimit_stack', 'rlimit_stack', true],
] as const;

/** yes/no words of xinetd. Sorted. */
const YES_NO = { no: false, yes: true } as const;

/** Looks a word up in an `as const` table; undefined when absent (never inherited keys). */
function lookup<T extends object>(table: T, key: string): T[keyof T] | undefined {
  return Object.hasOwn(table, key) ? table[key as keyof T] : undefined;
}

/** `a, b or c`, for "expected …" hints. */
function oneOf(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** A value problem on an attribute's line. */
class Problem {
  constructor(
    readonly at: Value | { file: string; line: number },
    readonly message: string,
    readonly code: XinetdCode = 'ERR_XINETD_VALUE',
  ) {}
}

/** `10.0.0.0` → 10.0.0.0/8: xinetd reads trailing zero octets as wildcards, `0.0.0.0` as everyone. */
function v4Wildcard(addr: string): string {
  const octets = addr.split('.');
  let bits = 32;
  while (bits > 0 && octets[bits / 8 - 1] === '0') bits -= 8;
  return bits === 32 ? addr : `${addr}/${bits}`;
}

/** One xinetd address word → ninetd address patterns, or why not. */
function addressWords(word: string): string[] | string {
  if (word === 'localhost') return ['127.0.0.1', '[::1]'];
  const factor = /^((?:\d+\.){1,3})\{([\d,]+)\}$/.exec(word);
  if (factor) {
    // a.b.c.{1,2} → a.b.c.1 a.b.c.2; a.b.{1,2} → a.b.1.0/24 a.b.2.0/24
    const [, head, parts] = factor as unknown as [string, string, string];
    const have = head.split('.').length; // octets written, plus one for the braces
    const out: string[] = [];
    for (const p of parts.split(',').filter(Boolean)) {
      const octets = [...head.slice(0, -1).split('.'), p];
      while (octets.length < 4) octets.push('0');
      const addr = octets.join('.');
      if (!isIPv4(addr)) return `"${word}" is not an address (expected e.g. 10.0.{1,2} or 10.0.0.{5,6})`;
      out.push(have === 4 ? addr : `${addr}/${(have) * 8}`);
    }
    return out;
  }
  const [addr = '', len] = word.split('/');
  if (isIPv4(addr)) return [len === undefined ? v4Wildcard(addr) : word];
  if (isIPv6(addr)) return [len === undefined ? `[${addr}]` : `[${addr}]/${len}`];
  return `"${word}" is not an address or network (host and network names are not resolved; expected an ip address, a.b.c.0, a.b.c.{d,e} or addr/len)`;
}

/** An address list attribute → the settings value. An empty only_from admits nobody. */
function addressList(v: Value, name: string): string | Problem {
  if (v.values.length === 0) return name === 'only_from' ? '0.0.0.0/32 [::]/128' : '';
  const out: string[] = [];
  for (const w of v.values) {
    if (w.includes(',') && !w.includes('{')) return new Problem(v, `${name}: address "${w}" has a comma in it (expected addresses separated by blanks)`);
    const got = addressWords(w);
    if (typeof got === 'string') return new Problem(v, `${name}: ${got}`);
    out.push(...got);
  }
  return out.join(' ');
}

/** `hh:mm-hh:mm` intervals, checked as xinetd does (hours 0-23, minutes 0-59; 24:00 as an end too). */
function accessTimes(v: Value): string | Problem {
  for (const w of v.values) {
    const m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(w);
    const ok = m && Number(m[1]) <= 24 && Number(m[3]) <= 24 && Number(m[2]) <= 59 && Number(m[4]) <= 59;
    if (!ok) return new Problem(v, `access_times: "${w}" is not an interval (expected hour:min-hour:min, e.g. 2:00-9:00)`);
    // xinetd refuses an interval that runs past midnight ("invalid time interval"): write two.
    if (Number(m[1]) * 60 + Number(m[2]) > Number(m[3]) * 60 + Number(m[4])) {
      return new Problem(v, `access_times: "${w}" runs past midnight (expected from <= to; write ${m[1]}:${m[2]}-23:59 0:00-${m[3]}:${m[4]})`);
    }
  }
  return v.values.join(' ');
}

/** A count or UNLIMITED (0 in ninetd). */
function count(v: Value, name: string): string | Problem {
  const w = v.values[0]!;
  if (w === 'UNLIMITED') return '0';
  return /^\d+$/.test(w) ? String(Number(w)) : new Problem(v, `${name}: "${w}" is not a number (expected a whole number or UNLIMITED)`);
}

/** An rlimit value: a number (with K or M for sizes) or UNLIMITED. */
function rlimit(v: Value, name: string, sized: boolean): string | Problem {
  const w = v.values[0]!;
  if (w === 'UNLIMITED') return 'unlimited';
  const m = /^(\d+)([KM]?)$/.exec(w);
  if (!m || (!sized && m[2])) return new Problem(v, `${name}: "${w}" is not a limit (expected a whole number${sized ? ' with K or M' : ''}, or UNLIMITED)`);
  return w;
}

/** A yes/no value. */
function yesNo(v: Value, name: string): boolean | Problem {
  const b = lookup(YES_NO, v.values[0]!);
  return b ?? new Problem(v, `${name}: "${v.values[0]}" is not yes or no (expected yes or no)`);
}

/** Checks words against a table of served (null) / refused (why) words. */
function words(v: Value, name: string, table: Readonly<Record<string, string | null>>, refuse: boolean): Problem | { warnings: string[] } {
  const warnings: string[] = [];
  for (const w of v.values) {
    if (!Object.hasOwn(table, w)) return new Problem(v, `${name}: unknown value "${w}" (expected ${oneOf(Object.keys(table))})`);
    const why = table[w];
    if (why && refuse) return new Problem(v, `${name}: "${w}" is not supported (${why})`, 'ERR_XINETD_ATTRIBUTE');
    if (why) warnings.push(why);
  }
  return { warnings };
}

/** Lowers one service; problems are errors on their lines, warnings go to `warn`. */
export function lower(svc: XinetdService, lookups: LowerLookups, warn: (w: ConfigError) => void): Lowered | ConfigError[] {
  const errors: ConfigError[] = [];
  const keys: LoweredKey[] = [];
  const a = (name: string): Value | undefined => svc.attrs.get(name);
  const at = { file: svc.file, line: svc.line };
  const fail = (p: Problem): void => void errors.push({ file: p.at.file, line: p.at.line, code: p.code, message: p.message });
  const key = (name: string, value: string, v: { file: string; line: number }): void => void keys.push({ key: name, value, file: v.file, line: v.line });
  const missing = (what: string, why: string): void =>
    void errors.push({ file: svc.file, line: svc.line, code: 'ERR_XINETD_ATTRIBUTE', message: `service "${svc.name}" has no ${what} (expected ${why})` });

  // type and flags first: they decide what else is needed.
  const type = a('type');
  const types = new Set(type?.values ?? []);
  if (type) {
    const w = words(type, 'type', TYPES, true);
    if (w instanceof Problem) fail(w);
  }
  const flags = a('flags');
  const flagSet = new Set(flags?.values ?? []);
  if (flags) {
    const w = words(flags, 'flags', FLAGS, true);
    if (w instanceof Problem) fail(w);
  }
  const internal = types.has('INTERNAL');
  const mux = types.has('TCPMUXPLUS') ? '+' : types.has('TCPMUX') ? '' : null;
  const unlisted = types.has('UNLISTED');

  const socketType = a('socket_type')?.values[0];
  if (!socketType) missing('socket_type', 'socket_type = stream or dgram');
  const waitV = a('wait');
  let wait = 'nowait';
  if (!waitV) missing('wait', 'wait = yes or no');
  else {
    const b = yesNo(waitV, 'wait');
    if (b instanceof Problem) fail(b);
    else wait = b ? 'wait' : 'nowait';
  }

  // Where it listens: protocol, family (flags, bind, v6only) and port.
  const protoV = a('protocol');
  const proto = protoV?.values[0] ?? (socketType === 'dgram' ? 'udp' : 'tcp');
  if (proto !== 'tcp' && proto !== 'udp') fail(new Problem(protoV!, `protocol: "${proto}" is not served (expected tcp or udp)`));
  const bindV = a('bind') ?? a('interface');
  const bind = bindV?.values[0];
  if (bind !== undefined && !isIPv4(bind) && !isIPv6(bind)) fail(new Problem(bindV!, `bind: "${bind}" is not an ip address (interface names and host names are not resolved; expected e.g. 127.0.0.1 or ::1)`));
  const v6onlyV = a('v6only');
  const v6only = v6onlyV ? yesNo(v6onlyV, 'v6only') : false;
  if (v6only instanceof Problem) fail(v6only);
  if (flagSet.has('IPv4') && flagSet.has('IPv6')) fail(new Problem(flags!, 'flags: IPv4 and IPv6 together (expected one of them)'));
  const v6 = flagSet.has('IPv6') || (!flagSet.has('IPv4') && !(bind && isIPv4(bind)));
  // xinetd binds IPv6 by default, accepting IPv4 too unless v6only.
  const family = !v6 ? '4' : v6only === true ? '6' : '46';
  if (bind && isIPv4(bind) && v6) fail(new Problem(bindV!, `bind: "${bind}" is an ipv4 address but flags say IPv6 (expected an ipv6 address)`));
  if (bind && isIPv6(bind) && !v6) fail(new Problem(bindV!, `bind: "${bind}" is an ipv6 address but flags say IPv4 (expected an ipv4 address)`));
  const host = bind === undefined ? '' : isIPv6(bind) ? `[${bind}]:` : `${bind}:`;

  const portV = a('port');
  const port = portV?.values[0];
  if (port !== undefined && !/^\d+$/.test(port)) fail(new Problem(portV!, `port: "${port}" is not a number (expected 0 to 65535)`));
  let where = svc.name;
  if (mux !== null) {
    where = `tcpmux/${mux}${svc.name}`;
  } else if (unlisted) {
    if (port === undefined) missing('port', 'port = NUMBER for an UNLISTED service');
    else where = String(Number(port));
  } else if (proto === 'tcp' || proto === 'udp') {
    const listed = lookups.port(svc.name, proto);
    if (listed === null) {
      errors.push({ file: svc.file, line: svc.line, code: 'ERR_XINETD_VALUE', message: `service "${svc.name}" is not in the services file for ${proto} (expected type = UNLISTED with a port, or a listed name)` });
    } else if (port !== undefined && Number(port) !== listed) {
      fail(new Problem(portV!, `port: ${port} is not the port of "${svc.name}" in the services file (${listed}) (expected ${listed}, or type = UNLISTED)`));
    }
  }

  // What it runs.
  const userV = a('user');
  const groupV = a('group');
  const redirect = a('redirect');
  const serverV = a('server');
  let user = userV?.values[0] ?? (internal ? 'root' : '');
  // xinetd wants a user for redirected services too, though it starts no program for them.
  if (!userV && !internal) missing('user', 'user = NAME for a service that is not INTERNAL');
  if (groupV) user = `${user}:${groupV.values[0]}`;
  let server: string[] = [];
  if (internal) {
    // argv[0] names the builtin: the service field may be a port number (UNLISTED).
    if (!isBuiltinName(svc.name)) {
      const names = Object.keys(BUILTIN_NAMES).filter((n) => n !== 'tcpmux');
      errors.push({ file: type!.file, line: type!.line, code: 'ERR_XINETD_VALUE', message: `internal service "${svc.name}" is not supported (expected ${oneOf(names)}; xinetd's servers, services and xadmin are not built in)` });
    }
    server = ['internal', svc.name];
  } else if (redirect) {
    // xinetd: "If the server attribute is specified, this attribute takes priority."
    const [rhost = '', rport = ''] = redirect.values;
    const target = rhost === 'localhost' ? '127.0.0.1' : rhost;
    if (!isIPv4(target) && !isIPv6(target)) fail(new Problem(redirect, `redirect: "${rhost}" is not an ip address (host names are not resolved; expected e.g. 10.0.0.5 80)`));
    const rp = /^\d+$/.test(rport) ? Number(rport) : lookups.port(rport, 'tcp');
    if (rp === null || rp < 1 || rp > 65535) fail(new Problem(redirect, `redirect: "${rport}" is not a port (expected 1 to 65535 or a tcp service name)`));
    if (socketType !== undefined && socketType !== 'stream') fail(new Problem(redirect, `redirect: only stream services can be redirected, not ${socketType} (expected socket_type = stream)`));
    if (wait === 'wait') fail(new Problem(redirect, 'redirect: a redirected service cannot be wait = yes (expected wait = no)'));
    server = ['redirect', target, String(rp ?? 0)];
  } else if (!serverV) {
    missing('server', 'server = /path/to/program, type = INTERNAL or redirect = host port');
  } else {
    const program = serverV.values[0]!;
    const args = a('server_args')?.values ?? [];
    // NAMEINARGS: server_args[0] is argv[0] (tcpd style); otherwise argv[0] is the program's name.
    server = flagSet.has('NAMEINARGS') ? [program, ...args] : [program, path.basename(program), ...args];
    if (flagSet.has('NAMEINARGS') && args.length === 0) fail(new Problem(flags!, 'flags: NAMEINARGS needs server_args with argv[0] first (expected server_args = name …)'));
  }

  // The [service:] keys, in the order of xinetd.conf(5).
  const cps = a('cps');
  if (cps) {
    const [max = '', wait2 = ''] = cps.values;
    if (!/^\d+$/.test(max) || !/^\d+$/.test(wait2)) fail(new Problem(cps, `cps: "${cps.values.join(' ')}" is not two numbers (expected connections-per-second seconds-off, e.g. 50 10)`));
    else {
      key('rate', String(Number(max)), cps);
      key('rate_window', '1', cps);
      if (Number(max) > 0) key('rate_suspend', String(Math.max(1, Number(wait2))), cps);
    }
  } else {
    // xinetd's built-in looping limit, written out so that the service acts as it did.
    key('rate', String(XINETD_CPS.max), at);
    key('rate_window', '1', at);
    key('rate_suspend', String(XINETD_CPS.wait), at);
  }
  for (const [name, ini] of [['instances', 'instances'], ['per_source', 'per_source']] as const) {
    const v = a(name);
    if (!v) continue;
    const c = count(v, name);
    if (c instanceof Problem) fail(c);
    else if (c !== '0') key(ini, c, v);
  }
  for (const name of ['only_from', 'no_access'] as const) {
    const v = a(name);
    if (!v) continue;
    const l = addressList(v, name);
    if (l instanceof Problem) fail(l);
    else if (l !== '') key(name, l, v);
  }
  const times = a('access_times');
  if (times && times.values.length > 0) {
    const t = accessTimes(times);
    if (t instanceof Problem) fail(t);
    else key('access_times', t, times);
  }
  for (const name of ['banner', 'banner_success', 'banner_fail'] as const) {
    const v = a(name);
    if (v) key(name, v.values[0]!, v);
  }
  const nice = a('nice');
  if (nice) key('nice', nice.values[0]!, nice);
  const umask = a('umask');
  if (umask) key('umask', umask.values[0]!, umask);
  const groups = a('groups');
  const g = groups ? yesNo(groups, 'groups') : false;
  if (g instanceof Problem) fail(g);
  // xinetd runs servers without supplementary groups unless `groups = yes`.
  else key('groups', g ? 'yes' : 'no', groups ?? at);
  const env = a('env');
  if (env && env.values.length > 0) {
    const bad = env.values.find((p) => !p.includes('='));
    if (bad) fail(new Problem(env, `env: "${bad}" has no "=" (expected NAME=value)`));
    else key('env', env.values.join(' '), env);
  }
  const passenv = a('passenv');
  if (passenv && passenv.values.length > 0) key('passenv', passenv.values.join(' '), passenv);
  for (const [name, ini, sized] of RLIMITS) {
    const v = a(name);
    if (!v) continue;
    const r = rlimit(v, name, sized);
    if (r instanceof Problem) fail(r);
    else key(ini, r, v);
  }
  if (flagSet.has('NODELAY')) key('tcp_nodelay', 'yes', flags!);
  if (flagSet.has('KEEPALIVE')) key('keepalive', 'yes', flags!);
  const logType = a('log_type');
  if (logType) {
    const [kind, ...rest] = logType.values;
    if (kind === 'FILE' && !rest[0]?.startsWith('/')) {
      fail(new Problem(logType, `log_type: FILE "${rest[0] ?? ''}" is not an absolute path (expected FILE /path [soft [hard]])`));
    } else if (kind !== 'SYSLOG' && kind !== 'FILE') {
      fail(new Problem(logType, `log_type: unknown type "${kind}" (expected SYSLOG facility [level] or FILE /path)`));
    } else if (kind === 'FILE') {
      // The service's records go to its own file besides ninetd's destination; xinetd's soft and
      // hard size limits are not kept (rotate the file with logrotate and SIGUSR1).
      key('log_file', rest[0]!, logType);
    } else {
      warn({ file: logType.file, line: logType.line, code: 'WARN_XINETD', message: `log_type: SYSLOG records go to ninetd's log destination (set log_destination = syslog in [daemon])` });
    }
  }
  for (const [name, table] of [['log_on_success', LOG_ON_SUCCESS], ['log_on_failure', LOG_ON_FAILURE]] as const) {
    const v = a(name);
    if (!v) continue;
    const w = words(v, name, table, false);
    if (w instanceof Problem) fail(w);
    else {
      for (const message of w.warnings) warn({ file: v.file, line: v.line, code: 'WARN_XINETD', message: `${name}: ${message}` });
      // An empty set is written too: it turns off what the defaults or [daemon] turned on.
      key(name, v.values.filter((x) => x !== 'USERID').join(' ') || 'none', v);
    }
  }
  if (errors.length > 0) return errors;
  return { id: svc.id, file: svc.file, line: svc.line, fields: [`${host}${where}`, socketType!, `${proto}${family}`, wait, user, ...server], keys };
}
