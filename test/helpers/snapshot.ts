// Daemon snapshots made by hand, for the pure formatters of src/control/ (status text, metrics).
import type { DaemonSnapshot } from '../../src/control/snapshot.js';
import { copyCounters, newCounters } from '../../src/dispatch/counters.js';
import type { ServiceSnapshot } from '../../src/dispatch/service.js';

/** A listening service with zero counters, changed by `over`. */
export function serviceSnap(over: Partial<ServiceSnapshot> = {}): ServiceSnapshot {
  return { service: 'echo', proto: 'tcp', address: '127.0.0.1:7', mode: 'nowait internal', state: 'listening', children: 0, ...copyCounters(newCounters()), ...over };
}

/** A daemon snapshot at 2026-01-01T01:00:00Z, up one hour, with `services`. */
export function daemonSnap(services: ServiceSnapshot[], over: Partial<DaemonSnapshot> = {}): DaemonSnapshot {
  return {
    pid: 4242,
    version: '1.2.3',
    node: '20.19.0',
    time: '2026-01-01T01:00:00.000Z',
    startedAt: '2026-01-01T00:00:00.000Z',
    uptimeSeconds: 3600,
    configFile: '/etc/inetd.conf',
    lastReload: null,
    reloads: { ok: 0, rejected: 0 },
    fds: { open: 12, limit: 1024 },
    services,
    ...over,
  };
}
