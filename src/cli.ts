#!/usr/bin/env -S node --max-semi-space-size=1
// Command line → options → run → exit code. The only place that calls process.exit. It merges
// flags over the settings file over defaults, and detaches; it does not know how services are
// served (daemon.ts does).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, writeSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readHostsFile } from './access/gate.js';
import { keyEntries } from './config/diff.js';
import { loadConfig } from './config/load.js';
import { checkProxyUse } from './config/proxy.js';
import { CONFIG_FORMATS, loadSource, mergeSections, type ConfigFormat } from './config/source.js';
import { resolveLimitDefaults } from './config/resolve.js';
import { privilegeWarnings, processPrivileges } from './config/privileges.js';
import { loadSettings, type DaemonSettings } from './config/settings.js';
import { strictModesFor } from './config/strict-modes.js';
import { formatConfigError, type ConfigError } from './config/types.js';
import { formatRpcEntry } from './rpc/registry.js';
import { checkDiff, CONTROL_COMMANDS, CONTROL_OPTIONS, isControlCommand, runControlCommand } from './control/commands.js';
import { DEFAULT_METRICS_FROM } from './control/http.js';
import { controlSocketPath } from './control/path.js';
import { ninetdVersion } from './control/snapshot.js';
import { Daemon, DaemonError, type DaemonOptions } from './daemon.js';
import { createLogger, LOG_LEVELS, type LineSink, type LoggerOptions, type LogLevel } from './log/logger.js';
import * as native from './native/index.js';

/** sysexits(3) codes ninetd exits with. */
export const EXIT = { ok: 0, usage: 64, software: 70, oserr: 71, config: 78 } as const;

/** Settings file read when --settings is not given, if it exists. */
const DEFAULT_SETTINGS = '/etc/ninetd.ini';
/** Environment variable naming the fd a detached child reports its start on. */
const READY_FD_ENV = 'NINETD_READY_FD';

const version = ninetdVersion();

/** Whole-number options, validated alike: each with its short flag ('' for none) and least value. Sorted. */
const COUNTS = {
  backlog: { short: 'q', min: 1 },
  'max-children': { short: 'c', min: 0 },
  'per-source': { short: 's', min: 0 },
  'per-source-rate': { short: 'C', min: 0 },
  rate: { short: 'R', min: 0 },
  'retry-time': { short: '', min: 1 },
} as const;

/** The text given last on the command line for `--name` or `-short` (yargs keeps only the number). */
function rawValue(argv: string[], name: string, short: string): string | undefined {
  let value: string | undefined;
  for (const [i, a] of argv.entries()) {
    if (a === '--') break;
    if (a === `--${name}` || (short && a === `-${short}`)) value = argv[i + 1];
    else if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3);
    else if (short && a.startsWith(`-${short}`) && !a.startsWith('--')) value = a.slice(2);
  }
  return value;
}

/** An address for -a: an IP literal (brackets allowed for IPv6) or `*`; null if it is not one. */
function bindAddress(text: string): string | null {
  const bare = /^\[(.*)\]$/.exec(text)?.[1] ?? text;
  return bare === '*' || isIP(bare) !== 0 ? bare : null;
}

function parseArgs(argv: string[]) {
  // No yargs defaults: an option left out must not override the settings file.
  return yargs(argv)
    .scriptName('ninetd')
    // A repeated option takes its last value, as getopt-based daemons do.
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .usage(
      `$0 [options] [config]\n$0 convert [options] config\n\nServe the services of an inetd.conf file (default /etc/inetd.conf) or of an xinetd.conf tree.\n\n` +
        [...Object.entries(CONTROL_COMMANDS).map(([cmd, what]) => `$0 ${cmd} --help: ${what}`), '$0 convert --help: convert between inetd.conf and xinetd.conf'].join('\n'),
    )
    .option('foreground', { alias: ['d', 'i'], type: 'boolean', describe: 'stay in the foreground and log to stderr [default: detach]' })
    .option('check', { type: 'boolean', describe: 'check the configuration and settings, print every error, and exit' })
    .option('log-connections', { alias: 'l', type: 'boolean', describe: 'log one record per connection' })
    .option('log-level', { choices: LOG_LEVELS, describe: 'least severe level logged [default: info]' })
    .option('log-file', { type: 'string', requiresArg: true, describe: 'log to this file (reopened on SIGUSR1)' })
    .option('format', { choices: CONFIG_FORMATS, describe: 'format of the config file: inetd.conf, an xinetd.conf tree, or told apart by its syntax [default: auto]' })
    .option('services', { type: 'string', requiresArg: true, describe: 'services database for names in the config [default: /etc/services]' })
    .option('rpc', { type: 'string', requiresArg: true, describe: 'rpc program database for names in rpc entries [default: /etc/rpc]' })
    .option('settings', { type: 'string', requiresArg: true, describe: `settings file [default: ${DEFAULT_SETTINGS} if it exists]` })
    .option('pidfile', { alias: 'p', type: 'string', describe: 'pid file, locked while ninetd runs; "" for none [default: /run/ninetd.pid]' })
    .option('rate', { alias: 'R', type: 'number', requiresArg: true, describe: 'spawns per minute per service before it is suspended, 0 for no limit [default: 256]' })
    .option('max-children', { alias: 'c', type: 'number', requiresArg: true, describe: 'children per service when the entry sets none, 0 for no limit [default: 0]' })
    .option('per-source', { alias: 's', type: 'number', requiresArg: true, describe: 'handlers at once per client address when the service sets none, 0 for no limit [default: 0]' })
    .option('per-source-rate', { alias: 'C', type: 'number', requiresArg: true, describe: 'connections per minute per client address when the service sets none, 0 for no limit [default: 0]' })
    .option('tcp-wrappers', { alias: ['w', 'W'], type: 'boolean', describe: 'check hosts.allow and hosts.deny before serving a client, internal services included' })
    .option('retry-time', { type: 'number', requiresArg: true, describe: 'seconds a suspended service waits, and between bind retries [default: 600]' })
    .option('backlog', { alias: 'q', type: 'number', requiresArg: true, describe: 'listen queue length of stream and seqpacket sockets [default: 1024]' })
    .option('bind-address', { alias: 'a', type: 'string', requiresArg: true, describe: 'address for entries without a host: prefix [default: *]' })
    .option('keep-env', { alias: 'E', type: 'boolean', describe: "FreeBSD inetd's -E, accepted: handlers never inherit ninetd's environment here (see passenv)" })
    // The console: the control socket, and --check --diff against the running daemon.
    .options(CONTROL_OPTIONS)
    .check((args) => {
      for (const [name, { short, min }] of Object.entries(COUNTS)) {
        const v = args[name] as number | undefined;
        if (v === undefined) continue;
        const given = rawValue(argv, name, short) ?? String(v);
        const flag = `--${name}${short ? ` (-${short})` : ''}`;
        // yargs reads '' as 0 and 'abc' as NaN.
        if (Number.isNaN(v) || given.trim() === '') throw new Error(`${flag}: "${given}" is not a number`);
        if (!Number.isInteger(v) || v < min) throw new Error(`${flag}: "${given}" is not a whole number of ${min} or more`);
      }
      const a = args['bind-address'];
      if (a !== undefined && bindAddress(a) === null) throw new Error(`--bind-address (-a): "${a}" is not an IP address or * (host names are not resolved)`);
      if (args._.length > 1) throw new Error(`only one config file may be given (got ${args._.length})`);
      if (args.diff && !args.check) throw new Error('--diff needs --check');
      return true;
    })
    .strictOptions()
    .version(version)
    .help()
    .alias('help', 'h')
    .alias('version', 'V')
    .wrap(100)
    .exitProcess(false)
    .fail((msg, err) => {
      throw new UsageError(msg || err?.message || 'bad usage');
    })
    .parseSync();
}

class UsageError extends Error {}
type Args = ReturnType<typeof parseArgs>;


/** Everything a run needs, flags over settings over defaults, paths absolute. */
interface RunOptions {
  daemon: DaemonOptions;
  log: LoggerOptions;
  umask: number;
}

const abs = (p: string): string => path.resolve(p);

/** Merges flags over settings over defaults. Pure but for path resolution against the cwd. */
function resolveOptions(args: Args, s: DaemonSettings, detached: boolean): RunOptions {
  const logFile = args['log-file'] ?? s.log_file;
  const destination = args['log-file'] ? 'file' : (s.log_destination ?? (detached ? 'syslog' : 'stderr'));
  const pidfile = args.pidfile ?? s.pidfile ?? '/run/ninetd.pid';
  return {
    umask: s.umask ?? 0o022,
    log: {
      level: (args['log-level'] ?? s.log_level ?? 'info') as LogLevel,
      destination,
      pretty: destination === 'stderr' && !detached && process.stderr.isTTY,
      ...(logFile ? { file: abs(logFile) } : {}),
      syslogSocket: s.syslog_socket ?? '/dev/log',
      syslogFormat: s.syslog_format ?? 'rfc3164',
    },
    daemon: {
      configFile: abs(String(args._[0] ?? '/etc/inetd.conf')),
      format: (args.format ?? 'auto') as ConfigFormat,
      servicesFile: abs(args.services ?? '/etc/services'),
      rpcFile: abs(args.rpc ?? '/etc/rpc'),
      defaultFamily: s.default_family ?? 'inet4',
      pidfile: pidfile === '' ? '' : abs(pidfile),
      ...(args.backlog !== undefined ? { backlog: args.backlog } : {}),
      ...(args['bind-address'] !== undefined ? { bindAddress: bindAddress(args['bind-address'])! } : {}),
      settings: {
        retryTimeMs: (args['retry-time'] ?? s.retry_time ?? 600) * 1000,
        logConnections: args['log-connections'] ?? s.log_connections ?? false,
        udpLoopback: s.udp_loopback ?? true,
        internalIdleMs: (s.internal_idle_timeout ?? 300) * 1000,
        internalMax: s.internal_max_connections ?? 0,
      },
      limits: resolveLimitDefaults({ instances: args['max-children'], perSource: args['per-source'], cps: args['per-source-rate'], rate: args.rate }, s),
      controlSocket: controlSocketPath(args['control-socket'], s.control_socket, pidfile),
      metrics: s.metrics_listen ? { listen: s.metrics_listen, from: s.metrics_from ?? DEFAULT_METRICS_FROM } : null,
      hostsFiles:
        (args['tcp-wrappers'] ?? s.tcp_wrappers ?? false)
          ? { allow: s.hosts_allow ?? '/etc/hosts.allow', deny: s.hosts_deny ?? '/etc/hosts.deny', lookupMs: (s.reverse_lookup ?? 0) * 1000 }
          : null,
    },
  };
}

/** Prints configuration errors as `file:line: message`, in file order. */
function printErrors(errors: ConfigError[]): void {
  for (const e of errors) process.stderr.write(`${formatConfigError(e)}\n`);
}

/**
 * `--check`: print every error in the settings, the configuration and, when tcp_wrappers is on,
 * the hosts files (each file that is not a regular file, each rule that cannot be read, by
 * file:line); 78 if there is one. Warnings (strict modes as root, options that do nothing) are
 * printed as `file:line: warning: …` and do not change the exit code.
 */
async function check(opts: RunOptions, settingsErrors: ConfigError[]): Promise<number> {
  const { configFile, servicesFile, rpcFile, defaultFamily, hostsFiles, serviceSettings, settingsFile, bindAddress: defaultHost, format } = opts.daemon;
  // processDefaults is the whole [daemon] section (run() sets it), strict_modes included.
  const strictModes = opts.daemon.strictModes ?? strictModesFor(undefined);
  const config = await loadSource(configFile, { servicesFile, rpcFile, defaultFamily, strictModes, ...(defaultHost ? { defaultHost } : {}), format: format ?? 'auto' });
  const { byKey, errors } = keyEntries(config.entries);
  const hosts = hostsFiles ? [hostsFiles.allow, hostsFiles.deny].map((f) => readHostsFile(f, strictModes)) : [];
  const proxyErrors = checkProxyUse(byKey.values(), mergeSections(config.sections, serviceSettings ?? new Map()), settingsFile ?? '').errors;
  // By file (in the order the files were read: an xinetd tree has several), then by line.
  const files = [...new Set([...config.errors, ...errors].map((e) => e.file))];
  const byPlace = (a: ConfigError, b: ConfigError): number => files.indexOf(a.file) - files.indexOf(b.file) || a.line - b.line;
  const all = [...settingsErrors, ...proxyErrors, ...[...config.errors, ...errors].sort(byPlace), ...hosts.flatMap((h) => h.errors)];
  // The settings were loaded before the command line was read; read them again for their warnings.
  const settingsWarnings = settingsFile && settingsErrors.length === 0 ? (await loadSettings(settingsFile)).warnings : [];
  const warnings = [...settingsWarnings, ...config.warnings, ...hosts.flatMap((h) => h.warnings)];
  for (const w of warnings) process.stderr.write(`${w.file}:${w.line}: warning: ${w.message}\n`);
  printErrors(all);
  // What will fail at run time for the user who checks: warnings, not errors (root may run it).
  printErrors(privilegeWarnings([...byKey.values()], processPrivileges()));
  if (all.length > 0) return EXIT.config;
  process.stdout.write(`${configFile}: ok, ${byKey.size} service${byKey.size === 1 ? '' : 's'}\n`);
  for (const e of byKey.values()) if (e.rpc) process.stdout.write(`${formatRpcEntry(e)}\n`);
  return EXIT.ok;
}

/**
 * Starts a copy of ourselves in a new session with stdio on /dev/null, and returns only once it
 * has bound its services (exit 0) or failed (its errors on our stderr, its exit code).
 */
async function detach(argv: string[]): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...process.execArgv, script, ...argv], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [READY_FD_ENV]: '3' },
  });
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? EXIT.software)));
  let ready = false;
  for await (const line of createInterface({ input: child.stdio[3] as NodeJS.ReadableStream })) {
    if (line === 'ready') {
      ready = true;
      break;
    }
    process.stderr.write(`${line}\n`);
  }
  if (ready) {
    child.unref();
    return EXIT.ok;
  }
  return exited;
}

/** The detached child's report channel to the command the user typed; closed once started. */
class ReadyPipe implements LineSink {
  constructor(private fd: number) {}
  write(line: string): void {
    if (this.fd < 0) return;
    try {
      writeSync(this.fd, line);
    } catch {
      this.fd = -1; // the parent is gone
    }
  }
  close(line?: string): void {
    if (line) this.write(`${line}\n`);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Runs ninetd with `argv` (without node and script); resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  // `ninetd convert …`: a command of its own, with its own options (cli-convert.ts).
  if (argv[0] === 'convert') return (await import('./cli-convert.js')).runConvert(argv.slice(1));

  if (isControlCommand(argv)) return runControlCommand(argv);
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`ninetd: ${(err as Error).message}\nTry 'ninetd --help'.\n`);
    return EXIT.usage;
  }
  if (args.help || args.version) return EXIT.ok;

  const readyFd = Number(process.env[READY_FD_ENV] ?? -1);
  delete process.env[READY_FD_ENV];
  const detached = readyFd >= 0;
  const settingsFile = args.settings ?? (existsSync(DEFAULT_SETTINGS) ? DEFAULT_SETTINGS : null);
  const { settings, errors: settingsErrors, warnings: settingsWarnings } = settingsFile
    ? await loadSettings(abs(settingsFile))
    : { settings: { daemon: {}, services: new Map() }, errors: [], warnings: [] };
  const opts = resolveOptions(args, settings.daemon, detached);
  opts.daemon.settingsFile = settingsFile ? abs(settingsFile) : null;
  opts.daemon.processDefaults = settings.daemon;
  opts.daemon.strictModes = strictModesFor(settings.daemon.strict_modes);
  opts.daemon.serviceSettings = settings.services;
  if (args.check && args.diff) return checkDiff(opts.daemon.controlSocket ?? null, args._[0] === undefined ? undefined : String(args._[0]));
  if (args.check) return check(opts, settingsErrors);
  if (!args.foreground && !detached) {
    if (settingsErrors.length > 0) {
      printErrors(settingsErrors);
      return EXIT.config;
    }
    return detach(argv);
  }

  const report = detached ? new ReadyPipe(readyFd) : undefined;
  if (settingsErrors.length > 0) {
    // Nothing is served with settings we could not read whole.
    for (const e of settingsErrors) report?.write(`${formatConfigError(e)}\n`);
    if (!detached) printErrors(settingsErrors);
    report?.close();
    return EXIT.config;
  }
  // Whatever our own parent left open must not reach handlers (systemd's LISTEN_FDS are ours,
  // and close-on-exec is right for them too).
  native.cloexecFrom(3);
  process.umask(opts.umask);
  if (detached) process.chdir('/');
  const log = createLogger({ ...opts.log, detached, ...(report ? { report } : {}) });
  for (const w of settingsWarnings) log.logger.warn({ file: w.file, line: w.line, code: w.code }, formatConfigError(w));
  const daemon = new Daemon(opts.daemon, log.logger, log.reopen);
  const removeSignals = daemon.installSignals();
  try {
    await daemon.start();
  } catch (err) {
    removeSignals();
    if (err instanceof DaemonError) {
      log.logger.fatal({ code: err.code }, err.message);
      report?.close();
      return err.exitCode;
    }
    throw err;
  }
  report?.close('ready');
  await daemon.stopped;
  removeSignals();
  return EXIT.ok;
}

run(hideBin(process.argv)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A missing addon is an installation fault, not a bug: one line naming the file and the fix.
    if ((err as native.NativeMissingError)?.code === 'ERR_NATIVE_MISSING') {
      process.stderr.write(`ninetd: ${(err as Error).message}\n`);
      process.exit(EXIT.oserr);
    }
    process.stderr.write(`ninetd: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(EXIT.software);
  },
);
