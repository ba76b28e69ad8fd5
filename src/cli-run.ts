// Options → a check or a running daemon: merges the flags over the settings file over defaults,
// then runs --check (or --check --diff against the running daemon), detaches, or serves in the
// foreground, and returns the exit code to cli.ts. It does not read argv (cli-args.ts does, in a
// process of its own) and does not know how services are served (daemon.ts does).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Args } from './cli-args.js';
import type { AddressPattern } from './access/address.js';
import { readHostsFile } from './access/gate.js';
import { keyEntries } from './config/diff.js';
import { checkProxyUse } from './config/proxy.js';
import { loadSource, mergeSections, type ConfigFormat } from './config/source.js';
import { resolveLimitDefaults } from './config/resolve.js';
import { privilegeWarnings, processPrivileges } from './config/privileges.js';
import { loadSettings, type DaemonSettings } from './config/settings.js';
import { strictModesFor } from './config/strict-modes.js';
import { formatConfigError, type ConfigError } from './config/types.js';
import { formatRpcEntry } from './rpc/registry.js';
import { checkDiff } from './control/commands.js';
import { controlSocketPath } from './control/path.js';
import { Daemon, DaemonError, type DaemonOptions } from './daemon.js';
import { optimizeFromNow } from './heap.js';
import { EXIT } from './exit.js';
import { createLogger, type LineSink, type LoggerOptions, type LogLevel } from './log/logger.js';
import * as native from './native/index.js';

/** Settings file read when --settings is not given, if it exists. */
const DEFAULT_SETTINGS = '/etc/ninetd.ini';
/** Environment variable naming the fd a detached child reports its start on. */
const READY_FD_ENV = 'NINETD_READY_FD';

/** Everything a run needs, flags over settings over defaults, paths absolute. */
interface RunOptions {
  daemon: DaemonOptions;
  log: LoggerOptions;
  umask: number;
}

const abs = (p: string): string => path.resolve(p);

/**
 * Merges flags over settings over defaults. Pure but for path resolution against the cwd.
 * `metricsFrom` is who may read /metrics when the settings name no one.
 */
function resolveOptions(args: Args, s: DaemonSettings, detached: boolean, metricsFrom: readonly AddressPattern[]): RunOptions {
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
      ...(args['bind-address'] !== undefined ? { bindAddress: args['bind-address'] } : {}),
      settings: {
        retryTimeMs: (args['retry-time'] ?? s.retry_time ?? 600) * 1000,
        logConnections: args['log-connections'] ?? s.log_connections ?? false,
        udpLoopback: s.udp_loopback ?? true,
        internalIdleMs: (s.internal_idle_timeout ?? 300) * 1000,
        internalMax: s.internal_max_connections ?? 0,
      },
      limits: resolveLimitDefaults({ instances: args['max-children'], perSource: args['per-source'], cps: args['per-source-rate'], rate: args.rate }, s),
      controlSocket: controlSocketPath(args['control-socket'], s.control_socket, pidfile),
      metrics: s.metrics_listen ? { listen: s.metrics_listen, from: s.metrics_from ?? metricsFrom } : null,
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
  const script = fileURLToPath(new URL('./cli.js', import.meta.url));
  const { createInterface } = await import('node:readline');
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

/** Checks, detaches or serves as the options `args` (parsed from `argv`) say; resolves to the exit code. */
export async function runParsed(args: Args, argv: string[]): Promise<number> {
  const readyFd = Number(process.env[READY_FD_ENV] ?? -1);
  delete process.env[READY_FD_ENV];
  const detached = readyFd >= 0;
  const settingsFile = args.settings ?? (existsSync(DEFAULT_SETTINGS) ? DEFAULT_SETTINGS : null);
  const { settings, errors: settingsErrors, warnings: settingsWarnings } = settingsFile
    ? await loadSettings(abs(settingsFile))
    : { settings: { daemon: {}, services: new Map() }, errors: [], warnings: [] };
  // The metrics listener (and node:http with it) is loaded only where /metrics is served.
  const metricsFrom = settings.daemon.metrics_listen ? (await import('./control/http.js')).DEFAULT_METRICS_FROM : [];
  const opts = resolveOptions(args, settings.daemon, detached, metricsFrom);
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
  optimizeFromNow();
  report?.close('ready');
  await daemon.stopped;
  removeSignals();
  return EXIT.ok;
}

