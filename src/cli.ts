#!/usr/bin/env node
// Command line → options → run → exit code. The only place that calls process.exit. It merges
// flags over the settings file over defaults, and detaches; it does not know how services are
// served (daemon.ts does).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readHostsFile } from './access/gate.js';
import { keyEntries } from './config/diff.js';
import { CONFIG_FORMATS, loadSource, type ConfigFormat } from './config/source.js';
import { resolveLimitDefaults } from './config/resolve.js';
import { loadSettings, type DaemonSettings } from './config/settings.js';
import { formatConfigError, type ConfigError } from './config/types.js';
import { Daemon, DaemonError, type DaemonOptions } from './daemon.js';
import { createLogger, LOG_LEVELS, type LineSink, type LoggerOptions, type LogLevel } from './log/logger.js';
import * as native from './native/index.js';

/** sysexits(3) codes ninetd exits with. */
export const EXIT = { ok: 0, usage: 64, software: 70, oserr: 71, config: 78 } as const;

/** Settings file read when --settings is not given, if it exists. */
const DEFAULT_SETTINGS = '/etc/ninetd.ini';
/** Environment variable naming the fd a detached child reports its start on. */
const READY_FD_ENV = 'NINETD_READY_FD';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Non-negative integer options, validated alike. */
const COUNTS = ['rate', 'max-children', 'retry-time', 'per-source', 'per-source-rate'] as const;

function parseArgs(argv: string[]) {
  // No yargs defaults: an option left out must not override the settings file.
  return yargs(argv)
    .scriptName('ninetd')
    // A repeated option takes its last value, as getopt-based daemons do.
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .usage('$0 [options] [config]\n$0 convert [options] config\n\nServe the services of an inetd.conf file (default /etc/inetd.conf) or of an xinetd.conf tree.\n`ninetd convert --help` tells how to convert between the two.')
    .option('foreground', { alias: 'd', type: 'boolean', describe: 'stay in the foreground and log to stderr [default: detach]' })
    .option('check', { type: 'boolean', describe: 'check the configuration and settings, print every error, and exit' })
    .option('log-connections', { alias: 'l', type: 'boolean', describe: 'log one record per connection' })
    .option('log-level', { choices: LOG_LEVELS, describe: 'least severe level logged [default: info]' })
    .option('log-file', { type: 'string', requiresArg: true, describe: 'log to this file (reopened on SIGUSR1)' })
    .option('format', { choices: CONFIG_FORMATS, describe: 'format of the config file: inetd.conf, an xinetd.conf tree, or told apart by its syntax [default: auto]' })
    .option('services', { type: 'string', requiresArg: true, describe: 'services database for names in the config [default: /etc/services]' })
    .option('settings', { type: 'string', requiresArg: true, describe: `settings file [default: ${DEFAULT_SETTINGS} if it exists]` })
    .option('pidfile', { alias: 'p', type: 'string', describe: 'pid file, locked while ninetd runs; "" for none [default: /run/ninetd.pid]' })
    .option('rate', { alias: 'R', type: 'number', requiresArg: true, describe: 'spawns per minute per service before it is suspended, 0 for no limit [default: 256]' })
    .option('max-children', { alias: 'c', type: 'number', requiresArg: true, describe: 'children per service when the entry sets none, 0 for no limit [default: 0]' })
    .option('per-source', { alias: 's', type: 'number', requiresArg: true, describe: 'handlers at once per client address when the service sets none, 0 for no limit [default: 0]' })
    .option('per-source-rate', { alias: 'C', type: 'number', requiresArg: true, describe: 'connections per minute per client address when the service sets none, 0 for no limit [default: 0]' })
    .option('tcp-wrappers', { alias: 'w', type: 'boolean', describe: 'check hosts.allow and hosts.deny before serving a client' })
    .option('retry-time', { type: 'number', requiresArg: true, describe: 'seconds a suspended service waits, and between bind retries [default: 600]' })
    .check((args) => {
      for (const name of COUNTS) {
        const v = args[name] as number | undefined;
        if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new Error(`--${name} must be a whole number of 0 or more, not "${String(v)}"`);
      }
      if (args['retry-time'] === 0) throw new Error('--retry-time must be at least 1');
      if (args._.length > 1) throw new Error(`only one config file may be given (got ${args._.length})`);
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
      defaultFamily: s.default_family ?? 'inet4',
      pidfile: pidfile === '' ? '' : abs(pidfile),
      settings: {
        retryTimeMs: (args['retry-time'] ?? s.retry_time ?? 600) * 1000,
        logConnections: args['log-connections'] ?? s.log_connections ?? false,
        udpLoopback: s.udp_loopback ?? true,
      },
      limits: resolveLimitDefaults({ instances: args['max-children'], perSource: args['per-source'], cps: args['per-source-rate'], rate: args.rate }, s),
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
 * the hosts files; 78 if there is one.
 */
async function check(opts: RunOptions, settingsErrors: ConfigError[]): Promise<number> {
  const { configFile, servicesFile, defaultFamily, hostsFiles, format } = opts.daemon;
  const config = await loadSource(configFile, { servicesFile, defaultFamily, format: format ?? 'auto' });
  for (const w of config.warnings) process.stderr.write(`${w.file}:${w.line}: warning: ${w.message}\n`);
  const { byKey, errors } = keyEntries(config.entries);
  const hostsErrors = hostsFiles ? [hostsFiles.allow, hostsFiles.deny].flatMap((f) => readHostsFile(f).errors) : [];
  // By file (in the order the files were read: an xinetd tree has several), then by line.
  const files = [...new Set([...config.errors, ...errors].map((e) => e.file))];
  const byPlace = (a: ConfigError, b: ConfigError): number => files.indexOf(a.file) - files.indexOf(b.file) || a.line - b.line;
  const all = [...settingsErrors, ...[...config.errors, ...errors].sort(byPlace), ...hostsErrors];
  printErrors(all);
  if (all.length > 0) return EXIT.config;
  process.stdout.write(`${configFile}: ok, ${byKey.size} service${byKey.size === 1 ? '' : 's'}\n`);
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
  const { settings, errors: settingsErrors } = settingsFile ? await loadSettings(abs(settingsFile)) : { settings: { daemon: {}, services: new Map() }, errors: [] };
  const opts = resolveOptions(args, settings.daemon, detached);
  opts.daemon.settingsFile = settingsFile ? abs(settingsFile) : null;
  opts.daemon.processDefaults = settings.daemon;
  opts.daemon.serviceSettings = settings.services;
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
  const log = createLogger({ ...opts.log, ...(report ? { report } : {}) });
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
