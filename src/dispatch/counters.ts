// A service's counters: what it accepted, refused (and why), started, and how its handlers
// ended (outcome, duration, CPU time). One place adds to them; the service keeps them across
// reloads, and the snapshot copies them out for the state dump, `ninetd status` and /metrics.
// It does not log and does not decide anything.
import type { HandlerEnd } from '../spawn/request.js';

/** Why a client was not served. Sorted; the names are the settings that refused, or the state. */
export const REFUSAL_REASONS = ['access_times', 'cps', 'full', 'hosts', 'no_access', 'only_from', 'per_source', 'proxy_from', 'rate', 'suspended'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** How a handler ended: exit status 0, another exit status, or killed by a signal. */
export const EXIT_OUTCOMES = ['nonzero', 'ok', 'signal'] as const;
export type ExitOutcome = (typeof EXIT_OUTCOMES)[number];

/** Upper bounds (seconds) of the handler-duration histogram's buckets; +Inf is implied. */
export const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600] as const;

/** The last handler that ended. */
export interface LastExit {
  pid: number;
  code: number | null;
  signal: string | null;
  /** When it ended (ISO time). */
  at: string;
  ms: number;
}

/**
 * The last exit as the counters keep it: its time in ms since the epoch, made ISO text only
 * when copied out (toISOString costs more than the rest of countExit together, once per exit).
 */
export type KeptExit = Omit<LastExit, 'at'> & { atMs: number };

/** The plain totals of a service, kept and reported alike. */
interface Totals {
  /** Connections accepted and datagrams read. */
  connections: number;
  spawns: number;
  spawnErrors: number;
  suspensions: number;
  /** Datagrams an internal service did not answer (reflection-loop defence). */
  drops: number;
  /** Clients refused by access rules and per-client limits (hosts, only_from, no_access, per_source, cps, proxy_from). */
  refused: number;
  /** Connections closed for a missing, malformed or late PROXY header. */
  proxyErrors: number;
}

/** What is counted of the handlers that ended, kept and reported alike. */
interface EndTotals {
  /** Handlers that ended, by outcome. */
  exits: Record<ExitOutcome, number>;
  /** How long handlers ran: cumulative counts per bucket of DURATION_BUCKETS, then +Inf; and the sum in seconds. */
  durations: { buckets: number[]; sum: number; count: number };
  /** CPU time used by handlers that ended, in seconds. */
  cpu: { user: number; system: number };
}

/** Counters reported in the state dump and the metrics (copyCounters makes them). */
export interface ServiceCounts extends Totals, EndTotals {
  /** Clients not served, by reason (the ones in `refused`, and those turned away by rate, full, suspended). */
  refusals: Record<RefusalReason, number>;
  lastExit: LastExit | null;
}

/**
 * A service's counters as it keeps them; they survive reloads. The refusals and the ends are
 * made on the first of each: a service that has refused no one and seen no handler end keeps
 * only numbers (some 300 bytes less, times the services of a large table).
 */
export interface ServiceCounters extends Totals {
  refusals: Record<RefusalReason, number> | null;
  ends: (EndTotals & { last: KeptExit }) | null;
}

/** Reasons that are access decisions, counted in `refused` as well. */
const ACCESS_REASONS: ReadonlySet<RefusalReason> = new Set(['access_times', 'cps', 'hosts', 'no_access', 'only_from', 'per_source', 'proxy_from']);

/** All counters at zero. */
export function newCounters(): ServiceCounters {
  return { connections: 0, spawns: 0, spawnErrors: 0, suspensions: 0, drops: 0, refused: 0, proxyErrors: 0, refusals: null, ends: null };
}

/** Counts one client not served for `reason`. */
export function countRefusal(c: ServiceCounters, reason: RefusalReason): void {
  (c.refusals ??= zeros(REFUSAL_REASONS))[reason] += 1;
  if (ACCESS_REASONS.has(reason)) c.refused += 1;
}

/** The outcome of a handler's end. */
export function exitOutcome(end: Pick<HandlerEnd, 'code' | 'signal'>): ExitOutcome {
  if (end.signal) return 'signal';
  return end.code === 0 ? 'ok' : 'nonzero';
}

/** Counts a handler that ran and ended after `ms` milliseconds, at `at` (ms since the epoch). */
export function countExit(c: ServiceCounters, pid: number, end: HandlerEnd, ms: number, at: number): void {
  const last = { pid, code: end.code, signal: end.signal, atMs: at, ms };
  const e = (c.ends ??= { exits: zeros(EXIT_OUTCOMES), durations: noDurations(), cpu: { user: 0, system: 0 }, last });
  e.exits[exitOutcome(end)] += 1;
  const s = ms / 1000;
  const d = e.durations;
  for (let i = 0; i <= DURATION_BUCKETS.length; i++) if (i === DURATION_BUCKETS.length || s <= DURATION_BUCKETS[i]!) d.buckets[i]! += 1;
  d.sum += s;
  d.count += 1;
  if (end.usage) {
    e.cpu.user += end.usage.utimeUs / 1e6;
    e.cpu.system += end.usage.stimeUs / 1e6;
  }
  e.last = last;
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

function noDurations(): EndTotals['durations'] {
  return { buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
}

/** The counters as reported: a deep copy (a snapshot does not change under its reader), zeros where nothing was counted. */
export function copyCounters(c: ServiceCounters): ServiceCounts {
  const { refusals, ends: e, ...totals } = c;
  const x = e?.last;
  return {
    ...totals,
    refusals: refusals ? { ...refusals } : zeros(REFUSAL_REASONS),
    exits: e ? { ...e.exits } : zeros(EXIT_OUTCOMES),
    durations: e ? { buckets: [...e.durations.buckets], sum: e.durations.sum, count: e.durations.count } : noDurations(),
    cpu: e ? { ...e.cpu } : { user: 0, system: 0 },
    lastExit: x ? { pid: x.pid, code: x.code, signal: x.signal, at: new Date(x.atMs).toISOString(), ms: x.ms } : null,
  };
}
