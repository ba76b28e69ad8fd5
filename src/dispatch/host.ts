// The Host of a real daemon: the system clock and timers, ninetd's own environment and uid, the
// addon's Poller, the native spawn, the socket binder, a /dev/null spare descriptor and the
// byte pump of in-process stream connections (capped by default from our fd limit). Tests
// build their own Host instead. It holds no policy.
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { HostsFiles } from '../access/gate.js';
import { serviceLog } from '../log/file.js';
import type { Logger } from '../log/logger.js';
import * as native from '../native/index.js';
import { bindService, closeService } from '../net/listener.js';
import { nativeSpawn, spawnHandler } from '../spawn/spawn.js';
import type { DispatchSettings, Host, TimerHandle, Timers } from './core.js';
import { Resources } from './resources.js';
import { defaultStreamMax, Streams } from './streams.js';

/** setTimeout and clearTimeout. */
export const SYSTEM_TIMERS: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle: TimerHandle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A Host on this process and this machine. */
export function systemHost(logger: Logger, settings: DispatchSettings, backlog: number | undefined, hosts: HostsFiles | null): Host {
  const now = (): number => Date.now();
  const reserve = { open: () => openSync('/dev/null', 'r'), close: (fd: number) => closeSync(fd) };
  return {
    logger,
    settings,
    hosts,
    resources: new Resources(logger, now, SYSTEM_TIMERS, reserve),
    streams: new Streams({ idleMs: settings.internalIdleMs, max: settings.internalMax || defaultStreamMax(fdLimit()) }),
    env: process.env,
    uid: process.getuid?.() ?? 0,
    now,
    timers: SYSTEM_TIMERS,
    fastPath: nativeSpawn(),
    poller: (fd, cb) => new native.Poller(fd, cb),
    bind: (entry, port) => bindService(entry.port === 0 && port > 0 ? { ...entry, port } : entry, backlog !== undefined ? { backlog } : {}),
    closeSocket: (entry, fd, inherited) => (inherited ? native.close(fd) : closeService(entry, fd)),
    spawn: spawnHandler,
    userExists: (name) => native.getpwnam(name) !== null,
    serviceLog: (file, bindings) => serviceLog(logger, file, bindings),
  };
}

/** Our soft RLIMIT_NOFILE, from /proc/self/limits; 1024 (the usual default) when it cannot be read. */
function fdLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m?.[1] === 'unlimited' ? 2 ** 20 : Number(m?.[1] ?? 1024);
  } catch {
    return 1024;
  }
}
