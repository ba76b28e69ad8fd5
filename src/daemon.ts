// The daemon's lifecycle: take the pid file, load the configuration into plans, hand them to the
// service table, reload on request (one reload at a time, the last request's file winning), stop.
// Signals become method calls here and nowhere else. It does not parse argv (cli.ts) and does not
// dispatch connections (dispatch/).
import { unlinkSync } from 'node:fs';
import { HostsFiles } from './access/gate.js';
import { keyEntries } from './config/diff.js';
import { loadSource, mergeSections, type ConfigFormat } from './config/source.js';
import { resolveServices, sectionName, type LimitDefaults, type ServicePlan } from './config/resolve.js';
import { loadSettings, type ProcessSettings, type ServiceSettings } from './config/settings.js';
import { formatConfigError, type ConfigError, type ServiceEntry } from './config/types.js';
import type { DispatchSettings, Host } from './dispatch/core.js';
import { systemHost } from './dispatch/host.js';
import type { ServiceSnapshot } from './dispatch/service.js';
import { ServiceTable } from './dispatch/table.js';
import type { Logger } from './log/logger.js';
import * as native from './native/index.js';
import { takeListenFds } from './net/activation.js';
import { monotonicUsec, SdNotify, watchdogIntervalMs } from './net/sd-notify.js';

/** What the daemon is told by the command line and the settings file. */
export interface DaemonOptions {
  configFile: string;
  /** inetd.conf, an xinetd.conf tree, or `auto` (by syntax; the default). */
  format?: ConfigFormat;
  servicesFile?: string;
  defaultFamily?: 'inet4' | 'inet46';
  /** Pid file to lock for life; '' for none. */
  pidfile?: string;
  settings: DispatchSettings;
  /** Daemon-wide defaults of the per-service limits, with where each came from. */
  limits: LimitDefaults;
  /** hosts.allow and hosts.deny to check, when tcp_wrappers are on. */
  hostsFiles?: { allow: string; deny: string; lookupMs: number } | null;
  /** The settings file, re-read on reload for its [service:…] sections; null for none. */
  settingsFile?: string | null;
  /** Handler defaults from [daemon], and the [service:NAME/PROTO] sections as read at start. */
  processDefaults?: ProcessSettings;
  serviceSettings?: Map<string, ServiceSettings & { line: number }>;
}

/** A configuration read whole: the plans to serve and every error found on the way. */
export interface Loaded {
  plans: ServicePlan[];
  errors: ConfigError[];
}

/** Error that ends a daemon start; `exitCode` follows sysexits. */
export class DaemonError extends Error {
  constructor(
    readonly code: 'ERR_NO_SERVICES' | 'ERR_NO_BIND' | 'ERR_RUNNING' | 'ERR_PIDFILE',
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** The supervisor: owns the service table, the logger and the settings. */
export class Daemon {
  private table: ServiceTable | null = null;
  /** Signal listeners do not keep Node alive; this does, until stop(). */
  private keepAlive: NodeJS.Timeout | undefined;
  private stopping = false;
  private pidFd = -1;
  private readonly notify = SdNotify.fromEnv(process.env);
  private watchdog: NodeJS.Timeout | undefined;
  private lastReload = 'none';
  /** [service:…] sections in force, by NAME/PROTO. */
  private sections: Map<string, ServiceSettings & { line: number }>;
  /** The reload that runs now (or the resolved start), and the one queued behind it. */
  private reloading: Promise<unknown> = Promise.resolve();
  private queued: Promise<boolean> | null = null;
  private resolveStopped!: () => void;
  /** Resolves once stop() has closed everything. */
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));

  constructor(
    private readonly opts: DaemonOptions,
    readonly logger: Logger,
    /** Reopens the log file (after logrotate moved it). */
    private readonly reopenLog: () => void = () => {},
    /** Reads the configuration (tests pass their own); `withSettings` re-reads the settings file's sections too (reload). */
    load?: (withSettings: boolean) => Promise<Loaded>,
    private readonly host: Host = systemHost(
      logger,
      opts.settings,
      opts.hostsFiles ? new HostsFiles(opts.hostsFiles.allow, opts.hostsFiles.deny, logger, opts.hostsFiles.lookupMs) : null,
    ),
  ) {
    this.sections = opts.serviceSettings ?? new Map();
    this.load = load ?? ((withSettings) => this.loadFiles(withSettings));
  }

  private readonly load: (withSettings: boolean) => Promise<Loaded>;

  /** Reads inetd.conf (and on reload the settings file) and resolves every good entry's plan. */
  private async loadFiles(withSettings: boolean): Promise<Loaded> {
    const { configFile, servicesFile, defaultFamily, settingsFile } = this.opts;
    const config = await loadSource(configFile, { servicesFile, defaultFamily, format: this.opts.format ?? 'auto' });
    for (const w of config.warnings) this.logger.warn({ file: w.file, line: w.line }, formatConfigError(w));
    const { byKey, errors } = keyEntries(config.entries);
    const settings = withSettings && settingsFile ? await loadSettings(settingsFile) : null;
    const all = [...config.errors, ...errors, ...(settings?.errors ?? [])];
    // Only the per-service sections take effect on reload; [daemon] keys need a restart.
    const sections = settings && settings.errors.length === 0 ? settings.settings.services : this.sections;
    if (all.length === 0) {
      this.sections = sections;
      this.warnStraySections(byKey.values(), sections);
    }
    const own = mergeSections(config.sections, sections);
    return { plans: resolveServices(byKey.values(), own, this.opts.limits, this.opts.processDefaults ?? {}), errors: all };
  }

  /** Warns about [service:…] sections that name no entry: most likely a typo. */
  private warnStraySections(entries: Iterable<ServiceEntry>, sections: ReadonlyMap<string, { line: number }>): void {
    const names = new Set([...entries].map(sectionName));
    for (const [name, s] of sections) {
      if (!names.has(name)) this.logger.warn({ file: this.opts.settingsFile, line: s.line }, `[service:${name}] matches no service in the configuration`);
    }
  }

  private logErrors(errors: readonly ConfigError[]): void {
    for (const e of errors) this.logger.error({ file: e.file, line: e.line, code: e.code }, formatConfigError(e));
  }

  /** Loads the configuration and serves every good entry; throws DaemonError if none can be served. */
  async start(): Promise<void> {
    this.lockPidFile();
    const inherited = takeListenFds(process.env, process.pid);
    const { plans, errors } = await this.load(false);
    this.logErrors(errors);
    if (plans.length === 0) {
      for (const s of inherited) native.close(s.fd);
      this.releasePidFile();
      throw new DaemonError('ERR_NO_SERVICES', `${this.opts.configFile}: no service to serve`, 78);
    }
    const table = (this.table = new ServiceTable(this.host, inherited));
    table.apply(plans);
    table.closeUnclaimed();
    const { services, unbound } = table.counts();
    if (services === unbound) {
      this.closeTable();
      this.releasePidFile();
      throw new DaemonError('ERR_NO_BIND', 'no service could be bound', 71);
    }
    this.keepAlive = setInterval(() => {}, 2 ** 30);
    this.logger.info({ services: services - unbound, unbound }, 'started');
    this.tellManager({ READY: '1' });
    const every = watchdogIntervalMs(process.env, process.pid);
    if (every > 0) this.watchdog = setInterval(() => this.tellManager({ WATCHDOG: '1' }), every);
  }

  /** Takes the pid-file lock, or throws "already running (pid N)". */
  private lockPidFile(): void {
    const file = this.opts.pidfile;
    if (!file) return;
    try {
      this.pidFd = native.lockPidFile(file);
    } catch (err) {
      const e = err as native.PidFileLockedError;
      if (e.code === 'EAGAIN') throw new DaemonError('ERR_RUNNING', `already running (pid ${e.pid})`, 71);
      throw new DaemonError('ERR_PIDFILE', `${file}: ${e.message}`, 71);
    }
  }

  /** Removes the pid file we hold; the lock goes with the fd. */
  private releasePidFile(): void {
    if (this.pidFd < 0) return;
    try {
      unlinkSync(this.opts.pidfile!);
    } catch {
      // removed by someone else: nothing left to do
    }
    native.close(this.pidFd);
    this.pidFd = -1;
  }

  /** Sends a state message to systemd (when started by it), with the current STATUS line. */
  private tellManager(fields: Record<string, string>): void {
    if (!this.notify) return;
    const { services, unbound } = this.table?.counts() ?? { services: 0, unbound: 0 };
    const status = `${services - unbound} services, ${unbound} unbound; last reload: ${this.lastReload}`;
    const err = this.notify.send({ ...fields, STATUS: status });
    if (err) this.logger.debug({ err: { message: err.message } }, 'cannot notify the service manager');
  }

  /**
   * Re-reads the configuration; any error keeps the whole running configuration. Reloads run one
   * at a time; requests made while one runs are served by one more reload after it, which reads
   * the files as they are then, so the last request's file wins.
   */
  reload(): Promise<boolean> {
    if (this.queued) return this.queued;
    const next = this.reloading.then(() => {
      this.queued = null;
      return this.reloadNow();
    });
    this.queued = next;
    this.reloading = next.catch(() => false);
    return next;
  }

  private async reloadNow(): Promise<boolean> {
    if (this.stopping || !this.table) return false;
    this.tellManager({ RELOADING: '1', MONOTONIC_USEC: monotonicUsec() });
    const { plans, errors } = await this.load(true);
    if (this.stopping) return false;
    if (errors.length > 0) {
      this.logErrors(errors);
      this.logger.error({ file: this.opts.configFile }, 'reload rejected: configuration unchanged');
      this.lastReload = `rejected (${errors.length} errors)`;
      this.tellManager({ READY: '1' });
      return false;
    }
    const changes = this.table.apply(plans);
    this.logger.info(
      { added: changes.added.length, changed: changes.changed.length, removed: changes.removed.length, unchanged: changes.unchanged.length },
      'reloaded',
    );
    this.lastReload = 'ok';
    this.tellManager({ READY: '1' });
    return true;
  }

  /** Stops listening and closes every socket; running handlers are left to finish. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.tellManager({ STOPPING: '1' });
    clearInterval(this.watchdog);
    this.closeTable();
    this.releasePidFile();
    this.notify?.close();
    clearInterval(this.keepAlive);
    this.logger.info('stopped');
    this.resolveStopped();
  }

  private closeTable(): void {
    this.table?.closeAll();
    this.host.resources.close();
  }

  /** Maps signals to methods; returns a function that removes the listeners. */
  installSignals(): () => void {
    const handlers: Array<[NodeJS.Signals, () => void]> = [
      ['SIGHUP', () => void this.reload().catch((err) => this.logger.error({ err }, 'reload failed'))],
      ['SIGINT', () => this.stop()],
      ['SIGTERM', () => this.stop()],
      ['SIGUSR1', () => this.reopenLog()],
      ['SIGUSR2', () => this.logger.info({ services: this.dump() }, 'state')],
    ];
    for (const [sig, fn] of handlers) process.on(sig, fn);
    return () => {
      for (const [sig, fn] of handlers) process.off(sig, fn);
    };
  }

  /** Every service with its state and counters. */
  dump(): ServiceSnapshot[] {
    return this.table?.snapshot() ?? [];
  }
}
