// The one snapshot of a running daemon: who it is, since when, what its last reload did, its file
// descriptors, and every service with its state and counters. The SIGUSR2 `state` record,
// `ninetd status --json` and /metrics are all made from it, so they never disagree. Building it
// is pure; reading the process's own descriptors (/proc/self) is the one thin shell here.
import { readdirSync, readFileSync } from 'node:fs';
import type { ServiceSnapshot } from '../dispatch/service.js';

/** The last reload: when, and what it came to. */
export interface ReloadRecord {
  /** ISO time. */
  at: string;
  result: 'ok' | 'rejected';
  /** ok: the counts; rejected: how many errors. */
  added?: number;
  changed?: number;
  removed?: number;
  unchanged?: number;
  errors?: number;
}

/** The daemon's own facts, kept by the daemon between snapshots. */
export interface DaemonFacts {
  pid: number;
  version: string;
  /** ms since the epoch. */
  startedAt: number;
  configFile: string;
  lastReload: ReloadRecord | null;
  reloads: { ok: number; rejected: number };
}

/** Everything `ninetd status` shows, as JSON. */
export interface DaemonSnapshot {
  pid: number;
  version: string;
  node: string;
  /** ISO times. */
  time: string;
  startedAt: string;
  uptimeSeconds: number;
  configFile: string;
  lastReload: ReloadRecord | null;
  reloads: { ok: number; rejected: number };
  /** Descriptors open now and the soft limit; null where /proc cannot tell. */
  fds: { open: number; limit: number } | null;
  services: ServiceSnapshot[];
}

/** The snapshot at `now` (ms since the epoch). */
export function daemonSnapshot(facts: DaemonFacts, services: ServiceSnapshot[], fds: DaemonSnapshot['fds'], now: number): DaemonSnapshot {
  return {
    pid: facts.pid,
    version: facts.version,
    node: process.versions.node,
    time: new Date(now).toISOString(),
    startedAt: new Date(facts.startedAt).toISOString(),
    uptimeSeconds: Math.max(0, Math.floor((now - facts.startedAt) / 1000)),
    configFile: facts.configFile,
    lastReload: facts.lastReload && { ...facts.lastReload },
    reloads: { ...facts.reloads },
    fds,
    services,
  };
}

/** The soft RLIMIT_NOFILE from a /proc/PID/limits text; null when absent or unlimited. */
export function fdLimitOf(limits: string): number | null {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits);
  return m && m[1] !== 'unlimited' ? Number(m[1]) : null;
}

/** This process's open descriptors and their limit, from /proc/self; null when unreadable. */
export function processFds(): DaemonSnapshot['fds'] {
  try {
    // readdir holds one descriptor of its own on /proc/self/fd while it reads.
    const open = readdirSync('/proc/self/fd').length - 1;
    const limit = fdLimitOf(readFileSync('/proc/self/limits', 'utf8'));
    return limit === null ? null : { open, limit };
  } catch {
    return null;
  }
}

/** ninetd's version, from its package.json (two levels up from src/control/ and dist/control/). */
export function ninetdVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
