// Resolves what a service runs with: its inetd.conf entry, its `[service:NAME/PROTO]` section,
// the `[daemon]` defaults and the command line become one ServicePlan, and every limit keeps the
// name of the place it came from ("[service:echo/tcp] per_source", "inetd.conf:12 max-child",
// "-s"), so refusals and the state dump can say which setting acted. Pure: values in, values
// out. It reads no file and applies nothing; the service table does.
import type { AddressPattern } from '../access/address.js';
import { serviceKey } from './diff.js';
import type { AccessSettings, DaemonSettings, ProcessSettings, ServiceSettings } from './settings.js';
import type { ServiceEntry } from './types.js';

/** A value and the setting it came from. */
export interface Sourced<T> {
  value: T;
  /** `[service:echo/tcp] instances`, `etc/inetd.conf:12 max-child`, `-c`, `[daemon] max_children`, or `default`. */
  from: string;
}

/** The per-service limits; 0 turns one off. */
export interface Limits {
  /** Handlers (and in-process connections) at once. */
  instances: Sourced<number>;
  /** Handlers at once for one client address. */
  perSource: Sourced<number>;
  /** Connections per minute from one client address. */
  cps: Sourced<number>;
  /** Dispatches per minute before the service is suspended ("looping"). */
  rate: Sourced<number>;
}

/** How a handler process is set up, every field decided. */
export interface ProcessPlan {
  umask: number;
  /** Absolute nice value; 0 leaves the supervisor's. */
  nice: number;
  cwd: string;
  /** Variables added to the handler's environment. */
  env: Record<string, string>;
  /** Names of ninetd's own variables passed on. */
  passenv: string[];
  /** Resource limits by setting name; -1 is unlimited. */
  rlimits: Partial<Record<RlimitKey, number>>;
}

/** The resource-limit keys of the settings file. Sorted. */
export const RLIMIT_KEYS = ['rlimit_as', 'rlimit_cpu', 'rlimit_data', 'rlimit_nofile', 'rlimit_nproc', 'rlimit_rss', 'rlimit_stack'] as const;
export type RlimitKey = (typeof RLIMIT_KEYS)[number];

/** How a service reads the PROXY header its load balancers send (see docs/fleet.md). */
export interface ProxyPlan {
  /** The header versions accepted. */
  versions: 'any' | 'v1' | 'v2';
  /** The balancers: only a connection from these may send a header. */
  from: AddressPattern[];
  /** A connection from elsewhere is served as a direct one, not refused. */
  direct: boolean;
}

/** Everything one service runs with. */
export interface ServicePlan {
  /** Identity across reloads (what it listens on); see serviceKey. */
  key: string;
  entry: ServiceEntry;
  /** `[service:NAME/PROTO]`: how refusals name the section. */
  section: string;
  limits: Limits;
  process: ProcessPlan;
  /** Who may connect: address rules, times of day and banner files. */
  access: AccessSettings;
  /** The PROXY header read before anything else; null when the service reads none. */
  proxy: ProxyPlan | null;
  /** The looping guard's window, and how long it suspends the service (null: retry_time). */
  looping: { windowMs: number; suspendMs: number | null };
  /** Socket options set on each accepted tcp connection. */
  socket: { keepalive: boolean; nodelay: boolean };
  /** xinetd-style per-service records; null when the section asks for none. */
  log: { onSuccess: string[]; onFailure: string[] } | null;
  /** A log file of the service's own, besides the daemon's destination; null for none. */
  logFile: string | null;
}

/** The daemon-wide defaults of the per-service limits, flags over `[daemon]` over built-in values. */
export type LimitDefaults = Limits;

/** Command-line values that act as service defaults; undefined when the flag was not given. */
export interface LimitFlags {
  instances?: number;
  perSource?: number;
  cps?: number;
  rate?: number;
}

/** The AccessSettings keys a plan carries over from its section. Sorted. */
const ACCESS_COPIED = ['access_times', 'banner', 'banner_fail', 'banner_success', 'no_access', 'only_from'] as const satisfies ReadonlyArray<keyof AccessSettings>;

/** Built-in defaults, as the BSD inetds have them: 256 spawns a minute, nothing else limited. */
const BUILT_IN = { instances: 0, perSource: 0, cps: 0, rate: 256 } as const;

/** Each limit: its flag, its `[daemon]` key, its `[service:]` key and the inetd.conf field that sets it. */
const LIMIT_SOURCES = {
  cps: { flag: '-C', daemon: 'cps', section: 'cps', field: 'per-ip-per-minute' },
  instances: { flag: '-c', daemon: 'max_children', section: 'instances', field: 'max-child' },
  perSource: { flag: '-s', daemon: 'per_source', section: 'per_source', field: 'per-ip-children' },
  rate: { flag: '-R', daemon: 'rate', section: 'rate', field: '.max' },
} as const satisfies Record<keyof Limits, { flag: string; daemon: keyof DaemonSettings; section: keyof ServiceSettings | null; field: string }>;

const LIMIT_NAMES = Object.keys(LIMIT_SOURCES) as Array<keyof Limits>;

/** The first defined value of `candidates`, with its source; `fallback` when none is. */
function first(candidates: Array<[number | undefined, string]>, fallback: Sourced<number>): Sourced<number> {
  for (const [value, from] of candidates) if (value !== undefined) return { value, from };
  return fallback;
}

/** Daemon-wide limit defaults: the flag, else `[daemon]`, else the built-in value. */
export function resolveLimitDefaults(flags: LimitFlags, daemon: DaemonSettings): LimitDefaults {
  const out = {} as LimitDefaults;
  for (const name of LIMIT_NAMES) {
    const src = LIMIT_SOURCES[name];
    out[name] = first(
      [
        [flags[name], src.flag],
        [daemon[src.daemon] as number | undefined, `[daemon] ${src.daemon}`],
      ],
      { value: BUILT_IN[name], from: 'default' },
    );
  }
  return out;
}

/** The entry's own value of a limit (0 in inetd.conf means "not set"). */
function entryLimit(e: ServiceEntry, name: keyof Limits): number | undefined {
  const v = e[name];
  return v > 0 ? v : undefined;
}

/** The `[service:NAME/PROTO]` label of an entry. */
export function sectionName(e: ServiceEntry): string {
  return `${e.service}/${e.protocol}`;
}

/** Process settings of a section over the `[daemon]` defaults, with the built-in values last. */
function resolveProcess(own: ProcessSettings, daemon: ProcessSettings): ProcessPlan {
  const rlimits: ProcessPlan['rlimits'] = {};
  for (const k of RLIMIT_KEYS) {
    const v = own[k] ?? daemon[k];
    if (v !== undefined) rlimits[k] = v;
  }
  return {
    umask: own.umask ?? daemon.umask ?? 0o022,
    nice: own.nice ?? daemon.nice ?? 0,
    cwd: own.cwd ?? daemon.cwd ?? '/',
    env: own.env ?? daemon.env ?? {},
    passenv: own.passenv ?? daemon.passenv ?? [],
    rlimits,
  };
}

/**
 * The plan of one entry: the section's value of a limit, else the inetd.conf field, else the
 * daemon-wide default; handler settings from the section over `[daemon]`.
 */
export function resolveService(e: ServiceEntry, section: ServiceSettings | undefined, defaults: LimitDefaults, daemon: ProcessSettings): ServicePlan {
  const own = section ?? {};
  const label = `[service:${sectionName(e)}]`;
  const limits = {} as Limits;
  for (const name of LIMIT_NAMES) {
    const src = LIMIT_SOURCES[name];
    limits[name] = first(
      [
        [src.section ? (own[src.section] as number | undefined) : undefined, `${label} ${src.section}`],
        [entryLimit(e, name), `${e.file}:${e.line} ${src.field}`],
      ],
      defaults[name],
    );
  }
  const access: AccessSettings = {};
  for (const k of ACCESS_COPIED) if (own[k] !== undefined) (access as Record<string, unknown>)[k] = own[k];
  // `groups = no` (xinetd's default): the handler gets its group and no supplementary ones.
  const entry = (own.groups ?? daemon.groups) === false && e.gid >= 0 ? { ...e, groups: [e.gid] } : e;
  const log = own.log_on_success !== undefined || own.log_on_failure !== undefined ? { onSuccess: own.log_on_success ?? [], onFailure: own.log_on_failure ?? [] } : null;
  return {
    key: serviceKey(e),
    entry,
    section: label,
    limits,
    process: resolveProcess(own, daemon),
    access,
    proxy: resolveProxy(own),
    looping: { windowMs: (own.rate_window ?? 60) * 1000, suspendMs: own.rate_suspend === undefined ? null : own.rate_suspend * 1000 },
    socket: { keepalive: own.keepalive ?? false, nodelay: own.tcp_nodelay ?? false },
    log,
    logFile: own.log_file ?? null,
  };
}

/** The section's PROXY protocol settings; null when it is off (settings.ts made sure proxy_from is there when it is on). */
function resolveProxy(own: ServiceSettings): ProxyPlan | null {
  const versions = own.proxy_protocol ?? 'off';
  if (versions === 'off' || !own.proxy_from) return null;
  return { versions, from: own.proxy_from, direct: own.proxy_direct ?? false };
}

/** Plans for every entry, each with its section from `sections` (by NAME/PROTO). */
export function resolveServices(
  entries: Iterable<ServiceEntry>,
  sections: ReadonlyMap<string, ServiceSettings>,
  defaults: LimitDefaults,
  daemon: ProcessSettings,
): ServicePlan[] {
  return [...entries].map((e) => resolveService(e, sections.get(sectionName(e)), defaults, daemon));
}
