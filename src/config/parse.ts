// Turns the text of an inetd.conf file into ServiceEntry values and ConfigErrors. Pure: names
// (services, rpc programs, users, groups) and program checks come in through a `Lookups`
// object, so this module opens no file and asks no OS. It reads the union of the BSD, GNU and
// Debian dialects (see docs/inetd.conf.5.md); it does not detect duplicate services across
// lines (diff.ts keyEntries does) and does not read daemon settings (settings.ts does).
//
// Every problem becomes a ConfigError on its line and the entry is skipped; the next line is
// parsed as if the bad one were not there. Nothing here throws on any input.
import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import { BUILTIN_NAMES, isBuiltinName, type BuiltinName } from '../builtins/names.js';
import { isBlank, splitFields, startsWithBlank } from './parse-line.js';
import {
  SOCKET_TYPES,
  type Config,
  type ConfigError,
  type Family,
  type RpcNetid,
  type RpcService,
  type ServiceEntry,
  type SocketType,
  type Transport,
} from './types.js';

/** What the parser needs to know about the system; load.ts builds the real one, tests fake it. */
export interface Lookups {
  /** Port of a service name or alias over tcp or udp (from /etc/services), null when unknown. */
  port(name: string, transport: 'tcp' | 'udp'): number | null;
  /** Number of an RPC program name or alias (from /etc/rpc), null when unknown. */
  rpc(name: string): number | null;
  /** A user's uid and primary gid, null when there is no such user. */
  user(name: string): { uid: number; gid: number } | null;
  /** A group's gid, null when there is no such group. */
  group(name: string): number | null;
  /** The groups initgroups(user, gid) would set: gid plus the user's supplementary groups. */
  groups(user: string, gid: number): number[];
  /**
   * True when `path` is a regular file the supervisor may execute, else why not (false when the
   * reason is not known).
   */
  executable(path: string): boolean | ProgramFault;
}

/** Why a server program cannot be run. Sorted. */
export const PROGRAM_FAULTS = {
  missing: 'does not exist',
  'not-executable': 'is not executable (no x permission for ninetd)',
  'not-file': 'is not a regular file',
  unreachable: 'cannot be reached (a directory on its path is not searchable)',
} as const;
export type ProgramFault = keyof typeof PROGRAM_FAULTS;

/** How to read what a file leaves open. */
export interface ParseOptions {
  /** Family of plain `tcp`/`udp`: IPv4 only as on the BSDs (default), or dual stack as in Debian. */
  defaultFamily?: 'inet4' | 'inet46';
  /** Directory relative server paths are resolved against; default: the config file's directory. */
  baseDir?: string;
  /** Address of entries without a host prefix before any `host:` line (FreeBSD -a); default `*`. */
  defaultHost?: string;
  /** The services database names were looked up in, for the message when one is missing. */
  servicesFile?: string;
}

/** Protocol field → transport and family; `default` follows ParseOptions.defaultFamily. Sorted. */
const PROTOCOLS = {
  tcp: { transport: 'tcp', family: 'default' },
  tcp4: { transport: 'tcp', family: 'inet4' },
  tcp46: { transport: 'tcp', family: 'inet46' },
  tcp6: { transport: 'tcp', family: 'inet6' },
  udp: { transport: 'udp', family: 'default' },
  udp4: { transport: 'udp', family: 'inet4' },
  udp46: { transport: 'udp', family: 'inet46' },
  udp6: { transport: 'udp', family: 'inet6' },
  unix: { transport: 'unix', family: 'unix' },
} as const satisfies Record<string, { transport: Transport; family: Family | 'default' }>;

type Protocol = (typeof PROTOCOLS)[keyof typeof PROTOCOLS] & { rpc: boolean };

/**
 * Prefix of the ONC RPC protocols (FreeBSD, OpenBSD): `rpc/` and a tcp or udp protocol of the
 * table above. Plain `rpc/tcp` and `rpc/udp` are IPv4, the netids `tcp` and `udp`, whatever the
 * settings' default family is: they name rpcbind transports, not a dual-stack preference.
 */
const RPC_PREFIX = 'rpc/';

/** Most versions one rpc entry may register: one rpcbind call each, so a typo such as `1-10000` must not become ten thousand. */
const MAX_RPC_VERSIONS = 64;

/** Largest program or version number: unsigned 32-bit in RPC messages. */
const MAX_U32 = 2 ** 32 - 1;

/** rpcbind's own program (RFC 1833); an entry registering it would hijack the portmapper. */
const RPCBIND_PROGRAM = 100000;

/** Socket types each transport can carry (no SCTP, so seqpacket is unix only). Sorted. */
const TRANSPORT_SOCKET_TYPES = {
  tcp: ['stream'],
  udp: ['dgram'],
  unix: ['dgram', 'seqpacket', 'stream'],
} as const satisfies Record<Transport, readonly SocketType[]>;

/** Socket types that inetd.conf may name but ninetd does not serve. Sorted. */
const UNSUPPORTED_SOCKET_TYPES = ['raw', 'rdm'] as const;

/** Wait field keyword → wait. Sorted. */
const WAIT_MODES = { nowait: false, wait: true } as const;

/** xinetd's `wait = yes|no` spellings, which people carry into inetd.conf. Sorted. */
const XINETD_WAIT = { no: 'nowait', yes: 'wait' } as const;

/** Fields every entry has before the arguments. */
const REQUIRED_FIELDS = ['service', 'socket type', 'protocol', 'wait', 'user', 'server'] as const;

/** Largest limit accepted in the wait field: it must fit a C int as in the BSDs. */
const MAX_LIMIT = 2 ** 31 - 1;

/** Longest unix socket path in bytes: sun_path is 108 bytes on Linux, one for the NUL. */
const MAX_UNIX_PATH = 107;

/**
 * Mode of a unix socket file when the entry does not set one. FreeBSD uses 0200 (only the owner
 * may connect); we follow systemd's SocketMode= default of 0666 instead, because an entry
 * exists to be connected to and a mode that only root can use surprises everyone else. Use the
 * `:user:group:mode:/path` prefix to restrict it.
 */
const DEFAULT_UNIX_MODE = 0o666;

/** Port of the tcpmux multiplexer, fixed by RFC 1078; sub-services are reached through it. */
const TCPMUX_PORT = 1;

/** Codes this module reports (listed in docs/errors.md), so a typo cannot mint a new one. */
type ProblemCode =
  | 'ERR_CONFIG_FIELDS'
  | 'ERR_CONFIG_GROUP'
  | 'ERR_CONFIG_HOST'
  | 'ERR_CONFIG_INTERNAL'
  | 'ERR_CONFIG_PORT'
  | 'ERR_CONFIG_PROTOCOL'
  | 'ERR_CONFIG_REDIRECT'
  | 'ERR_CONFIG_RPC'
  | 'ERR_CONFIG_RPC_PROGRAM'
  | 'ERR_CONFIG_SERVER'
  | 'ERR_CONFIG_SERVICE'
  | 'ERR_CONFIG_SOCKET_TYPE'
  | 'ERR_CONFIG_SOCKET_UNSUPPORTED'
  | 'ERR_CONFIG_TCPMUX'
  | 'ERR_CONFIG_UNIX'
  | 'ERR_CONFIG_USER'
  | 'ERR_CONFIG_WAIT';

/** A reason an entry cannot be served; becomes a ConfigError on the entry's line. */
class Problem {
  constructor(
    readonly code: ProblemCode,
    readonly message: string,
  ) {}
}

/** The listen addresses an entry without its own host prefix gets (OpenBSD's `host:` lines). */
type StickyHosts = { hosts: string[]; fromOption?: boolean } | { invalidAt: number };

/** An entry whose lines have been read so far, with the sticky hosts in force at its start. */
interface Pending {
  line: number;
  fields: string[];
  sticky: StickyHosts;
}

/** Looks a keyword up in an `as const` table; undefined when absent (never inherited keys). */
function lookup<T extends object>(table: T, key: string): T[keyof T] | undefined {
  return Object.hasOwn(table, key) ? table[key as keyof T] : undefined;
}

/** `a, b or c`, for "expected …" hints. */
function oneOf(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** Parses the whole text of `file`; every bad line yields an error and the rest still parse. */
export function parseConfig(text: string, file: string, lookups: Lookups, options: ParseOptions = {}): Config {
  const entries: ServiceEntry[] = [];
  const errors: ConfigError[] = [];
  const ctx: EntryContext = {
    file,
    lookups,
    defaultFamily: options.defaultFamily ?? 'inet4',
    baseDir: options.baseDir ?? path.dirname(file),
    servicesFile: options.servicesFile ?? '/etc/services',
  };
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  // The entry being read, waiting for possible continuation lines.
  let pending: Pending | null = null;
  let sticky: StickyHosts = options.defaultHost ? { hosts: [options.defaultHost], fromOption: true } : { hosts: ['*'] };

  const finish = (p: Pending | null): void => {
    if (!p) return;
    const done = parseEntry(p.fields, p.sticky, ctx);
    if (done instanceof Problem) errors.push({ file, line: p.line, code: done.code, message: done.message });
    else entries.push(...done.map((e) => ({ file, line: p.line, ...e })));
  };

  for (const [index, raw] of lines.entries()) {
    const lineNo = index + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    // Blank lines and comments end an entry. Comments include Debian's `#<off>#` (an entry a
    // package disabled), `#:LABEL:` group headers and FreeBSD's `#@` IPsec policy lines: ninetd
    // has no IPsec policy support, so those are read as the comments they are on Linux.
    if (isBlank(line) || line.trimStart().startsWith('#')) {
      finish(pending);
      pending = null;
      continue;
    }
    const continued = startsWithBlank(line) ? pending : null;
    if (!continued) finish(pending);
    const split = splitFields(line);
    if (!split.ok) {
      // A broken line spoils its whole entry (continued or not); reported where the quote is.
      errors.push({ file, line: lineNo, code: split.code, message: split.message });
      pending = null;
      continue;
    }
    if (continued) {
      continued.fields.push(...split.fields);
      continue;
    }
    pending = null;
    const [only, ...more] = split.fields;
    if (only !== undefined && more.length === 0 && only.endsWith(':')) {
      const hosts = parseHostList(only.slice(0, -1));
      if (hosts instanceof Problem) {
        errors.push({ file, line: lineNo, code: hosts.code, message: hosts.message });
        // Entries that rely on this line must not silently bind to every address instead.
        sticky = { invalidAt: lineNo };
      } else {
        sticky = { hosts };
      }
      continue;
    }
    pending = { line: lineNo, fields: split.fields, sticky };
  }
  finish(pending);
  return { entries, errors };
}

/** What parseEntry needs besides the fields. */
interface EntryContext {
  file: string;
  lookups: Lookups;
  defaultFamily: 'inet4' | 'inet46';
  baseDir: string;
  servicesFile: string;
}

type EntryBody = Omit<ServiceEntry, 'file' | 'line'>;

/** One logical line → one entry per listen address, or the first problem found. */
function parseEntry(fields: string[], sticky: StickyHosts, ctx: EntryContext): EntryBody[] | Problem {
  if (fields.length < REQUIRED_FIELDS.length) {
    return new Problem(
      'ERR_CONFIG_FIELDS',
      `too few fields: found ${fields.length} in "${fields.join(' ')}" (expected ${REQUIRED_FIELDS.join(', ')}, then arguments)`,
    );
  }
  const [svc, typeField, protoField, waitField, userField, serverField, ...args] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    ...string[],
  ];
  const socketType = parseSocketType(typeField);
  if (socketType instanceof Problem) return socketType;
  const proto = parseProtocol(protoField, socketType);
  if (proto instanceof Problem) return proto;

  const where = proto.transport === 'unix' ? parseUnixService(svc, ctx.lookups) : parseInetService(svc, proto, protoField, socketType, sticky, ctx);
  if (where instanceof Problem) return where;
  // No builtin speaks RPC; `internal` here would register a port that answers nonsense.
  if (where.rpc && serverField === 'internal') {
    return new Problem('ERR_CONFIG_RPC', `rpc service "${svc}" cannot be internal (expected the path of an rpc server program)`);
  }

  const wait = parseWait(waitField);
  if (wait instanceof Problem) return wait;
  // A tcpmux sub-service is handed a connected socket by the multiplexer: always nowait.
  if (where.tcpmux) wait.wait = false;

  const cred = parseUser(userField, ctx.lookups);
  if (cred instanceof Problem) return cred;

  // Builtins on unix sockets are named by the last path component, as in FreeBSD.
  const builtinHint = proto.transport === 'unix' ? path.basename(where.path) : where.name;
  const exec = parseServer(serverField, args, builtinHint, socketType, ctx);
  if (exec instanceof Problem) return exec;
  if (exec.redirect && (wait.wait || proto.transport !== 'tcp')) {
    return new Problem('ERR_CONFIG_REDIRECT', `redirect needs nowait over tcp, not "${waitField} ${protoField}" (expected nowait and tcp, tcp4, tcp46 or tcp6)`);
  }
  if (exec.redirect && where.tcpmux) {
    return new Problem('ERR_CONFIG_REDIRECT', `tcpmux service "${svc}" cannot be redirected (expected a program or internal)`);
  }

  return where.places.map((place) => ({
    name: where.name,
    service: where.service,
    protocol: protoField,
    socketType,
    transport: proto.transport,
    family: place.family,
    host: place.host,
    port: where.port,
    path: where.path,
    ...(where.unixOwner ? { unixOwner: where.unixOwner } : {}),
    ...wait,
    ...cred,
    ...exec,
    argv: [...exec.argv],
    ...(where.tcpmux ? { tcpmux: where.tcpmux } : {}),
    ...(where.rpc ? { rpc: { ...where.rpc, netids: rpcNetids(proto.transport, place.family, place.host) } } : {}),
  }));
}

/**
 * The rpcbind netids of a socket: `udp`/`tcp` for IPv4, `udp6`/`tcp6` for IPv6, both for a
 * dual-stack socket on every address (a dual-stack socket on one IPv6 address gets no IPv4).
 */
function rpcNetids(transport: Transport, family: Family, host: string): RpcNetid[] {
  const v4 = transport === 'udp' ? 'udp' : 'tcp';
  const v6 = transport === 'udp' ? 'udp6' : 'tcp6';
  if (family === 'inet46') return host === '*' || host === '::' ? [v4, v6] : [v6];
  return family === 'inet6' ? [v6] : [v4];
}

/** Socket type field → SocketType; raw and rdm get their own "not supported" error. */
function parseSocketType(field: string): SocketType | Problem {
  const known = SOCKET_TYPES.find((t) => t === field);
  if (known) return known;
  const expected = '(expected stream, dgram or seqpacket)';
  if (UNSUPPORTED_SOCKET_TYPES.some((t) => t === field)) {
    return new Problem('ERR_CONFIG_SOCKET_UNSUPPORTED', `socket type "${field}" is not supported ${expected}`);
  }
  return new Problem('ERR_CONFIG_SOCKET_TYPE', `unknown socket type "${field}" ${expected}`);
}

/** Protocol field → transport and family (and whether it is rpc), checked against the socket type. */
function parseProtocol(field: string, socketType: SocketType): Protocol | Problem {
  const rpc = field.startsWith(RPC_PREFIX);
  const found = lookup(PROTOCOLS, rpc ? field.slice(RPC_PREFIX.length) : field);
  if (!found || (rpc && found.transport === 'unix')) {
    const known = rpc ? Object.keys(PROTOCOLS).filter((p) => p !== 'unix').map((p) => `${RPC_PREFIX}${p}`) : Object.keys(PROTOCOLS);
    return new Problem('ERR_CONFIG_PROTOCOL', `unknown protocol "${field}" (expected ${oneOf(known)})`);
  }
  const proto = { ...found, rpc };
  const carried: readonly SocketType[] = TRANSPORT_SOCKET_TYPES[proto.transport];
  if (!carried.includes(socketType)) {
    return new Problem(
      'ERR_CONFIG_PROTOCOL',
      `protocol "${field}" cannot carry socket type "${socketType}" (expected ${oneOf(carried)} with ${proto.transport})`,
    );
  }
  return proto;
}

/** Where an entry listens, from its service field. */
interface Where {
  name: string;
  service: string;
  port: number;
  path: string;
  places: Array<{ host: string; family: Family }>;
  unixOwner?: { user: string; group: string; mode: number };
  tcpmux?: { name: string; plus: boolean };
  rpc?: Omit<RpcService, 'netids'>;
}

/** `[host,…:]service` for tcp and udp: addresses and a port. */
function parseInetService(
  field: string,
  proto: Protocol,
  protoField: string,
  socketType: SocketType,
  sticky: StickyHosts,
  ctx: EntryContext,
): Where | Problem {
  const colon = lastColonOutsideBrackets(field);
  const svc = colon < 0 ? field : field.slice(colon + 1);
  let hosts: string[];
  if (colon >= 0) {
    const parsed = parseHostList(field.slice(0, colon));
    if (parsed instanceof Problem) return parsed;
    hosts = parsed;
  } else if ('invalidAt' in sticky) {
    return new Problem('ERR_CONFIG_HOST', `default address set at line ${sticky.invalidAt} is invalid (expected a valid host: line before this entry)`);
  } else {
    hosts = sticky.hosts;
    // -a names one address: entries of the other family keep the wildcard, as in FreeBSD inetd.
    if (sticky.fromOption) hosts = hosts.map((h) => (familyFor(h, proto, protoField, ctx.defaultFamily) instanceof Problem ? '*' : h));
  }
  if (svc === '') return new Problem('ERR_CONFIG_SERVICE', `missing service name after "${field}" (expected a name or port number)`);

  const places: Where['places'] = [];
  for (const host of hosts) {
    const family = familyFor(host, proto, protoField, proto.rpc ? 'inet4' : ctx.defaultFamily);
    if (family instanceof Problem) return family;
    places.push({ host, family });
  }
  const base = { path: '', places };
  if (proto.rpc) {
    const rpc = parseRpcService(svc, ctx.lookups);
    if (rpc instanceof Problem) return rpc;
    // The kernel picks the port; rpcbind tells clients which one.
    return { ...base, name: svc, service: rpc.name, port: 0, rpc };
  }

  const mux = /^tcpmux\/(\+?)(.*)$/.exec(svc);
  if (mux) {
    const [, plus, name] = mux as unknown as [string, string, string];
    if (socketType !== 'stream' || proto.transport !== 'tcp') {
      return new Problem('ERR_CONFIG_TCPMUX', `tcpmux service "${svc}" must be stream over tcp, not ${socketType}/${protoField} (expected stream and tcp, tcp4, tcp46 or tcp6)`);
    }
    if (name === '') return new Problem('ERR_CONFIG_TCPMUX', `tcpmux service "${svc}" has no name (expected tcpmux/NAME or tcpmux/+NAME)`);
    // RFC 1078 reserves "help" for the multiplexer's own list of services.
    if (name.toLowerCase() === 'help') return new Problem('ERR_CONFIG_TCPMUX', `tcpmux service name "${name}" is reserved (expected any name but help)`);
    return { ...base, name: svc, service: `tcpmux/${name}`, port: TCPMUX_PORT, tcpmux: { name, plus: plus === '+' } };
  }

  const transport = proto.transport === 'udp' ? 'udp' : 'tcp';
  if (/^\d+$/.test(svc)) {
    const port = Number(svc);
    if (port > 65535) return new Problem('ERR_CONFIG_PORT', `port "${svc}" is out of range (expected 0 to 65535)`);
    return { ...base, name: svc, service: String(port), port };
  }
  const port = ctx.lookups.port(svc, transport);
  if (port === null) {
    return new Problem('ERR_CONFIG_SERVICE', `unknown service "${svc}" for ${transport} in ${ctx.servicesFile} (expected a name listed there, a port number, or --services FILE)`);
  }
  return { ...base, name: svc, service: svc, port };
}

/** `NAME/VERSION` or `NAME/LOW-HIGH`: an rpc program by name or number, and the versions to register. */
function parseRpcService(svc: string, lookups: Lookups): Omit<RpcService, 'netids'> | Problem {
  const form = '(expected NAME/VERSION or NAME/LOW-HIGH)';
  const slash = svc.indexOf('/');
  if (slash < 0) return new Problem('ERR_CONFIG_RPC', `rpc service "${svc}" has no version ${form}`);
  const written = svc.slice(0, slash);
  const versions = svc.slice(slash + 1);
  if (written === '') return new Problem('ERR_CONFIG_RPC', `rpc service "${svc}" has no program ${form}`);
  const range = /^(\d+)(?:-(\d+))?$/.exec(versions);
  if (!range) return new Problem('ERR_CONFIG_RPC', `bad rpc version "${versions}" in "${svc}" ${form}`);
  const low = Number(range[1]);
  const high = range[2] === undefined ? low : Number(range[2]);
  if (high > MAX_U32 || low > MAX_U32) return new Problem('ERR_CONFIG_RPC', `rpc version "${versions}" is out of range (expected 0 to ${MAX_U32})`);
  if (low > high) return new Problem('ERR_CONFIG_RPC', `rpc version range "${versions}" runs backwards (expected LOW-HIGH with LOW at most HIGH)`);
  if (high - low + 1 > MAX_RPC_VERSIONS) {
    return new Problem('ERR_CONFIG_RPC', `rpc version range "${versions}" covers ${high - low + 1} versions (expected at most ${MAX_RPC_VERSIONS})`);
  }
  let program: number | null;
  if (/^\d+$/.test(written)) {
    program = Number(written);
    if (program > MAX_U32) return new Problem('ERR_CONFIG_RPC', `rpc program "${written}" is out of range (expected 0 to ${MAX_U32})`);
  } else {
    program = lookups.rpc(written);
    if (program === null) return new Problem('ERR_CONFIG_RPC_PROGRAM', `unknown rpc program "${written}" (expected a name from the rpc database or a program number)`);
  }
  if (program === RPCBIND_PROGRAM) return new Problem('ERR_CONFIG_RPC', `rpc program "${written}" is rpcbind's own (expected any other program)`);
  return { name: /^\d+$/.test(written) ? String(program) : written, program, low, high };
}

/** Index of the `:` that ends the host prefix; colons inside `[v6]` do not count. -1 if none. */
function lastColonOutsideBrackets(field: string): number {
  let depth = 0;
  let last = -1;
  for (let i = 0; i < field.length; i += 1) {
    const c = field[i];
    if (c === '[') depth += 1;
    else if (c === ']') depth = Math.max(0, depth - 1);
    else if (c === ':' && depth === 0) last = i;
  }
  return last;
}

/** `*`, or a comma list of IPv4 literals and (bracketed or bare) IPv6 literals. */
function parseHostList(text: string): string[] | Problem {
  const hosts: string[] = [];
  for (const item of text.split(',')) {
    if (item === '') return new Problem('ERR_CONFIG_HOST', `empty address in "${text}:" (expected an ip address or *)`);
    const bracketed = item.startsWith('[') && item.endsWith(']');
    const host = bracketed ? item.slice(1, -1) : item;
    if (host === '*' && !bracketed) hosts.push(host);
    else if (bracketed ? isIPv6(host) : isIPv4(host) || isIPv6(host)) hosts.push(host);
    else {
      // Host names are not resolved: a name that resolves differently later would move a
      // service silently, and resolving here would make parsing wait on DNS.
      return new Problem('ERR_CONFIG_HOST', `bad address "${item}" (expected an ipv4 address, an ipv6 address in brackets or *; host names are not resolved)`);
    }
  }
  return hosts;
}

/** The family to bind `host` with under protocol `proto`; an address literal wins over plain tcp/udp. */
function familyFor(host: string, proto: Pick<Protocol, 'family'>, protoField: string, defaultFamily: 'inet4' | 'inet46'): Family | Problem {
  const version = host === '*' ? 0 : isIPv4(host) ? 4 : 6;
  if (proto.family === 'default') return version === 6 ? 'inet6' : version === 4 ? 'inet4' : defaultFamily;
  if (proto.family === 'inet4' && version === 6) {
    return new Problem('ERR_CONFIG_HOST', `address "${host}" is ipv6 but protocol "${protoField}" is ipv4 only (expected an ipv4 address or *)`);
  }
  if (proto.family === 'inet6' && version === 4) {
    return new Problem('ERR_CONFIG_HOST', `address "${host}" is ipv4 but protocol "${protoField}" is ipv6 only (expected an ipv6 address or *)`);
  }
  // A dual-stack socket bound to one IPv4 address is just an IPv4 socket.
  if (proto.family === 'inet46' && version === 4) return 'inet4';
  return proto.family as Family;
}

/** Unix service field: `/path`, `@abstract`, or FreeBSD's `:user:group:mode:/path`. */
function parseUnixService(field: string, lookups: Lookups): Where | Problem {
  let socketPath = field;
  let owner = { user: '', group: '', mode: DEFAULT_UNIX_MODE };
  if (field.startsWith(':')) {
    const parts = field.slice(1).split(':');
    if (parts.length < 4) {
      return new Problem('ERR_CONFIG_UNIX', `bad unix socket owner prefix in "${field}" (expected :user:group:mode:/path)`);
    }
    const [user, group, mode] = parts as [string, string, string];
    socketPath = parts.slice(3).join(':');
    if (user !== '' && !lookups.user(user)) return new Problem('ERR_CONFIG_USER', `unknown user "${user}" (expected a user from the password database)`);
    if (group !== '' && lookups.group(group) === null) {
      return new Problem('ERR_CONFIG_GROUP', `unknown group "${group}" (expected a group from the group database)`);
    }
    if (mode !== '' && !/^[0-7]{1,4}$/.test(mode)) return new Problem('ERR_CONFIG_UNIX', `bad unix socket mode "${mode}" (expected octal digits such as 660)`);
    owner = { user, group, mode: mode === '' ? DEFAULT_UNIX_MODE : Number.parseInt(mode, 8) };
    if (socketPath.startsWith('@')) {
      return new Problem('ERR_CONFIG_UNIX', `abstract socket "${socketPath}" has no file to own (expected no :user:group:mode: prefix)`);
    }
  }
  if (!socketPath.startsWith('/') && !socketPath.startsWith('@')) {
    return new Problem('ERR_CONFIG_UNIX', `unix socket path "${socketPath}" is not absolute (expected /path or @abstract-name)`);
  }
  const bytes = Buffer.byteLength(socketPath);
  if (bytes > MAX_UNIX_PATH) {
    return new Problem('ERR_CONFIG_UNIX', `unix socket path "${socketPath}" is ${bytes} bytes long (expected at most ${MAX_UNIX_PATH})`);
  }
  return {
    name: field,
    service: socketPath,
    port: 0,
    path: socketPath,
    places: [{ host: '', family: 'unix' }],
    // Abstract sockets (Linux `@name`) have no file, hence no owner or mode.
    ...(socketPath.startsWith('/') ? { unixOwner: owner } : {}),
  };
}

/** Dispatch mode and limits from the wait field. */
interface WaitSpec {
  wait: boolean;
  instances: number;
  cps: number;
  perSource: number;
  rate: number;
}

/** `wait|nowait` with OpenBSD/GNU `.rate` (NetBSD `:rate`) or FreeBSD `/max-child[/per-ip-per-minute[/per-ip-children]]`. */
function parseWait(field: string): WaitSpec | Problem {
  const [, keyword = '', suffix = ''] = /^([a-z]*)(.*)$/s.exec(field) ?? [];
  const wait = lookup(WAIT_MODES, keyword);
  const limitsHint = 'optionally followed by .rate or /max-child[/per-ip-per-minute[/per-ip-children]]';
  if (wait === undefined) {
    const xinetd = lookup(XINETD_WAIT, field);
    if (xinetd) {
      return new Problem('ERR_CONFIG_WAIT', `unknown wait mode "${field}" (expected wait or nowait; xinetd's "${field}" is "${xinetd}" here)`);
    }
    return new Problem('ERR_CONFIG_WAIT', `unknown wait mode "${field}" (expected wait or nowait, ${limitsHint})`);
  }
  const spec: WaitSpec = { wait, instances: 0, cps: 0, perSource: 0, rate: 0 };
  if (suffix === '') return spec;
  const rate = /^[.:](\d+)$/.exec(suffix);
  const limits = /^\/(\d+)(?:\/(\d+)(?:\/(\d+))?)?$/.exec(suffix);
  const numbers = (rate ?? limits)?.slice(1).map((n) => (n === undefined ? 0 : Number(n)));
  if (!numbers) return new Problem('ERR_CONFIG_WAIT', `bad limits "${suffix}" after "${keyword}" (expected ${keyword} ${limitsHint})`);
  const tooBig = numbers.find((n) => n > MAX_LIMIT);
  if (tooBig !== undefined) return new Problem('ERR_CONFIG_WAIT', `limit "${tooBig}" in "${field}" is too large (expected at most ${MAX_LIMIT})`);
  if (rate) spec.rate = numbers[0]!;
  else [spec.instances, spec.cps, spec.perSource] = numbers as [number, number, number];
  return spec;
}

/** Credentials from the user field. */
interface Credentials {
  user: string;
  group: string;
  uid: number;
  gid: number;
  groups: number[];
}

/** `user`, `user:group`, `user.group`, FreeBSD `…/login-class` (ignored), or `-` (no switch). */
function parseUser(field: string, lookups: Lookups): Credentials | Problem {
  // ninetd extension: run as whoever runs the supervisor; -1 tells spawn to leave ids alone.
  if (field === '-') return { user: '-', group: '', uid: -1, gid: -1, groups: [] };
  const slash = field.lastIndexOf('/');
  const spec = slash < 0 ? field : field.slice(0, slash);
  let user = spec;
  let group = '';
  const colon = spec.indexOf(':');
  if (colon >= 0) {
    user = spec.slice(0, colon);
    group = spec.slice(colon + 1);
  } else if (spec.includes('.') && !lookups.user(spec)) {
    // `.` is legal in user names, so `a.b` is a user when one exists and user.group otherwise.
    const dot = spec.lastIndexOf('.');
    user = spec.slice(0, dot);
    group = spec.slice(dot + 1);
  }
  if (user === '') return new Problem('ERR_CONFIG_USER', `missing user name in "${field}" (expected user, user:group or -)`);
  const pw = lookups.user(user);
  if (!pw) return new Problem('ERR_CONFIG_USER', `unknown user "${user}" (expected a user from the password database)`);
  let gid = pw.gid;
  if (group !== '') {
    const gr = lookups.group(group);
    if (gr === null) return new Problem('ERR_CONFIG_GROUP', `unknown group "${group}" (expected a group from the group database)`);
    gid = gr;
  }
  return { user, group, uid: pw.uid, gid, groups: lookups.groups(user, gid) };
}

/** Server program and argv; `internal` picks a builtin by argv[0] or else by the service name. */
function parseServer(
  field: string,
  args: string[],
  serviceName: string,
  socketType: SocketType,
  ctx: EntryContext,
): { server: string; argv: string[]; builtin?: BuiltinName; redirect?: { host: string; port: number } } | Problem {
  if (field === 'redirect') {
    // ninetd extension (xinetd's `redirect`): the supervisor relays the connection to host:port.
    const [host = '', portText = '', ...extra] = args;
    const port = /^\d+$/.test(portText) ? Number(portText) : ctx.lookups.port(portText, 'tcp');
    const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (!isIPv4(literal) && !isIPv6(literal)) {
      return new Problem('ERR_CONFIG_REDIRECT', `redirect target "${host}" is not an ip address (expected redirect ADDRESS PORT; host names are not resolved)`);
    }
    if (port === null || port < 1 || port > 65535 || extra.length > 0) {
      return new Problem('ERR_CONFIG_REDIRECT', `bad redirect "${args.join(' ')}" (expected redirect ADDRESS PORT with a port from 1 to 65535)`);
    }
    if (socketType !== 'stream') return new Problem('ERR_CONFIG_REDIRECT', `redirect needs socket type stream, not "${socketType}" (expected stream)`);
    return { server: 'redirect', argv: ['redirect', literal, String(port)], redirect: { host: literal, port } };
  }
  if (field === 'internal') {
    const first = args[0];
    const name: BuiltinName | undefined = first !== undefined && isBuiltinName(first) ? first : isBuiltinName(serviceName) ? serviceName : undefined;
    if (name === undefined) {
      const asked = first !== undefined && first !== serviceName ? `"${serviceName}" or "${first}"` : `"${serviceName}"`;
      return new Problem('ERR_CONFIG_INTERNAL', `no internal service named ${asked} (expected ${oneOf(Object.keys(BUILTIN_NAMES))} as the service name or argv[0])`);
    }
    const served: readonly SocketType[] = BUILTIN_NAMES[name];
    if (!served.includes(socketType)) {
      return new Problem('ERR_CONFIG_INTERNAL', `internal service "${name}" does not serve socket type "${socketType}" (expected ${oneOf(served)})`);
    }
    return { server: 'internal', argv: args.length > 0 ? args : [name], builtin: name };
  }
  // ninetd extension: a relative path is relative to the config file, so a bundled config can
  // name the handlers that ship next to it.
  const program = path.isAbsolute(field) ? field : path.resolve(ctx.baseDir, field);
  const ok = ctx.lookups.executable(program);
  if (ok !== true) {
    const why = ok === false ? 'is missing or not executable' : PROGRAM_FAULTS[ok];
    return new Problem('ERR_CONFIG_SERVER', `server program "${program}" ${why} (expected an executable file or internal)`);
  }
  return { server: program, argv: args.length > 0 ? args : [path.basename(program)] };
}
