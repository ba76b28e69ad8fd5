// Reads a configuration from disk: the inetd.conf file, the services and rpc databases, and the
// user, group and program checks the parser asks for. This is the I/O shell around parse.ts; it
// does not interpret a single field itself, and it never throws: an unreadable file is a
// ConfigError like any other.
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as native from '../native/index.js';
import { parseConfig, type Lookups } from './parse.js';
import { parseRpc, type RpcDb } from './rpc-db.js';
import { parseServices, type ServicesDb } from './services-db.js';
import type { Config, ConfigError } from './types.js';

/** Where names come from and how plain tcp/udp are read. */
export interface LoadOptions {
  /** Services database; default `/etc/services`. */
  servicesFile?: string;
  /** RPC program database; default `/etc/rpc`. */
  rpcFile?: string;
  /** Family of plain `tcp`/`udp`: `inet4` (default, as on the BSDs) or `inet46` (dual stack). */
  defaultFamily?: 'inet4' | 'inet46';
}

/** Default services database. */
export const SERVICES_FILE = '/etc/services';

/** Default RPC program database. */
export const RPC_FILE = '/etc/rpc';

/** `no such file or directory (ENOENT)` from a Node fs error. */
function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = /^[A-Z]+: ([^,]+)/.exec(e.message ?? '')?.[1] ?? String(e.message ?? err);
  return e.code ? `${text} (${e.code})` : text;
}

/** True when `file` is a regular file this process may execute. */
function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `lookup()`, or `fallback` when it throws: the parser must never see an exception. */
function orElse<T>(lookup: () => T, fallback: T): T {
  try {
    return lookup();
  } catch {
    // NSS can fail (an LDAP server down, a name the C library rejects): treat as not found.
    return fallback;
  }
}

/** Lookups backed by the real password and group databases, the file system, `services` and `rpc`. */
export function systemLookups(services: ServicesDb, rpc: RpcDb = parseRpc('')): Lookups {
  return {
    port: (name, transport) => services.port(name, transport),
    rpc: (name) => rpc.program(name),
    user: (name) => {
      const pw = orElse(() => native.getpwnam(name), null);
      return pw ? { uid: pw.uid, gid: pw.gid } : null;
    },
    group: (name) => orElse(() => native.getgrnam(name)?.gid ?? null, null),
    groups: (user, gid) => orElse(() => native.getgrouplist(user, gid), [gid]),
    executable: isExecutable,
  };
}

/** Reads and parses `file`; unreadable files come back as ERR_CONFIG_READ errors on line 0. */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { entries: [], errors: [{ file, line: 0, code: 'ERR_CONFIG_READ', message: `cannot read file: ${describe(err)}` }] };
  }

  const servicesFile = options.servicesFile ?? SERVICES_FILE;
  let servicesText = '';
  let servicesError: ConfigError | null = null;
  try {
    servicesText = await readFile(servicesFile, 'utf8');
  } catch (err) {
    servicesError = { file: servicesFile, line: 0, code: 'ERR_CONFIG_SERVICES_READ', message: `cannot read services file: ${describe(err)}` };
  }

  const rpcFile = options.rpcFile ?? RPC_FILE;
  let rpcText = '';
  let rpcError: ConfigError | null = null;
  try {
    rpcText = await readFile(rpcFile, 'utf8');
  } catch (err) {
    rpcError = { file: rpcFile, line: 0, code: 'ERR_CONFIG_RPC_READ', message: `cannot read rpc file: ${describe(err)}` };
  }

  const lookups = systemLookups(parseServices(servicesText), parseRpc(rpcText));
  // A missing services file only matters to entries that name a service: a config of port
  // numbers (a container without /etc/services) loads cleanly, but when a name fails we say why.
  // The same goes for the rpc file and program names.
  let nameMissed = false;
  let programMissed = false;
  const port: Lookups['port'] = (name, transport) => {
    const found = lookups.port(name, transport);
    if (found === null) nameMissed = true;
    return found;
  };
  const rpc: Lookups['rpc'] = (name) => {
    const found = lookups.rpc(name);
    if (found === null) programMissed = true;
    return found;
  };
  const config = parseConfig(text, file, { ...lookups, port, rpc }, {
    baseDir: path.dirname(path.resolve(file)),
    ...(options.defaultFamily ? { defaultFamily: options.defaultFamily } : {}),
  });
  if (rpcError && programMissed) config.errors.unshift(rpcError);
  if (servicesError && nameMissed) config.errors.unshift(servicesError);
  return config;
}
