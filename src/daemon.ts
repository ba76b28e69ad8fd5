// The daemon's lifecycle: take the pid file, load the configuration into plans, hand them to the
// service table, reload on request (one reload at a time, the last request's file winning), stop.
// Signals and control requests become method calls here and nowhere else. It does not parse argv
// (cli.ts), does not dispatch connections (dispatch/) and does not speak the control protocol
// (control/).
import { unlinkSync } from 'node:fs';
import type { AddressPattern } from './access/address.js';
import { HostsFiles } from './access/gate.js';
import { summarize, type ChangeSummary, type Outcome } from './control/changes.js';
import type { MetricsListener } from './control/http.js';
import type { Reply, Request } from './control/protocol.js';
import type { ControlServer } from './control/server.js';
import { daemonSnapshot, ninetdVersion, processFds, type DaemonFacts, type DaemonSnapshot } from './control/snapshot.js';
import { keyEntries, reconcile, type Changes } from './config/diff.js';
import { checkProxyUse } from './config/proxy.js';
import { loadSource, mergeSections, type ConfigFormat } from './config/source.js';
import { resolveServices, sectionName, type LimitDefaults, type ServicePlan } from './config/resolve.js';
import { loadSettings, type ListenAddress, type ProcessSettings, type ServiceSettings } from './config/settings.js';
import type { StrictModes } from './config/strict-modes.js';
import { formatConfigError, type ConfigError, type ServiceEntry } from './config/types.js';
import type { DispatchSettings, Host } from './dispatch/core.js';
import { systemHost } from './dispatch/host.js';
import type { ServiceSnapshot } from './dispatch/service.js';
import { ServiceTable } from './dispatch/table.js';
import { giveBackMemory, unoptimized } from './heap.js';
import type { Logger } from './log/logger.js';
import * as native from './native/index.js';
import { takeListenFds } from './net/activation.js';
import { monotonicUsec, SdNotify, watchdogIntervalMs } from './net/sd-notify.js';
import { RpcRegistry } from './rpc/registry.js';

/** What the daemon is told by the command line and the settings file. */
export interface DaemonOptions {
  configFile: string;
  /** inetd.conf, an xinetd.conf tree, or `auto` (by syntax; the default). */
  format?: ConfigFormat;
  servicesFile?: string;
  /** RPC program database (--rpc); default /etc/rpc. */
  rpcFile?: string;
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
  /** Whether files others can write are warned about or refused (`strict_modes`). */
  strictModes?: StrictModes;
  /** Listen backlog of stream and seqpacket sockets (-q). */
  backlog?: number;
  /** Address of entries without a host before any `host:` line (-a). */
  bindAddress?: string;
  serviceSettings?: Map<string, ServiceSettings & { line: number }>;
  /** The control socket's path; null or absent for none. */
  controlSocket?: string | null;
  /** Where to serve /metrics and to whom; null or absent for nowhere. */
  metrics?: { listen: ListenAddress; from: readonly AddressPattern[] } | null;
}

/** What a reload came to: the changes it applied, or every error that kept the configuration unchanged. */
export type ReloadResult =
  | { ok: true; changes: Changes; summary: ChangeSummary }
  | { ok: false; errors: ConfigError[]; message?: string };

/** A configuration read whole: the plans to serve and every error found on the way. */
export interface Loaded {
  plans: ServicePlan[];
  errors: ConfigError[];
}

/** Error that ends a daemon start; `exitCode` follows sysexits. */
export class DaemonError extends Error {
  constructor(
    readonly code: 'ERR_NO_SERVICES' | 'ERR_NO_BIND' | 'ERR_RUNNING' | 'ERR_PIDFILE' | 'ERR_CONTROL_SOCKET' | 'ERR_METRICS_LISTEN',
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
  /** Who we are and what the reloads did, for the snapshot. */
  private readonly facts: DaemonFacts;
  private control: ControlServer | null = null;
  private metrics: MetricsListener | null = null;
  /** [service:…] sections in force, by NAME/PROTO. */
  private sections: Map<string, ServiceSettings & { line: number }>;
  /** The reload that runs now (or the resolved start), and the one queued behind it. */
  private reloading: Promise<unknown> = Promise.resolve();
  private queued: Promise<ReloadResult> | null = null;
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
      opts.backlog,
      opts.hostsFiles ? new HostsFiles(opts.hostsFiles.allow, opts.hostsFiles.deny, logger, opts.hostsFiles.lookupMs, opts.strictModes) : null,
    ),
  ) {
    this.sections = opts.serviceSettings ?? new Map();
    this.load = load ?? ((withSettings, file) => this.loadFiles(withSettings, file));
    this.rpc = new RpcRegistry({ logger, retryMs: opts.settings.retryTimeMs });
    const version = ninetdVersion();
    this.facts = { pid: process.pid, version, startedAt: host.now(), configFile: opts.configFile, lastReload: null, reloads: { ok: 0, rejected: 0 } };
  }

  /** Reads the configuration; `file`, when given, is read instead of ours for a dry run, which keeps nothing. */
  private readonly load: (withSettings: boolean, file?: string) => Promise<Loaded>;
  /** Registrations of the bound rpc services with rpcbind. */
  private readonly rpc: RpcRegistry;

  /** Reads inetd.conf (and on reload the settings file) and resolves every good entry's plan. */
  private async loadFiles(withSettings: boolean, dryRunFile?: string): Promise<Loaded> {
    const { servicesFile, rpcFile, defaultFamily, settingsFile, strictModes, bindAddress: defaultHost } = this.opts;
    const configFile = dryRunFile ?? this.opts.configFile;
    const config = await loadSource(configFile, {
      servicesFile,
      rpcFile,
      defaultFamily,
      ...(strictModes ? { strictModes } : {}),
      ...(defaultHost ? { defaultHost } : {}),
      format: this.opts.format ?? 'auto',
    });
    const { byKey, errors } = keyEntries(config.entries);
    const settings = withSettings && settingsFile ? await loadSettings(settingsFile) : null;
    // Files others could change (strict modes): said at every load, errors or not.
    for (const w of [...(config.warnings ?? []), ...(settings?.warnings ?? [])]) {
      this.logger.warn({ file: w.file, line: w.line, code: w.code }, formatConfigError(w));
    }
    // Only the per-service sections take effect on reload; [daemon] keys need a restart.
    const sections = settings && settings.errors.length === 0 ? settings.settings.services : this.sections;
    // An xinetd tree sets sections of its own; the settings file's go over them, key by key.
    const own = mergeSections(config.sections, sections);
    const proxy = checkProxyUse(byKey.values(), own, settingsFile ?? '');
    const all = [...config.errors, ...errors, ...(settings?.errors ?? []), ...proxy.errors];
    if (all.length === 0 && dryRunFile === undefined) {
      this.sections = sections;
      this.warnStraySections(byKey.values(), sections);
    }
    return { plans: resolveServices(proxy.entries, own, this.opts.limits, this.opts.processDefaults ?? {}), errors: all };
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
    const table = (this.table = new ServiceTable(this.host, inherited, this.rpc));
    table.apply(plans);
    table.closeUnclaimed();
    const { services, unbound } = table.counts();
    if (services === unbound) {
      this.closeTable();
      this.releasePidFile();
      throw new DaemonError('ERR_NO_BIND', 'no service could be bound', 71);
    }
    await this.openConsole();
    this.keepAlive = setInterval(() => {}, 2 ** 30);
    this.logger.info({ services: services - unbound, unbound }, 'started');
    // Once start-up's own locals are garbage too.
    setImmediate(giveBackMemory);
    this.tellManager({ READY: '1' });
    const every = watchdogIntervalMs(process.env, process.pid);
    if (every > 0) this.watchdog = setInterval(() => this.tellManager({ WATCHDOG: '1' }), every);
  }

  /** Opens the control socket and the metrics listener that are asked for; throws DaemonError when one cannot be. */
  private async openConsole(): Promise<void> {
    const { controlSocket, metrics } = this.opts;
    try {
      // Loaded only when asked for: node:http for /metrics above all.
      if (controlSocket) {
        const { ControlServer } = await import('./control/server.js');
        this.control = ControlServer.open({ path: controlSocket, logger: this.logger, handle: (req) => this.answer(req) });
        this.logger.info({ path: controlSocket }, 'control socket listening');
      }
      if (metrics) {
        const [{ MetricsListener }, { exposition }] = await Promise.all([import('./control/http.js'), import('./control/metrics.js')]);
        this.metrics = await MetricsListener.open(metrics.listen, metrics.from, this.logger, () => exposition(this.snapshot()));
      }
    } catch (err) {
      this.closeConsole();
      this.closeTable();
      this.releasePidFile();
      const e = err as Error & { code: 'ERR_CONTROL_SOCKET' | 'ERR_METRICS_LISTEN' };
      throw new DaemonError(e.code, e.message, 71);
    }
  }

  private closeConsole(): void {
    this.control?.close();
    this.metrics?.close();
    this.control = null;
    this.metrics = null;
  }

  /** Answers one control request. */
  private async answer(req: Request): Promise<Reply> {
    if (req.cmd === 'status') return { ok: true, status: this.snapshot() };
    if (req.cmd === 'reload') return { ok: true, reload: outcomeOf(await this.reload()) };
    return { ok: true, diff: await this.diff(req.config) };
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
    const r = this.facts.lastReload;
    const last = !r ? 'none' : r.result === 'ok' ? 'ok' : `rejected (${r.errors} errors)`;
    const status = `${services - unbound} services, ${unbound} unbound; last reload: ${last}`;
    const err = this.notify.send({ ...fields, STATUS: status });
    if (err) this.logger.debug({ err: { message: err.message } }, 'cannot notify the service manager');
  }

  /**
   * Re-reads the configuration; any error keeps the whole running configuration. Reloads run one
   * at a time; requests made while one runs are served by one more reload after it, which reads
   * the files as they are then, so the last request's file wins.
   */
  reload(): Promise<ReloadResult> {
    if (this.queued) return this.queued;
    const next = this.reloading.then(() => {
      this.queued = null;
      return unoptimized(() => this.reloadNow());
    });
    this.queued = next;
    this.reloading = next.catch(() => false);
    return next;
  }

  private async reloadNow(): Promise<ReloadResult> {
    const stopping: ReloadResult = { ok: false, errors: [], message: 'ninetd is stopping' };
    if (this.stopping || !this.table) return stopping;
    this.tellManager({ RELOADING: '1', MONOTONIC_USEC: monotonicUsec() });
    const { plans, errors } = await this.load(true);
    if (this.stopping) return stopping;
    const at = new Date(this.host.now()).toISOString();
    if (errors.length > 0) {
      this.logErrors(errors);
      this.logger.error({ file: this.opts.configFile }, 'reload rejected: configuration unchanged');
      this.facts.lastReload = { at, result: 'rejected', errors: errors.length };
      this.facts.reloads.rejected += 1;
      this.tellManager({ READY: '1' });
      return { ok: false, errors };
    }
    const before = this.table.plans();
    const changes = this.table.apply(plans);
    const counts = { added: changes.added.length, changed: changes.changed.length, removed: changes.removed.length, unchanged: changes.unchanged.length };
    this.logger.info(counts, 'reloaded');
    this.facts.lastReload = { at, result: 'ok', ...counts };
    this.facts.reloads.ok += 1;
    // Once the old table's plans and this reload's locals are garbage too.
    setImmediate(giveBackMemory);
    this.tellManager({ READY: '1' });
    return { ok: true, changes, summary: summarize(changes, before) };
  }

  /** What a reload would do with `file` (default: our own configuration file); changes nothing. */
  async diff(file?: string): Promise<Outcome> {
    if (this.stopping || !this.table) return { accepted: false, errors: [], message: 'ninetd is stopping' };
    const { plans, errors } = await this.load(true, file ?? this.opts.configFile);
    if (errors.length > 0) return { accepted: false, errors };
    const before = this.table.plans();
    return { accepted: true, changes: summarize(reconcile(before, new Map(plans.map((p) => [p.key, p]))), before) };
  }

  /** Stops listening and closes every socket; running handlers are left to finish. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.tellManager({ STOPPING: '1' });
    clearInterval(this.watchdog);
    // Handlers are left to finish, as inetd leaves them; say which.
    const running = this.table?.runningHandlers() ?? [];
    this.logger.info({ count: running.length, handlers: running }, 'handlers still running');
    this.closeConsole();
    this.closeTable();
    this.releasePidFile();
    this.notify?.close();
    // rpcbind is told that the rpc services are gone before the process may exit.
    void this.rpc.stopAll().then(() => {
      clearInterval(this.keepAlive);
      this.logger.info('stopped');
      this.resolveStopped();
    });
  }

  private closeTable(): void {
    this.table?.closeAll();
    this.host.resources.close();
    this.host.streams.close();
  }

  /** Maps signals to methods; returns a function that removes the listeners. */
  installSignals(): () => void {
    const handlers: Array<[NodeJS.Signals, () => void]> = [
      ['SIGHUP', () => void this.reload().catch((err) => this.logger.error({ err }, 'reload failed'))],
      ['SIGINT', () => this.stop()],
      ['SIGTERM', () => this.stop()],
      ['SIGUSR1', () => {
        this.reopenLog();
        this.table?.reopenLogs();
      }],
      ['SIGUSR2', () => {
        const { services, ...daemon } = this.snapshot();
        this.logger.info({ daemon, services }, 'state');
      }],
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

  /** The one snapshot: the SIGUSR2 record, `ninetd status` and /metrics are all made from it. */
  snapshot(): DaemonSnapshot {
    return daemonSnapshot(this.facts, this.dump(), processFds(), this.host.now());
  }

  /** The port /metrics is served on; null when it is not. */
  get metricsPort(): number | null {
    return this.metrics?.port ?? null;
  }
}

/** A reload's result as the control socket tells it. */
function outcomeOf(r: ReloadResult): Outcome {
  if (r.ok) return { accepted: true, changes: r.summary };
  return r.message ? { accepted: false, errors: r.errors, message: r.message } : { accepted: false, errors: r.errors };
}
