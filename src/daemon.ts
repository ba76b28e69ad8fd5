// The daemon's lifecycle: load the configuration, bind and watch its services, reload them on
// request, stop. Signals become method calls here and nowhere else. It does not parse argv
// (cli.ts) or dispatch connections (dispatch/).
import { unlinkSync } from 'node:fs';
import { keyEntries, reconcile, serviceKey } from './config/diff.js';
import { loadConfig } from './config/load.js';
import { loadSettings, type ProcessSettings, type ServiceSettings } from './config/settings.js';
import { formatConfigError, type Config, type ServiceEntry } from './config/types.js';
import { Service, type DispatchContext, type DispatchSettings } from './dispatch/service.js';
import type { Logger } from './log/logger.js';
import { HostsFiles } from './access/gate.js';
import { matchInherited, takeListenFds, type InheritedSocket } from './net/activation.js';
import { bindService, BindError } from './net/listener.js';
import * as native from './native/index.js';
import { monotonicUsec, SdNotify, watchdogIntervalMs } from './net/sd-notify.js';
import { RpcRegistry } from './rpc/registry.js';

/** What the daemon is told by the command line and the settings file. */
export interface DaemonOptions {
  configFile: string;
  servicesFile?: string;
  rpcFile?: string;
  defaultFamily?: 'inet4' | 'inet46';
  /** Pid file to lock for life; '' for none. */
  pidfile?: string;
  settings: DispatchSettings;
  /** hosts.allow and hosts.deny to check, when tcp_wrappers are on. */
  hostsFiles?: { allow: string; deny: string; lookupMs: number } | null;
  /** The settings file, re-read on reload for its [service:…] sections; null for none. */
  settingsFile?: string | null;
  /** Handler defaults from [daemon] and the [service:NAME/PROTO] sections, as read at start. */
  processDefaults?: ProcessSettings;
  serviceSettings?: Map<string, ServiceSettings & { line: number }>;
}

/** The settings of one entry: its [service:NAME/PROTO] section over the [daemon] handler defaults. */
export function serviceSettingsFor(e: ServiceEntry, defaults: ProcessSettings, sections: ReadonlyMap<string, ServiceSettings>): ServiceSettings {
  const own = sections.get(`${e.service}/${e.protocol}`) ?? {};
  const { line: _line, ...attrs } = own as ServiceSettings & { line?: number };
  return { ...pickProcess(defaults), ...attrs };
}

/** Only the handler keys of a [daemon] section (it also holds daemon-wide ones). */
function pickProcess(d: ProcessSettings): ProcessSettings {
  const { cwd, env, nice, passenv, rlimit_as, rlimit_cpu, rlimit_nofile, rlimit_nproc, umask } = d;
  const all = { cwd, env, nice, passenv, rlimit_as, rlimit_cpu, rlimit_nofile, rlimit_nproc, umask };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as ProcessSettings;
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

/** Logs every configuration error as `file:line: message`. */
function logConfigErrors(log: Logger, config: Config): void {
  for (const e of config.errors) log.error({ file: e.file, line: e.line, code: e.code }, formatConfigError(e));
}

/** The supervisor: owns the service table, the logger and the settings. */
export class Daemon {
  private readonly services = new Map<string, Service>();
  /** Entries whose socket could not be bound; retried every retry time. */
  private readonly unbound = new Map<string, ServiceEntry>();
  private readonly warned = new Set<string>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** Signal listeners do not keep Node alive; this does, until stop(). */
  private keepAlive: NodeJS.Timeout | undefined;
  private stopping = false;
  private pidFd = -1;
  private readonly notify = SdNotify.fromEnv(process.env);
  private watchdog: NodeJS.Timeout | undefined;
  private lastReload = 'none';
  /** Sockets the service manager passed us, not yet adopted by a service. */
  private inherited: InheritedSocket[] = [];
  private readonly hosts: HostsFiles | null;
  /** [service:…] sections in force, by NAME/PROTO. */
  private serviceSettings: Map<string, ServiceSettings & { line: number }>;
  private readonly internalUdp = new Set<number>();
  /** Registrations of the bound rpc services with rpcbind. */
  private readonly rpc: RpcRegistry;
  private resolveStopped!: () => void;
  /** Resolves once stop() has closed everything. */
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));

  constructor(
    private readonly opts: DaemonOptions,
    readonly logger: Logger,
    /** Reopens the log file (after logrotate moved it). */
    private readonly reopenLog: () => void = () => {},
  ) {
    this.serviceSettings = opts.serviceSettings ?? new Map();
    this.rpc = new RpcRegistry({ logger, retryMs: opts.settings.retryTimeMs });
    this.hosts = opts.hostsFiles ? new HostsFiles(opts.hostsFiles.allow, opts.hostsFiles.deny, logger, opts.hostsFiles.lookupMs) : null;
  }

  /** Handler attributes of an entry under the settings in force. */
  private attrsFor(e: ServiceEntry): ServiceSettings {
    return serviceSettingsFor(e, this.opts.processDefaults ?? {}, this.serviceSettings);
  }

  /** Warns about [service:…] sections that name no entry: most likely a typo. */
  private warnStraySections(entries: Iterable<ServiceEntry>): void {
    const names = new Set([...entries].map((e) => `${e.service}/${e.protocol}`));
    for (const [name, s] of this.serviceSettings) {
      if (!names.has(name)) this.logger.warn({ file: this.opts.settingsFile, line: s.line }, `[service:${name}] matches no service in the configuration`);
    }
  }

  private load(): Promise<Config> {
    return loadConfig(this.opts.configFile, { servicesFile: this.opts.servicesFile, rpcFile: this.opts.rpcFile, defaultFamily: this.opts.defaultFamily });
  }

  /** Loads the configuration and serves every good entry; throws DaemonError if none can be served. */
  async start(): Promise<void> {
    this.lockPidFile();
    this.inherited = takeListenFds(process.env, process.pid);
    const config = await this.load();
    logConfigErrors(this.logger, config);
    const { byKey, errors } = keyEntries(config.entries);
    logConfigErrors(this.logger, { entries: [], errors });
    if (byKey.size === 0) {
      this.releasePidFile();
      throw new DaemonError('ERR_NO_SERVICES', `${this.opts.configFile}: no service to serve`, 78);
    }
    this.warnStraySections(byKey.values());
    for (const [key, entry] of byKey) this.add(key, entry);
    for (const s of this.inherited.splice(0)) {
      this.logger.warn({ fd: s.fd, name: s.name }, 'passed socket matches no service; closed');
      native.close(s.fd);
    }
    if (this.services.size === 0) {
      this.closeAll();
      this.releasePidFile();
      throw new DaemonError('ERR_NO_BIND', 'no service could be bound', 71);
    }
    this.keepAlive = setInterval(() => {}, 2 ** 30);
    this.logger.info({ services: this.services.size, unbound: this.unbound.size }, 'started');
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
    const status = `${this.services.size} services, ${this.unbound.size} unbound; last reload: ${this.lastReload}`;
    const err = this.notify.send({ ...fields, STATUS: status });
    if (err) this.logger.debug({ err: { message: err.message } }, 'cannot notify the service manager');
  }

  /** Re-reads the configuration; any error keeps the whole running configuration. */
  async reload(): Promise<boolean> {
    if (this.stopping) return false;
    this.tellManager({ RELOADING: '1', MONOTONIC_USEC: monotonicUsec() });
    const config = await this.load();
    const { byKey, errors } = keyEntries(config.entries);
    const settings = this.opts.settingsFile ? await loadSettings(this.opts.settingsFile) : null;
    const all = [...config.errors, ...errors, ...(settings?.errors ?? [])];
    if (all.length > 0) {
      logConfigErrors(this.logger, { entries: [], errors: all });
      this.logger.error({ file: this.opts.configFile }, 'reload rejected: configuration unchanged');
      this.lastReload = `rejected (${all.length} errors)`;
      this.tellManager({ READY: '1' });
      return false;
    }
    // Only the per-service sections take effect on reload; [daemon] keys need a restart.
    if (settings) this.serviceSettings = settings.settings.services;
    this.warnStraySections(byKey.values());
    const running = new Map<string, ServiceEntry>();
    for (const [key, svc] of this.services) running.set(key, svc.entry);
    for (const [key, entry] of this.unbound) running.set(key, entry);
    const plan = reconcile(running, byKey);
    for (const key of plan.unchanged) this.services.get(key)?.update(byKey.get(key)!, this.attrsFor(byKey.get(key)!));
    for (const { key, to } of plan.changed) {
      const svc = this.services.get(key);
      if (svc) svc.update(to, this.attrsFor(to));
      else this.unbound.set(key, to);
      this.warnUser(key, to);
    }
    const removed = new Set(plan.removed);
    for (const entry of plan.added) {
      const key = serviceKey(entry);
      // A service moving to an address that overlaps its old one (e.g. 127.0.0.1:7 → *:7) cannot
      // bind while the old socket exists; close the old one first only in that case.
      if (!this.add(key, entry, true)) {
        for (const old of removed) {
          const o = this.services.get(old)?.entry;
          if (o && o.port === entry.port && o.transport === entry.transport) {
            this.remove(old);
            removed.delete(old);
          }
        }
        this.unbound.delete(key);
        this.add(key, entry);
      }
    }
    for (const key of removed) this.remove(key);
    this.refreshInternalUdp();
    this.logger.info(
      { added: plan.added.length, changed: plan.changed.length, removed: plan.removed.length, unchanged: plan.unchanged.length },
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
    this.closeAll();
    this.releasePidFile();
    this.notify?.close();
    // Stopped once rpcbind has been told (closeAll asked it to unregister every rpc service).
    void this.rpc.stopAll().then(() => {
      clearInterval(this.keepAlive);
      this.logger.info('stopped');
      this.resolveStopped();
    });
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
  dump(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const svc of this.services.values()) {
      const e = svc.entry;
      out.push({ service: e.service, proto: e.protocol, state: svc.state(), children: svc.children, ...svc.counters, ...(e.rpc ? { rpc: this.rpc.describe(e) } : {}) });
    }
    for (const e of this.unbound.values()) out.push({ service: e.service, proto: e.protocol, state: 'unbound', ...(e.rpc ? { rpc: this.rpc.describe(e) } : {}) });
    return out;
  }

  /** Binds and starts one service; on failure logs it, keeps it for retry, and returns false. */
  private add(key: string, entry: ServiceEntry, quiet = false): boolean {
    if (entry.tcpmux) {
      // Reached through the multiplexer only: nothing to bind.
      this.services.set(key, new Service(entry, -1, this.dispatchContext(), this.attrsFor(entry)));
      this.warnUser(key, entry);
      this.logger.info({ service: entry.service, proto: entry.protocol, plus: entry.tcpmux.plus }, 'tcpmux service');
      return true;
    }
    let fd: number;
    const passed = matchInherited(this.inherited, entry);
    try {
      if (passed) this.inherited.splice(this.inherited.indexOf(passed), 1);
      fd = passed ? passed.fd : bindService(entry);
    } catch (err) {
      this.unbound.set(key, entry);
      if (!quiet) {
        const cause = (err as BindError).cause as NodeJS.ErrnoException | undefined;
        this.logger.error({ service: entry.service, proto: entry.protocol, code: 'ERR_BIND', err: { code: cause?.code } }, (err as Error).message);
        this.scheduleRetry();
      }
      return false;
    }
    this.unbound.delete(key);
    const svc = new Service(
      entry,
      fd,
      this.dispatchContext(),
      this.attrsFor(entry),
      passed !== undefined,
    );
    this.services.set(key, svc);
    this.refreshInternalUdp();
    this.warnUser(key, entry);
    svc.start();
    const where = entry.family === 'unix' ? { path: entry.path } : { addr: entry.host, port: boundPort(fd, entry) };
    const how = passed ? { inherited: true } : {};
    this.logger.info({ service: entry.service, proto: entry.protocol, type: entry.socketType, wait: entry.wait, ...where, ...how }, 'listening');
    if (entry.rpc) this.rpc.bound(entry, boundPort(fd, entry));
    return true;
  }

  /** What every service is given of the daemon. */
  private dispatchContext(): DispatchContext {
    return {
      logger: this.logger,
      settings: this.opts.settings,
      internalUdpPorts: () => this.internalUdp,
      hosts: this.hosts,
      tcpmux: (name) => this.services.get(`tcpmux/${name}`),
      tcpmuxNames: () => [...this.services.values()].flatMap((s) => (s.entry.tcpmux ? [s.entry.tcpmux.name] : [])),
    };
  }

  private remove(key: string): void {
    const svc = this.services.get(key);
    this.unbound.delete(key);
    if (!svc) return;
    this.services.delete(key);
    svc.close();
    if (svc.entry.rpc) this.rpc.closed(svc.entry);
    this.logger.info({ service: svc.entry.service, proto: svc.entry.protocol }, 'closed');
  }

  private closeAll(): void {
    clearTimeout(this.retryTimer);
    for (const key of [...this.services.keys()]) this.remove(key);
    this.unbound.clear();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopping) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      for (const [key, entry] of [...this.unbound]) this.add(key, entry);
    }, this.opts.settings.retryTimeMs);
  }

  private refreshInternalUdp(): void {
    this.internalUdp.clear();
    for (const svc of this.services.values()) {
      const e = svc.entry;
      if (e.server === 'internal' && e.transport === 'udp') this.internalUdp.add(boundPort(svc.fd, e));
    }
  }

  /** Not root: handlers run as us, so an entry naming another user is warned about, once. */
  private warnUser(key: string, e: ServiceEntry): void {
    const me = process.getuid?.() ?? 0;
    if (me === 0 || e.server === 'internal' || e.uid < 0 || e.uid === me) return;
    const id = `${key}/${e.user}`;
    if (this.warned.has(id)) return;
    this.warned.add(id);
    this.logger.warn(
      { service: e.service, proto: e.protocol, file: e.file, line: e.line },
      `not running as root: handler runs as uid ${me}, not as user "${e.user}"`,
    );
  }
}

/** The port a service actually got (differs from the entry's for port 0). */
function boundPort(fd: number, e: ServiceEntry): number {
  if (e.port !== 0) return e.port;
  const a = native.getsockname(fd);
  return a.family !== 'unix' ? a.port : 0;
}
