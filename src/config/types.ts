// The values configuration produces: one ServiceEntry per served inetd.conf line, and errors.
// Types only; no parsing and no I/O here.
import type { BuiltinName } from '../builtins/names.js';

/** Socket types an entry may name; raw and rdm are rejected by the parser. */
export const SOCKET_TYPES = ['dgram', 'seqpacket', 'stream'] as const;
export type SocketType = (typeof SOCKET_TYPES)[number];

/** Address family a service binds: inet4, inet6 (V6ONLY), inet46 (dual stack) or unix. */
export type Family = 'inet4' | 'inet46' | 'inet6' | 'unix';

/** Transport named by the protocol field, without the family suffix. */
export type Transport = 'tcp' | 'udp' | 'unix';

/** rpcbind's transport names (netconfig(5) netids) an RPC entry is registered under. */
export type RpcNetid = 'tcp' | 'tcp6' | 'udp' | 'udp6';

/** The ONC RPC program an `rpc/…` entry serves, registered with rpcbind for each version. */
export interface RpcService {
  /** Program as written in the service field: a name from the rpc database, or a number without leading zeros. */
  name: string;
  program: number;
  /** Lowest and highest version served; every version in between is registered. */
  low: number;
  high: number;
  /** Netids the bound socket is registered under: one, or two for a dual-stack `rpc/tcp46`. */
  netids: RpcNetid[];
}

/** Where an entry came from, for `file:line` messages. */
export interface Origin {
  file: string;
  line: number;
}

/** One service as the config describes it, names already resolved to numbers. */
export interface ServiceEntry extends Origin {
  /** Service field as written, minus any host prefix: `echo`, `8007`, `tcpmux/+date`, `/run/x.sock`. */
  name: string;
  /** Name in logs and ini sections: the service field as written without host prefix, `+` or unix owner prefix, and a port without leading zeros: `echo`, `8007`, `tcpmux/date`, `/run/x.sock`. */
  service: string;
  /** Protocol field as written: `tcp`, `tcp6`, `udp46`, `unix`, `rpc/udp`. */
  protocol: string;
  socketType: SocketType;
  transport: Transport;
  family: Family;
  /** Bind address literal; `*` means any address of the family. Empty for unix. */
  host: string;
  /** Port number; 0 for unix sockets and rpc entries (the kernel picks one). */
  port: number;
  /** Socket path for unix services; '' otherwise. */
  path: string;
  /** Owner, group and mode of a unix socket file (FreeBSD `:user:group:mode:/path`). */
  unixOwner?: { user: string; group: string; mode: number };
  wait: boolean;
  /** FreeBSD `/max-child`: handlers at once (the `instances` limit); 0 = not set here. */
  instances: number;
  /** FreeBSD `/max-conn-per-ip-per-minute` (the `cps` limit); 0 = not set here. */
  cps: number;
  /** FreeBSD `/max-child-per-ip` (the `per_source` limit); 0 = not set here. */
  perSource: number;
  /** OpenBSD/GNU `.max`: dispatches per minute before the service is suspended; 0 = not set here. */
  rate: number;
  user: string;
  /** Group named after `:` or `.`, '' when the user's primary group applies. */
  group: string;
  /** Resolved credentials: uid, primary gid, supplementary groups. */
  uid: number;
  gid: number;
  groups: number[];
  /** `internal` for builtins, `redirect` for relayed services, else the absolute program path. */
  server: string;
  /** argv, argv[0] first; for builtins the optional name and options. */
  argv: string[];
  /** `redirect ADDRESS PORT`: the supervisor relays each connection there (redirect.ts). */
  redirect?: { host: string; port: number };
  /** The internal service an `internal` entry runs. */
  builtin?: BuiltinName;
  /** tcpmux sub-service: `+` answered by us (`plus`), or by the handler. */
  tcpmux?: { name: string; plus: boolean };
  /** An `rpc/…` entry: the program and versions to register for the port the kernel picks. */
  rpc?: RpcService;
}

/** A problem found in the configuration; `code` is stable, `message` is for people. */
export interface ConfigError extends Origin {
  code: string;
  message: string;
}

/** Result of reading a configuration: what can be served and what was wrong. */
export interface Config {
  entries: ServiceEntry[];
  errors: ConfigError[];
  /** Problems that stop nothing (strict-modes findings without strict_modes); log them. */
  warnings?: ConfigError[];
}

/** Formats a config error as `file:line: message`. */
export function formatConfigError(e: ConfigError): string {
  return `${e.file}:${e.line}: ${e.message}`;
}
