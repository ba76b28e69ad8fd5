// Reads a configuration from disk: the inetd.conf file, the services and rpc databases, and the
// user, group and program checks the parser asks for. This is the I/O shell around parse.ts; it
// does not interpret a single field itself, and it throws only when the native addon is missing:
// an unreadable file is a ConfigError like any other.
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import path from 'node:path';
import { fileProblemReason, isFileProblem, readRegularFile } from '../files/regular-file.js';
import * as native from '../native/index.js';
import { parseConfig, type Lookups, type ProgramFault } from './parse.js';
import { parseRpc, type RpcDb } from './rpc-db.js';
import { parseServices, type ServicesDb } from './services-db.js';
import { checkFile, type StrictModes } from './strict-modes.js';
import type { Config, ConfigError } from './types.js';

/** Where names come from and how plain tcp/udp are read. */
export interface LoadOptions {
  /** Services database; default `/etc/services`. */
  servicesFile?: string;
  /** RPC program database; default `/etc/rpc`. */
  rpcFile?: string;
  /** Family of plain `tcp`/`udp`: `inet4` (default, as on the BSDs) or `inet46` (dual stack). */
  defaultFamily?: 'inet4' | 'inet46';
  /** Check the config file and handler programs for strict modes; absent: no checks. */
  strictModes?: StrictModes;
  /** Address of entries without a host prefix before any `host:` line (-a); default `*`. */
  defaultHost?: string;
}

/** Default services database. */
export const SERVICES_FILE = '/etc/services';

/** Default RPC program database. */
export const RPC_FILE = '/etc/rpc';

/** True when `file` is a regular file this process may execute, else why not. */
function isExecutable(file: string): true | ProgramFault {
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EACCES' ? 'unreachable' : 'missing';
  }
  if (!st.isFile()) return 'not-file';
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return 'not-executable';
  }
}

/** `lookup()`, or `fallback` when it throws: the parser must never see an exception, but for a missing addon. */
function orElse<T>(lookup: () => T, fallback: T): T {
  try {
    return lookup();
  } catch (err) {
    // A missing addon is no answer about any name: "unknown user" would mislead.
    if ((err as NodeJS.ErrnoException).code === 'ERR_NATIVE_MISSING') throw err;
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
  // Neither file is trusted to be what its name says: a FIFO must not block the load.
  const read = readRegularFile(file, 'config');
  if (isFileProblem(read)) {
    return { entries: [], errors: [{ file, line: 0, code: 'ERR_CONFIG_READ', message: `cannot read file: ${fileProblemReason(read)}` }] };
  }
  const text = read.data.toString('utf8');
  const warnings: ConfigError[] = [];
  const modes = options.strictModes;
  const unsafeConfig = modes ? checkFile(file, 'config file', { file, line: 0 }, modes) : null;
  if (unsafeConfig?.error) return { entries: [], errors: [unsafeConfig.problem] };
  if (unsafeConfig) warnings.push(unsafeConfig.problem);

  const servicesFile = options.servicesFile ?? SERVICES_FILE;
  const services = readRegularFile(servicesFile, 'services');
  const servicesText = isFileProblem(services) ? '' : services.data.toString('utf8');
  const servicesError: ConfigError | null = isFileProblem(services)
    ? { file: servicesFile, line: 0, code: 'ERR_CONFIG_SERVICES_READ', message: `cannot read services file: ${fileProblemReason(services)}` }
    : null;
  // Something that is there but is no file, or is huge, was put there: say so even if no name needs it.
  const hostile = isFileProblem(services) && (services.kind === 'not-regular' || services.kind === 'too-large');

  const rpcFile = options.rpcFile ?? RPC_FILE;
  const rpcRead = readRegularFile(rpcFile, 'rpc');
  const rpcText = isFileProblem(rpcRead) ? '' : rpcRead.data.toString('utf8');
  const rpcError: ConfigError | null = isFileProblem(rpcRead)
    ? { file: rpcFile, line: 0, code: 'ERR_CONFIG_RPC_READ', message: `cannot read rpc file: ${fileProblemReason(rpcRead)}` }
    : null;

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
    ...(options.defaultHost ? { defaultHost: options.defaultHost } : {}),
    servicesFile,
  });
  if (rpcError && programMissed) config.errors.unshift(rpcError);
  if (servicesError && (nameMissed || hostile)) config.errors.unshift(servicesError);
  if (modes) {
    // A handler runs as its entry's user, so that user may own it too: it can only attack itself.
    config.entries = config.entries.filter((e) => {
      if (e.server === 'internal') return true;
      const found = checkFile(e.server, 'handler', { file, line: e.line }, modes, new Set([0, e.uid]));
      if (!found) return true;
      (found.error ? config.errors : warnings).push(found.problem);
      return !found.error;
    });
    config.errors.sort((a, b) => a.line - b.line);
  }
  return { ...config, warnings };
}
