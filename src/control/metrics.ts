// The Prometheus text exposition (format 0.0.4) of a daemon snapshot: per service, labelled
// service, proto and address, the connections, refusals by reason, spawns, spawn errors, exits by
// outcome, handlers running, state, handler durations as a histogram and handler CPU seconds;
// daemon-wide the reloads by result, the last reload, descriptors and build info. Pure: snapshot
// in, text out. It serves nothing (http.ts does) and counts nothing (dispatch/counters.ts does).
import { DURATION_BUCKETS, EXIT_OUTCOMES, REFUSAL_REASONS } from '../dispatch/counters.js';
import type { ServiceSnapshot, State } from '../dispatch/service.js';
import type { DaemonSnapshot } from './snapshot.js';

/** The Content-Type of the exposition. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Every state a service can be in, for the one-of-many state gauge. Sorted. */
const STATES = {
  backoff: true,
  busy: true,
  closed: true,
  full: true,
  listening: true,
  suspended: true,
  unbound: true,
} as const satisfies Record<State['kind'], true>;

type Labels = Record<string, string>;

/** A label value as the text format wants it: backslash, double quote and newline escaped. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/** A sample value: integers as they are, +Inf for infinity. */
function num(v: number): string {
  if (v === Infinity) return '+Inf';
  return Number.isFinite(v) ? String(v) : 'NaN';
}

/** Collects one family at a time: HELP and TYPE once, then its samples. */
class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string, samples: Array<[Labels, number, string?]>): void {
    if (samples.length === 0) return;
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    for (const [labels, value, suffix] of samples) this.lines.push(`${name}${suffix ?? ''}${labelText(labels)} ${num(value)}`);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** The labels of one service. */
function serviceLabels(s: ServiceSnapshot): Labels {
  return { service: s.service, proto: s.proto, address: s.address };
}

/** One sample per service of a per-service value. */
function perService(services: ServiceSnapshot[], value: (s: ServiceSnapshot) => number): Array<[Labels, number]> {
  return services.map((s) => [serviceLabels(s), value(s)]);
}

/** One sample per service and value of `key` (reason, outcome, mode, state). */
function perServiceBy<K extends string>(services: ServiceSnapshot[], key: string, values: readonly K[], value: (s: ServiceSnapshot, k: K) => number): Array<[Labels, number]> {
  return services.flatMap((s) => values.map((k): [Labels, number] => [{ ...serviceLabels(s), [key]: k }, value(s, k)]));
}

/** The text exposition of `snap`. */
export function exposition(snap: DaemonSnapshot): string {
  const x = new Exposition();
  const svcs = snap.services;
  x.family('ninetd_build_info', 'gauge', 'Always 1; the labels say which ninetd and Node.js run.', [[{ version: snap.version, nodejs_version: snap.node }, 1]]);
  x.family('process_start_time_seconds', 'gauge', 'When ninetd started, in seconds since the epoch.', [[{}, Date.parse(snap.startedAt) / 1000]]);
  if (snap.fds) {
    x.family('process_open_fds', 'gauge', 'File descriptors ninetd has open.', [[{}, snap.fds.open]]);
    x.family('process_max_fds', 'gauge', 'The limit of open file descriptors (soft RLIMIT_NOFILE).', [[{}, snap.fds.limit]]);
  }
  x.family('ninetd_reloads_total', 'counter', 'Reloads since start, by result: ok (applied) or rejected (configuration unchanged).', [
    [{ result: 'ok' }, snap.reloads.ok],
    [{ result: 'rejected' }, snap.reloads.rejected],
  ]);
  if (snap.lastReload) {
    x.family('ninetd_last_reload_timestamp_seconds', 'gauge', 'When the last reload ran, in seconds since the epoch.', [[{}, Date.parse(snap.lastReload.at) / 1000]]);
    x.family('ninetd_last_reload_success', 'gauge', '1 when the last reload was applied, 0 when it was rejected.', [[{}, snap.lastReload.result === 'ok' ? 1 : 0]]);
  }
  const states = Object.keys(STATES) as Array<State['kind']>;
  x.family('ninetd_service_state', 'gauge', 'The state of each service: 1 for the state it is in, 0 for the others.', perServiceBy(svcs, 'state', states, (s, k) => (s.state === k ? 1 : 0)));
  x.family('ninetd_handlers_running', 'gauge', 'Handlers and in-process connections of the service running now.', perService(svcs, (s) => s.children));
  x.family('ninetd_connections_total', 'counter', 'Connections accepted and datagrams read.', perService(svcs, (s) => s.connections));
  x.family('ninetd_refusals_total', 'counter', 'Clients not served, by reason: the setting that refused them (hosts, only_from, no_access, per_source, cps), the spawn-rate guard (rate), or the state (full, suspended).', perServiceBy(svcs, 'reason', REFUSAL_REASONS, (s, k) => s.refusals[k]));
  x.family('ninetd_handler_spawns_total', 'counter', 'Handlers started.', perService(svcs, (s) => s.spawns));
  x.family('ninetd_handler_spawn_errors_total', 'counter', 'Handlers that could not be started.', perService(svcs, (s) => s.spawnErrors));
  x.family('ninetd_handler_exits_total', 'counter', 'Handlers that ended, by outcome: ok (exit status 0), nonzero (another exit status), signal (killed).', perServiceBy(svcs, 'outcome', EXIT_OUTCOMES, (s, k) => s.exits[k]));
  x.family('ninetd_handler_duration_seconds', 'histogram', 'How long handlers ran, from start to exit.', svcs.flatMap((s) => {
    const l = serviceLabels(s);
    const d = s.durations;
    const buckets = [...DURATION_BUCKETS, Infinity].map((le, i): [Labels, number, string] => [{ ...l, le: num(le) }, d.buckets[i] ?? 0, '_bucket']);
    return [...buckets, [l, d.sum, '_sum'], [l, d.count, '_count']] as Array<[Labels, number, string]>;
  }));
  x.family('ninetd_handler_cpu_seconds_total', 'counter', 'CPU time used by handlers that ended, by mode (user, system).', perServiceBy(svcs, 'mode', ['system', 'user'] as const, (s, k) => s.cpu[k]));
  x.family('ninetd_suspensions_total', 'counter', 'Times the spawn-rate guard suspended the service.', perService(svcs, (s) => s.suspensions));
  x.family('ninetd_datagram_drops_total', 'counter', 'Datagrams an internal service did not answer (reflection-loop defence).', perService(svcs, (s) => s.drops));
  return x.text();
}
