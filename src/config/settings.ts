// Reads the settings file (etc/ninetd.ini): daemon settings in `[daemon]`, and per-service
// attributes in `[service:NAME/PROTO]` (with their daemon-wide defaults in `[daemon]`). It checks every section, key and value against the
// schema tables below and reports each problem as a ConfigError on its line; it does not apply
// defaults or merge command-line flags over the file (cli.ts does), and it never throws.
//
// `ini` on its own silently merges a repeated key or section, nests dotted section names and
// knows no line numbers, so `ini.decode` is not used: a line scan here finds the structure
// (headers and `key = value` lines, with their line numbers), and `ini.unsafe` decodes each key
// and value exactly as `ini` would (quotes, escapes, `;`/`#` comments after a value). The
// string it returns is the one source of truth for every value; the validators type it.
import ini from 'ini';
// Types only: the log modules load the native addon, and this parser must stay pure.
import type { LogDestination, LogLevel } from '../log/logger.js';
import type { SyslogFormat } from '../log/syslog.js';
import { parseAddressList, parseIp, type AddressPattern } from '../access/address.js';
import { fileProblemReason, isFileProblem, readRegularFile } from '../files/regular-file.js';
import { checkFile, strictModesFor } from './strict-modes.js';
import type { ConfigError } from './types.js';

/** How a handler process is set up; in `[daemon]` as defaults, in `[service:…]` for one service. */
export interface ProcessSettings {
  /** Working directory of the handler. */
  cwd?: string;
  /** Variables added to the handler's environment. */
  env?: Record<string, string>;
  /** Scheduling priority of the handler, -20 to 19. */
  nice?: number;
  /** Names of ninetd's own environment variables passed on to the handler. */
  passenv?: string[];
  /** Address-space limit in bytes (RLIMIT_AS); -1 = unlimited. */
  rlimit_as?: number;
  /** CPU-time limit in seconds (RLIMIT_CPU); -1 = unlimited. */
  rlimit_cpu?: number;
  /** Open-file limit (RLIMIT_NOFILE); -1 = unlimited. */
  rlimit_nofile?: number;
  /** Process-count limit of the handler's user (RLIMIT_NPROC); -1 = unlimited. */
  rlimit_nproc?: number;
  /** Data-segment limit in bytes (RLIMIT_DATA); -1 = unlimited. */
  rlimit_data?: number;
  /** Resident-set limit in bytes (RLIMIT_RSS; Linux ignores it since 2.6, as it always did for xinetd); -1 = unlimited. */
  rlimit_rss?: number;
  /** Stack limit in bytes (RLIMIT_STACK); -1 = unlimited. */
  rlimit_stack?: number;
  /** Give the handler its user's supplementary groups (initgroups); false: only its group. Default true. */
  groups?: boolean;
  /** File-mode creation mask; in `[daemon]` also ninetd's own. */
  umask?: number;
}

/** Who may connect to a service, and how many at once; `[service:NAME/PROTO]` keys (xinetd's names). */
export interface AccessSettings {
  /** File sent to a client before its handler starts. */
  banner?: string;
  /** File sent to a client that is refused. */
  banner_fail?: string;
  /** Connections per minute from one client address; 0 = no limit (FreeBSD max-conn-per-ip-per-minute). */
  cps?: number;
  /** Handlers at once, like `/N` in inetd.conf; 0 = no limit. */
  instances?: number;
  /** Client addresses refused. */
  no_access?: AddressPattern[];
  /** Client addresses served; when set, every other address is refused. */
  only_from?: AddressPattern[];
  /** Handlers at once for one client address; 0 = no limit. */
  per_source?: number;
  /** Times of day (local time) the service admits clients: [from, to] minutes after midnight, both included. */
  access_times?: Array<[number, number]>;
  /** File sent to a client once it is admitted, after `banner`. */
  banner_success?: string;
}

/** What a service's records say, in xinetd's words; `none` turns a set off. */
export const LOG_ON_SUCCESS_WORDS = ['DURATION', 'EXIT', 'HOST', 'PID', 'TRAFFIC'] as const;
export const LOG_ON_FAILURE_WORDS = ['ATTEMPT', 'HOST'] as const;

/** Per-service settings that only `[service:…]` sections have. */
export interface ServiceOnlySettings {
  /** A log file of the service's own, written besides the daemon's destination (xinetd's `log_type = FILE`). */
  log_file?: string;
  /** Log a record when a handler starts and ends, with these fields. */
  log_on_success?: Array<(typeof LOG_ON_SUCCESS_WORDS)[number]>;
  /** Log refused clients with these fields. */
  log_on_failure?: Array<(typeof LOG_ON_FAILURE_WORDS)[number]>;
  /** Dispatches per rate_window before the service is suspended (the BSD looping guard; xinetd's cps); 0 = no limit. */
  rate?: number;
  /** Seconds of the rate window; default 60. */
  rate_window?: number;
  /** Seconds a suspended service stays suspended; default retry_time. */
  rate_suspend?: number;
  /** Set SO_KEEPALIVE on accepted tcp connections (xinetd's KEEPALIVE flag). */
  keepalive?: boolean;
  /** Set TCP_NODELAY on accepted tcp connections (xinetd's NODELAY flag). */
  tcp_nodelay?: boolean;
}

/** Whether a service reads the PROXY protocol header its load balancers send, and from whom. */
export interface ProxySettings {
  /** Read a header before anything else: of version 1, 2 or either; `off` (the default) reads none. */
  proxy_protocol?: 'any' | 'off' | 'v1' | 'v2';
  /** The balancers: only a connection from these addresses may send a header. */
  proxy_from?: AddressPattern[];
  /** Serve a connection from outside proxy_from as a direct one (its own address is the client) instead of refusing it. */
  proxy_direct?: boolean;
}

/** Settings of one `[service:NAME/PROTO]` section. */
export type ServiceSettings = ProcessSettings & AccessSettings & ProxySettings & ServiceOnlySettings;

/** A `[service:NAME/PROTO]` section as read: its settings, its header's line and the line of each key. */
export type ServiceSection = ServiceSettings & { line: number; keyLines: Readonly<Record<string, number>> };

/** Daemon settings from `[daemon]`; a key the file leaves out is undefined, and the caller's default applies. */
export interface DaemonSettings extends ProcessSettings {
  /** What plain `tcp`/`udp` in inetd.conf mean: IPv4 only (`inet4`) or dual stack (`inet46`). */
  default_family?: 'inet4' | 'inet46';
  /** Log one record per connection. */
  log_connections?: boolean;
  /** Where log records go. */
  log_destination?: LogDestination;
  /** Absolute path of the log file; required when log_destination is `file`. */
  log_file?: string;
  /** Least severe level logged. */
  log_level?: LogLevel;
  /** Children per service when the entry sets none; 0 = no limit. */
  max_children?: number;
  /** Absolute path of the pid file; '' = no pid file. */
  pidfile?: string;
  /** Spawns per minute per service before it is suspended; 0 = no limit. */
  rate?: number;
  /** Seconds a suspended service waits, and between bind retries. */
  retry_time?: number;
  /** Syslog message format. */
  syslog_format?: SyslogFormat;
  /** Syslog socket: an absolute path, or `@name` for an abstract socket. */
  syslog_socket?: string;
  /** Answer internal UDP services from loopback source addresses. */
  udp_loopback?: boolean;
  /** Seconds an internal stream connection (echo, discard, chargen) may move no byte before it is closed; 0 = never. */
  internal_idle_timeout?: number;
  /** Internal stream connections open at once in the whole daemon; 0 = a quarter of the fd limit, at most 4096. */
  internal_max_connections?: number;
  /** Check hosts.allow and hosts.deny before serving a client. */
  tcp_wrappers?: boolean;
  /** Path of hosts.allow. */
  hosts_allow?: string;
  /** Path of hosts.deny. */
  hosts_deny?: string;
  /** Seconds a client's host-name lookup may take, for name patterns in hosts files; 0 = no lookups. */
  reverse_lookup?: number;
  /** Default for per_source: handlers at once per client address; 0 = no limit. */
  per_source?: number;
  /** Default for cps: connections per minute per client address; 0 = no limit. */
  cps?: number;
  /** Unsafe ownership or modes (strict-modes.ts) are errors instead of warnings. */
  strict_modes?: boolean;
  /** The control socket's path (`ninetd status`, `ninetd reload`); '' = none. */
  control_socket?: string;
  /** Where /metrics is served; not served when left out (the default). */
  metrics_listen?: ListenAddress;
  /** Client addresses allowed to read /metrics; default loopback only. */
  metrics_from?: AddressPattern[];
}

/** An address and port to listen on; host `*` is every address. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Everything the settings file sets: `[daemon]`, and each `[service:NAME/PROTO]` by `NAME/PROTO`. */
export type Settings = { daemon: DaemonSettings; services: Map<string, ServiceSection> };

/** Why a value was refused; the caller adds file, line, section and key. */
class Invalid {
  constructor(readonly message: string) {}
}

/** Parses the decoded string of one value into its typed form, or says why it cannot. */
type Validator<T> = (raw: string) => T | Invalid;

/** Codes this module reports (listed in docs/errors.md), so a typo cannot mint a new one. */
type SettingsCode =
  | 'ERR_SETTINGS_DUPLICATE'
  | 'ERR_SETTINGS_KEY'
  | 'ERR_SETTINGS_READ'
  | 'ERR_SETTINGS_SECTION'
  | 'ERR_SETTINGS_SYNTAX'
  | 'ERR_SETTINGS_VALUE';

// Word tables, each sorted; `satisfies Record<…>` makes the compiler check that a table holds
// every word of its type and no other, so it cannot drift from the logger's own lists.

/** Values of default_family. */
const FAMILIES = { inet4: true, inet46: true } as const satisfies Record<NonNullable<DaemonSettings['default_family']>, true>;

/** Values of log_destination. */
const LOG_DESTINATIONS = { file: true, stderr: true, syslog: true } as const satisfies Record<LogDestination, true>;

/** Values of log_level. */
const LOG_LEVELS = { debug: true, error: true, fatal: true, info: true, trace: true, warn: true } as const satisfies Record<LogLevel, true>;

/** Values of proxy_protocol. */
const PROXY_VERSIONS = { any: true, off: true, v1: true, v2: true } as const satisfies Record<NonNullable<ProxySettings['proxy_protocol']>, true>;

/** Values of syslog_format. */
const SYSLOG_FORMATS = { rfc3164: true, rfc5424: true } as const satisfies Record<SyslogFormat, true>;

/** Spellings of a boolean: the ones other daemons' ini files accept. Sorted. */
const BOOLEANS = { '0': false, '1': true, false: false, no: false, off: false, on: true, true: true, yes: true } as const;

/** Largest count accepted: it must fit a C int, as the inetd.conf limits do. */
const MAX_COUNT = 2 ** 31 - 1;

/** Longest retry_time: setTimeout waits at most 2^31-1 ms, and beyond that fires after 1 ms. */
const MAX_RETRY_SECONDS = Math.floor(MAX_COUNT / 1000);

/** Longest unix socket path in bytes: sun_path is 108 bytes on Linux, one for the NUL. */
const MAX_UNIX_PATH = 107;

/** Looks a keyword up in an `as const` table; undefined when absent (never inherited keys). */
function lookup<T extends object>(table: T, key: string): T[keyof T] | undefined {
  return Object.hasOwn(table, key) ? table[key as keyof T] : undefined;
}

/** `a, b or c`, for "expected …" hints. */
function oneOf(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** One of the words of a table, spelled exactly. */
function word<W extends string>(table: Record<W, true>): Validator<W> {
  return (raw) => (lookup(table, raw) ? (raw as W) : new Invalid(`unknown value "${raw}" (expected ${oneOf(Object.keys(table))})`));
}

/** A boolean in any spelling of BOOLEANS. */
const boolean: Validator<boolean> = (raw) =>
  lookup(BOOLEANS, raw) ?? new Invalid(`"${raw}" is not a boolean (expected ${oneOf(['true', 'false', 'yes', 'no', 'on', 'off', '1', '0'])})`);

/** A decimal integer from min to max. */
function integer(min: number, max: number): Validator<number> {
  return (raw) => {
    if (!/^[0-9]+$/.test(raw)) return new Invalid(`"${raw}" is not a whole number (expected ${min} to ${max})`);
    const n = Number(raw);
    return n >= min && n <= max ? n : new Invalid(`"${raw}" is out of range (expected ${min} to ${max})`);
  };
}

/** An absolute path; with `orNone`, the empty string too (meaning "none"). */
function absolutePath(orNone: boolean): Validator<string> {
  return (raw) => {
    if (raw.startsWith('/') || (orNone && raw === '')) return raw;
    return new Invalid(`"${raw}" is not an absolute path (expected /path${orNone ? ', or nothing for none' : ''})`);
  };
}

/** A unix socket address: an absolute path, or `@name` for Linux's abstract namespace. */
const socketPath: Validator<string> = (raw) => {
  if (!raw.startsWith('/') && !(raw.startsWith('@') && raw.length > 1)) {
    return new Invalid(`"${raw}" is not a socket path (expected /path or @abstract-name)`);
  }
  // The abstract name's leading NUL takes the byte the path's trailing NUL would: same limit.
  const bytes = Buffer.byteLength(raw.startsWith('@') ? raw.slice(1) : raw);
  return bytes <= MAX_UNIX_PATH ? raw : new Invalid(`"${raw}" is ${bytes} bytes long (expected at most ${MAX_UNIX_PATH})`);
};

/** An octal file-mode mask from 0 to 0777, with or without a leading 0. */
const octalMode: Validator<number> = (raw) => {
  const n = /^[0-7]{1,4}$/.test(raw) ? parseInt(raw, 8) : NaN;
  return n <= 0o777 ? n : new Invalid(`"${raw}" is not an octal mode (expected e.g. 022)`);
};

/** An environment variable name, as the shell accepts them. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `NAME=value` pairs separated by blanks (xinetd's `env`). */
const envPairs: Validator<Record<string, string>> = (raw) => {
  const out: Record<string, string> = {};
  for (const pair of raw.split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (eq < 0 || !ENV_NAME.test(name)) return new Invalid(`"${pair}" is not NAME=value (expected e.g. LANG=C.UTF-8 TZ=UTC)`);
    out[name] = pair.slice(eq + 1);
  }
  return out;
};

/** Variable names separated by blanks (xinetd's `passenv`). */
const envNames: Validator<string[]> = (raw) => {
  const names = raw.split(/\s+/).filter(Boolean);
  const bad = names.find((n) => !ENV_NAME.test(n));
  return bad === undefined ? names : new Invalid(`"${bad}" is not a variable name (expected e.g. TZ LANG)`);
};

/** Size suffixes for rlimit_as. Sorted. */
const SIZE_SUFFIXES = { '': 1, G: 2 ** 30, K: 2 ** 10, M: 2 ** 20 } as const;

/** A resource limit: a whole number (with K, M or G for sizes), or `unlimited` (-1). */
function limit(sized: boolean): Validator<number> {
  return (raw) => {
    if (raw === 'unlimited') return -1;
    const m = /^([0-9]+)([KMG]?)$/.exec(raw);
    const mult = m && (sized || m[2] === '') ? SIZE_SUFFIXES[m[2] as keyof typeof SIZE_SUFFIXES] : undefined;
    if (!m || mult === undefined) return new Invalid(`"${raw}" is not a limit (expected a whole number${sized ? ' with K, M or G' : ''}, or unlimited)`);
    const n = Number(m[1]) * mult;
    return Number.isSafeInteger(n) ? n : new Invalid(`"${raw}" is too large`);
  };
}

/** Addresses and networks separated by blanks or commas: 10.0.0.0/8 [::1] 192.168.1.5. */
const addressList: Validator<AddressPattern[]> = (raw) => {
  const { patterns, bad } = parseAddressList(raw);
  if (bad.length > 0) return new Invalid(`"${bad[0]}" is not an address or network (expected e.g. 10.0.0.0/8 [::1])`);
  if (patterns.length === 0) return new Invalid('no address given (expected e.g. 10.0.0.0/8 [::1])');
  return patterns;
};

/** The control socket: an absolute path (no abstract name: it would have no file mode), or nothing for none. */
const controlSocketPath: Validator<string> = (raw) => {
  if (raw === '') return raw;
  if (!raw.startsWith('/')) return new Invalid(`"${raw}" is not an absolute path (expected /path, or nothing for none)`);
  const bytes = Buffer.byteLength(raw);
  return bytes <= MAX_UNIX_PATH ? raw : new Invalid(`"${raw}" is ${bytes} bytes long (expected at most ${MAX_UNIX_PATH})`);
};

/** `ADDRESS:PORT` with an IPv4 literal, `[IPv6]` or `*`. */
const listenAddress: Validator<ListenAddress> = (raw) => {
  const m = /^(\*|\[[^\]]+\]|[0-9.]+):([0-9]{1,5})$/.exec(raw);
  const host = m ? m[1]!.replace(/^\[(.*)\]$/, '$1') : '';
  const port = m ? Number(m[2]) : NaN;
  const ipOk = host === '*' || (parseIp(host) !== null && (m![1]!.startsWith('[') ? host.includes(':') : !host.includes(':')));
  if (!m || !ipOk || port > 65535) return new Invalid(`"${raw}" is not an address and port (expected e.g. 127.0.0.1:9101, [::1]:9101 or *:9101)`);
  return { host, port };
};

/** `hh:mm-hh:mm` intervals separated by blanks (xinetd's access_times); 24:00 may end one. */
const timeIntervals: Validator<Array<[number, number]>> = (raw) => {
  const out: Array<[number, number]> = [];
  for (const w of raw.split(/\s+/).filter(Boolean)) {
    const m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(w);
    const [h1, m1, h2, m2] = (m ?? []).slice(1).map(Number) as [number, number, number, number];
    const ok = m && h1 <= 24 && h2 <= 24 && m1 <= 59 && m2 <= 59 && h1 * 60 + m1 <= 1440 && h2 * 60 + m2 <= 1440;
    if (!ok) return new Invalid(`"${w}" is not a time interval (expected hh:mm-hh:mm, e.g. 8:00-18:30)`);
    out.push([h1 * 60 + m1, h2 * 60 + m2]);
  }
  return out.length > 0 ? out : new Invalid('no interval given (expected e.g. 8:00-18:30)');
};

/** Upper-case words of `allowed` separated by blanks, or `none` for the empty set. */
function wordSet<W extends string>(allowed: readonly W[]): Validator<W[]> {
  return (raw) => {
    const got = raw.split(/\s+/).filter(Boolean);
    if (got.length === 1 && got[0] === 'none') return [];
    const bad = got.find((w) => !(allowed as readonly string[]).includes(w));
    if (bad !== undefined || got.length === 0) return new Invalid(`unknown word "${bad ?? ''}" (expected some of ${oneOf([...allowed])}, or none)`);
    return [...new Set(got)] as W[];
  };
}

/** Keys of AccessSettings → validator. Sorted. */
const ACCESS_KEYS = {
  access_times: timeIntervals,
  banner: absolutePath(false),
  banner_fail: absolutePath(false),
  banner_success: absolutePath(false),
  cps: integer(0, MAX_COUNT),
  instances: integer(0, MAX_COUNT),
  no_access: addressList,
  only_from: addressList,
  per_source: integer(0, MAX_COUNT),
} as const satisfies { [K in keyof AccessSettings]-?: Validator<NonNullable<AccessSettings[K]>> };

/** Keys of ProxySettings → validator. Sorted. */
const PROXY_KEYS = {
  proxy_direct: boolean,
  proxy_from: addressList,
  proxy_protocol: word(PROXY_VERSIONS),
} as const satisfies { [K in keyof ProxySettings]-?: Validator<NonNullable<ProxySettings[K]>> };

/** Keys of ProcessSettings → validator. Sorted; shared by `[daemon]` and `[service:…]`. */
const PROCESS_KEYS = {
  cwd: absolutePath(false),
  env: envPairs,
  groups: boolean,
  nice: (raw: string) => (/^-?[0-9]+$/.test(raw) && Number(raw) >= -20 && Number(raw) <= 19 ? Number(raw) : new Invalid(`"${raw}" is not a nice value (expected -20 to 19)`)),
  passenv: envNames,
  rlimit_as: limit(true),
  rlimit_cpu: limit(false),
  rlimit_data: limit(true),
  rlimit_nofile: limit(false),
  rlimit_nproc: limit(false),
  rlimit_rss: limit(true),
  rlimit_stack: limit(true),
  umask: octalMode,
} as const satisfies { [K in keyof ProcessSettings]-?: Validator<NonNullable<ProcessSettings[K]>> };

/** `[daemon]` key → validator. Sorted; `satisfies` keeps it and DaemonSettings in step. */
const DAEMON_KEYS = {
  ...PROCESS_KEYS,
  control_socket: controlSocketPath,
  cps: integer(0, MAX_COUNT),
  default_family: word(FAMILIES),
  hosts_allow: absolutePath(false),
  hosts_deny: absolutePath(false),
  internal_idle_timeout: integer(0, MAX_RETRY_SECONDS),
  internal_max_connections: integer(0, MAX_COUNT),
  log_connections: boolean,
  log_destination: word(LOG_DESTINATIONS),
  log_file: absolutePath(false),
  log_level: word(LOG_LEVELS),
  max_children: integer(0, MAX_COUNT),
  metrics_from: addressList,
  metrics_listen: listenAddress,
  per_source: integer(0, MAX_COUNT),
  pidfile: absolutePath(true),
  rate: integer(0, MAX_COUNT),
  retry_time: integer(1, MAX_RETRY_SECONDS),
  reverse_lookup: integer(0, 60),
  strict_modes: boolean,
  syslog_format: word(SYSLOG_FORMATS),
  syslog_socket: socketPath,
  tcp_wrappers: boolean,
  udp_loopback: boolean,
} as const satisfies { [K in keyof DaemonSettings]-?: Validator<NonNullable<DaemonSettings[K]>> };

/** A rule over several keys of one section: the key it is reported on and why, or null. */
type CrossCheck = (values: Record<string, unknown>, written: ReadonlySet<string>) => { key: string; message: string } | null;

/** Checks on `[daemon]` that no single value can make. */
const DAEMON_CHECKS: readonly CrossCheck[] = [
  // A bad log_file is reported on its own line; this is for one that is not there at all.
  (values, written) =>
    values.log_destination === 'file' && !written.has('log_file')
      ? { key: 'log_destination', message: `"file" needs a log file (expected log_file = /path in the same section)` }
      : null,
];

/** What a kind of section is: how its header looks, its keys, and its cross-key checks. */
interface SectionKind {
  /** The header as shown in "expected" hints. */
  header: string;
  /** True for `[kind:NAME]` headers, false for a bare `[kind]`. */
  named: boolean;
  keys: Readonly<Record<string, Validator<unknown>>>;
  checks: readonly CrossCheck[];
}

/** Keys of ServiceOnlySettings → validator. Sorted. */
const SERVICE_ONLY_KEYS = {
  keepalive: boolean,
  log_file: absolutePath(false),
  log_on_failure: wordSet(LOG_ON_FAILURE_WORDS),
  log_on_success: wordSet(LOG_ON_SUCCESS_WORDS),
  rate: integer(0, MAX_COUNT),
  rate_suspend: integer(1, MAX_RETRY_SECONDS),
  rate_window: integer(1, 86400),
  tcp_nodelay: boolean,
} as const satisfies { [K in keyof ServiceOnlySettings]-?: Validator<NonNullable<ServiceOnlySettings[K]>> };

/** `[service:NAME/PROTO]` key → validator. Sorted. */
const SERVICE_KEYS = { ...ACCESS_KEYS, ...PROCESS_KEYS, ...PROXY_KEYS, ...SERVICE_ONLY_KEYS } as const satisfies {
  [K in keyof ServiceSettings]-?: Validator<NonNullable<ServiceSettings[K]>>;
};

/** Checks on `[service:…]` that no single value can make. */
const SERVICE_CHECKS: readonly CrossCheck[] = [
  // Trusting every sender would let any client say it is anyone (proxy-protocol.txt, section 5).
  (values, written) =>
    values.proxy_protocol !== undefined && values.proxy_protocol !== 'off' && !written.has('proxy_from')
      ? { key: 'proxy_protocol', message: `"${String(values.proxy_protocol)}" needs the balancers' addresses (expected proxy_from = ADDRESSES in the same section)` }
      : null,
  (_values, written) => {
    const stray = ['proxy_from', 'proxy_direct'].find((k) => written.has(k));
    return stray && !written.has('proxy_protocol')
      ? { key: stray, message: `has no effect without proxy_protocol (expected proxy_protocol = v1, v2 or any in the same section)` }
      : null;
  },
];

/** Section kinds: the part of a header before any `:` → its schema. Sorted. */
const SECTION_KINDS = {
  daemon: { header: '[daemon]', named: false, keys: DAEMON_KEYS, checks: DAEMON_CHECKS },
  service: { header: '[service:NAME/PROTO]', named: true, keys: SERVICE_KEYS, checks: SERVICE_CHECKS },
} as const satisfies Record<string, SectionKind>;

/** One section of the file as read so far; a repeated header reopens it. */
interface Section {
  kind: SectionKind;
  /** `[daemon]`, `[service:echo/tcp]`: how messages name it. */
  label: string;
  line: number;
  values: Record<string, unknown>;
  /** Line of each key written, valid or not, to report duplicates and for cross checks. */
  keyLines: Map<string, number>;
}

/** A section header alone on its line, blanks and a comment allowed around it; name in [1]. */
const HEADER = /^\s*\[([^\]]*)\]\s*(?:[;#].*)?$/;
/** Anything that starts like a header, to tell a broken one from a key. */
const HEADER_START = /^\s*\[/;
/** `key = value`, split at the first `=` as `ini` does; a line with no `=` has no [2]. */
const KEY_VALUE = /^([^=]*)(=(.*))?$/;

/** Every header SECTION_KINDS accepts, for "expected …" hints. */
const EXPECTED_SECTIONS = Object.values(SECTION_KINDS).map((k: SectionKind) => k.header);

/** A key, value or section name decoded as `ini` decodes it, always as text. */
function decode(token: string | undefined): string {
  // `ini.unsafe("'123'")` JSON-parses what was inside the quotes into the number 123.
  const value: unknown = ini.unsafe(token ?? '');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The kind a section name belongs to, or null when no listed kind has that shape. */
function sectionKind(name: string): SectionKind | null {
  const colon = name.indexOf(':');
  const kind: SectionKind | undefined = lookup(SECTION_KINDS, colon < 0 ? name : name.slice(0, colon));
  if (!kind) return null;
  // A named section is `kind:NAME/PROTO`, so a service section names its protocol too.
  const shapeFits = kind.named ? /^[^:]+:.+\/[a-z0-9]+$/.test(name) : colon < 0;
  return shapeFits ? kind : null;
}

/** Parses the whole text of the settings file `file`; every bad line yields an error. */
export function parseSettings(text: string, file: string): { settings: Settings; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const report = (line: number, code: SettingsCode, message: string): void => {
    errors.push({ file, line, code, message });
  };
  const sections = new Map<string, Section>();
  // Where the keys that follow go: null before the first header and after a rejected one,
  // whose keys are not checked (its header already has the error, and it has no schema).
  let current: Section | null = null;
  let seenHeader = false;

  for (const [index, raw] of text.replace(/^\uFEFF/, '').split('\n').entries()) {
    const lineNo = index + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (/^\s*([;#]|$)/.test(line)) continue;

    const header = HEADER.exec(line);
    if (header) {
      seenHeader = true;
      const name = decode(header[1]);
      const label = `[${name}]`;
      const kind = sectionKind(name);
      const known = sections.get(name);
      current = known ?? (kind ? { kind, label, line: lineNo, values: {}, keyLines: new Map() } : null);
      if (known) {
        // `ini` would merge the two silently; later keys still go to (and are checked against) it.
        report(lineNo, 'ERR_SETTINGS_DUPLICATE', `duplicate section "${label}" (first defined at ${file}:${known.line})`);
      } else if (current) {
        sections.set(name, current);
      } else {
        report(lineNo, 'ERR_SETTINGS_SECTION', `unknown section "${label}" (expected ${oneOf(EXPECTED_SECTIONS)})`);
      }
      continue;
    }
    if (HEADER_START.test(line)) {
      // `ini` would read this as a key named "[daemon" set to true.
      report(lineNo, 'ERR_SETTINGS_SYNTAX', `bad section header "${line.trim()}" (expected [name] alone on its line)`);
      current = null;
      seenHeader = true;
      continue;
    }

    const kv = KEY_VALUE.exec(line)!;
    const key = decode(kv[1]);
    if (kv[2] === undefined) {
      // `ini` would set the key to true; say so rather than guess that is what was meant.
      report(lineNo, 'ERR_SETTINGS_SYNTAX', `missing "=" after "${line.trim()}" (expected key = value)`);
      continue;
    }
    if (key === '') {
      report(lineNo, 'ERR_SETTINGS_SYNTAX', `missing key before "=" in "${line.trim()}" (expected key = value)`);
      continue;
    }
    if (!current) {
      if (!seenHeader) {
        report(lineNo, 'ERR_SETTINGS_SECTION', `key "${key}" is outside any section (expected ${oneOf(EXPECTED_SECTIONS)} above it)`);
      }
      continue;
    }
    const section = current;
    const validate = lookup(section.kind.keys, key);
    if (!validate) {
      report(lineNo, 'ERR_SETTINGS_KEY', `${section.label} unknown key "${key}" (expected ${oneOf(Object.keys(section.kind.keys).sort())})`);
      continue;
    }
    const first = section.keyLines.get(key);
    if (first !== undefined) {
      report(lineNo, 'ERR_SETTINGS_DUPLICATE', `${section.label} duplicate key "${key}" (first defined at ${file}:${first})`);
      continue;
    }
    section.keyLines.set(key, lineNo);
    const value = validate(decode(kv[3]));
    if (value instanceof Invalid) report(lineNo, 'ERR_SETTINGS_VALUE', `${section.label} ${key}: ${value.message}`);
    else section.values[key] = value;
  }

  for (const section of sections.values()) {
    const written = new Set(section.keyLines.keys());
    for (const check of section.kind.checks) {
      const found = check(section.values, written);
      if (found) report(section.keyLines.get(found.key) ?? section.line, 'ERR_SETTINGS_VALUE', `${section.label} ${found.key}: ${found.message}`);
    }
  }
  // Cross checks run last but belong on their lines; sort is stable, so one line keeps its order.
  errors.sort((a, b) => a.line - b.line);

  // Every value in it was produced by the DAEMON_KEYS validator of its key, whose type
  // `satisfies` ties to DaemonSettings.
  const daemon = (sections.get('daemon')?.values ?? {}) as DaemonSettings;
  const services = new Map<string, ServiceSection>();
  for (const [name, section] of sections) {
    if (!name.startsWith('service:')) continue;
    services.set(name.slice('service:'.length), { ...(section.values as ServiceSettings), line: section.line, keyLines: Object.fromEntries(section.keyLines) });
  }
  return { settings: { daemon, services }, errors };
}

/** What loadSettings found: the settings, the errors that stop them, and warnings to log. */
export interface LoadedSettings {
  settings: Settings;
  errors: ConfigError[];
  warnings: ConfigError[];
}

/**
 * Reads and parses the settings file; one that cannot be read, or is not a regular file of at
 * most FILE_CAPS.settings bytes, is an ERR_SETTINGS_READ error on line 0 (a FIFO never blocks).
 * As root, the file and each `banner`/`banner_fail` it names are checked for strict modes, with
 * the file's own `strict_modes`: an unsafe settings file is an error on line 0, an unsafe banner
 * an error on its section's line (both stop the settings), or warnings without strict modes.
 */
export async function loadSettings(file: string, euid?: number): Promise<LoadedSettings> {
  const read = readRegularFile(file, 'settings');
  if (isFileProblem(read)) {
    const code: SettingsCode = 'ERR_SETTINGS_READ';
    return { settings: { daemon: {}, services: new Map() }, errors: [{ file, line: 0, code, message: `cannot read file: ${fileProblemReason(read)}` }], warnings: [] };
  }
  const parsed = parseSettings(read.data.toString('utf8'), file);
  const modes = strictModesFor(parsed.settings.daemon.strict_modes, euid);
  const findings = [checkFile(file, 'settings file', { file, line: 0 }, modes)];
  for (const [name, s] of parsed.settings.services) {
    for (const banner of [s.banner, s.banner_fail]) {
      if (banner) findings.push(checkFile(banner, `banner of [service:${name}]`, { file, line: s.line }, modes));
    }
  }
  const warnings: ConfigError[] = [];
  for (const f of findings) if (f) (f.error ? parsed.errors : warnings).push(f.problem);
  parsed.errors.sort((a, b) => a.line - b.line);
  return { ...parsed, warnings };
}
