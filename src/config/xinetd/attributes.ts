// The attributes of xinetd.conf(5), every one of them: where it may be written (a service entry,
// the defaults entry, or both), whether it holds one value or a set that `+=` and `-=` change, how
// many values it takes, and whether ninetd serves it or refuses it by name. The table is the one
// place that decides "supported or refused"; read.ts and lower.ts look attributes up here and
// never keep a list of their own. Data only.

/** Where an attribute may be written. */
export type Scope = 'both' | 'defaults' | 'service';

/** How an attribute's values combine. */
export type Shape =
  /** Set once with `=`; a second line is an error. */
  | 'single'
  /** A set: `=` replaces, `+=` adds, `-=` removes; in defaults `=` adds (xinetd's cumulative effect). */
  | 'list';

/** One attribute of xinetd.conf(5). */
export interface Attribute {
  readonly scope: Scope;
  readonly shape: Shape;
  /** Number of values: exactly n, or [min, max] (max -1: any number). */
  readonly values: number | readonly [number, number];
  /** Null when ninetd serves it; else why not (the refusal names the attribute before it). */
  readonly refused: string | null;
}

const one = { shape: 'single', values: 1, refused: null } as const;
const list = { shape: 'list', values: [0, -1], refused: null } as const;

/** Refused: `attribute "x" is not supported (<why>)`. */
function refused(scope: Scope, why: string): Attribute {
  return { scope, shape: 'single', values: [0, -1], refused: why };
}

/** Every attribute of xinetd.conf(5) and of xinetd 2.3.15's attribute tables. Sorted. */
export const ATTRIBUTES = {
  access_times: { scope: 'service', shape: 'single', values: [0, -1], refused: null },
  banner: { scope: 'both', ...one },
  banner_fail: { scope: 'both', ...one },
  banner_success: { scope: 'both', ...one },
  bind: { scope: 'both', ...one },
  cps: { scope: 'both', shape: 'single', values: 2, refused: null },
  deny_time: refused('service', 'it only acts with the SENSOR flag, which ninetd does not have'),
  disable: { scope: 'service', ...one },
  disabled: { scope: 'defaults', ...list },
  enabled: { scope: 'defaults', ...list },
  env: { scope: 'service', ...list },
  flags: { scope: 'service', shape: 'single', values: [1, -1], refused: null },
  groups: { scope: 'both', ...one },
  group: { scope: 'service', ...one },
  id: { scope: 'service', ...one },
  instances: { scope: 'both', ...one },
  interface: { scope: 'both', ...one },
  libwrap: refused('service', 'ninetd checks hosts.allow and hosts.deny under the service and program names; use tcp_wrappers in [daemon]'),
  log_on_failure: { scope: 'both', ...list },
  log_on_success: { scope: 'both', ...list },
  log_type: { scope: 'both', shape: 'single', values: [2, 4], refused: null },
  max_load: refused('both', 'ninetd does not watch the load average'),
  mdns: refused('service', 'ninetd does not register services with mDNS'),
  nice: { scope: 'service', ...one },
  no_access: { scope: 'both', ...list },
  only_from: { scope: 'both', ...list },
  passenv: { scope: 'both', ...list },
  per_source: { scope: 'both', ...one },
  port: { scope: 'service', ...one },
  protocol: { scope: 'service', ...one },
  redirect: { scope: 'service', shape: 'single', values: 2, refused: null },
  rlimit_as: { scope: 'service', ...one },
  rlimit_cpu: { scope: 'service', ...one },
  rlimit_data: { scope: 'service', ...one },
  rlimit_files: { scope: 'service', ...one },
  rlimit_rss: { scope: 'service', ...one },
  rlimit_stack: { scope: 'service', ...one },
  rpc_number: refused('service', 'ONC RPC services are not served from xinetd files yet'),
  rpc_version: refused('service', 'ONC RPC services are not served from xinetd files yet'),
  server: { scope: 'service', ...one },
  server_args: { scope: 'service', shape: 'single', values: [0, -1], refused: null },
  socket_type: { scope: 'service', ...one },
  type: { scope: 'service', shape: 'single', values: [1, -1], refused: null },
  umask: { scope: 'both', ...one },
  user: { scope: 'service', ...one },
  v6only: { scope: 'both', ...one },
  wait: { scope: 'service', ...one },
} as const satisfies Record<string, Attribute>;

export type AttributeName = keyof typeof ATTRIBUTES;

/** The table entry of `name`, or undefined for a word xinetd does not know either. */
export function attribute(name: string): Attribute | undefined {
  return Object.hasOwn(ATTRIBUTES, name) ? ATTRIBUTES[name as AttributeName] : undefined;
}

/** Values of `type`, each served or refused. Sorted. */
export const TYPES = {
  INTERNAL: null,
  RPC: 'ONC RPC services are not served from xinetd files yet',
  TCPMUX: null,
  TCPMUXPLUS: null,
  UNLISTED: null,
} as const satisfies Record<string, string | null>;

/** Values of `flags`, each served (null) or refused (why). Sorted. */
export const FLAGS = {
  IDONLY: 'ninetd does not ask the client\'s identd (RFC 1413)',
  INTERCEPT: 'ninetd does not filter a running service\'s packets',
  IPv4: null,
  IPv6: null,
  KEEPALIVE: null,
  LABELED: 'ninetd does not set SELinux contexts',
  NAMEINARGS: null,
  NODELAY: null,
  NOLIBWRAP: null,
  NORETRY: 'ninetd never retries a failed start; the flag would change nothing, so say so',
  REUSE: null,
  SENSOR: 'ninetd has no sensor services',
} as const satisfies Record<string, string | null>;

/** Values of log_on_success: served, or a warning that it does nothing. Sorted. */
export const LOG_ON_SUCCESS = {
  DURATION: null,
  EXIT: null,
  HOST: null,
  PID: null,
  TRAFFIC: null,
  USERID: 'USERID is ignored: ninetd does not ask the client\'s identd (RFC 1413)',
} as const satisfies Record<string, string | null>;

/** Values of log_on_failure: served, or a warning that it does nothing. Sorted. */
export const LOG_ON_FAILURE = {
  ATTEMPT: null,
  HOST: null,
  USERID: 'USERID is ignored: ninetd does not ask the client\'s identd (RFC 1413)',
} as const satisfies Record<string, string | null>;
