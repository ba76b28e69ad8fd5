// `ninetd status` as text: the daemon's pid, version, uptime, configuration file and last reload,
// then one row per service (protocol, address, mode, state with its detail, handlers running,
// connections, refusals by reason, spawn errors, last handler exit). Pure: snapshot in, text
// out; it also picks the services named on the command line. It asks the daemon nothing.
import type { ServiceSnapshot } from '../dispatch/service.js';
import type { DaemonSnapshot, ReloadRecord } from './snapshot.js';

/** `2d 03h`, `3h 04m`, `4m 05s`, `6s`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  const two = (n: number): string => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${two(h)}h`;
  if (h > 0) return `${h}h ${two(m)}m`;
  if (m > 0) return `${m}m ${two(s % 60)}s`;
  return `${s}s`;
}

/** The state with its detail: `busy (pid 42)`, `suspended until …`, `unbound: … (retry at …)`. */
export function stateText(s: ServiceSnapshot): string {
  if (s.state === 'busy') return `busy (pid ${s.pid})`;
  if (s.state === 'suspended') return `suspended until ${s.until}`;
  if (s.state === 'unbound') return `unbound: ${s.error} (retry at ${s.retryAt})`;
  return s.state;
}

/** Refusals by reason, `hosts:2 cps:1`, or `-`. */
function refusalsText(s: ServiceSnapshot): string {
  const parts = Object.entries(s.refusals).filter(([, n]) => n > 0).map(([r, n]) => `${r}:${n}`);
  return parts.length > 0 ? parts.join(' ') : '-';
}

/** The last handler's end, `exit 0 (pid 42, 12s ago)`, or `-`. */
function lastExitText(s: ServiceSnapshot, now: number): string {
  const x = s.lastExit;
  if (!x) return '-';
  const how = x.signal ? x.signal : `exit ${x.code ?? '?'}`;
  return `${how} (pid ${x.pid}, ${duration((now - Date.parse(x.at)) / 1000)} ago)`;
}

function reloadText(r: ReloadRecord | null): string {
  if (!r) return 'none';
  const what = r.result === 'ok' ? `ok (${r.added} added, ${r.removed} removed, ${r.changed} changed, ${r.unchanged} unchanged)` : `rejected (${r.errors} error${r.errors === 1 ? '' : 's'}; configuration unchanged)`;
  return `${r.at} ${what}`;
}

/** Column headers, in order. */
const COLUMNS = ['SERVICE', 'PROTO', 'ADDRESS', 'MODE', 'STATE', 'RUNNING', 'CONNECTIONS', 'REFUSALS', 'SPAWN ERRORS', 'LAST EXIT'] as const;

/** Lines of cells, each column as wide as its widest cell; the last column is not padded. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** The whole `ninetd status` text. */
export function formatStatus(snap: DaemonSnapshot): string {
  const now = Date.parse(snap.time);
  const head = [
    `ninetd ${snap.version}, pid ${snap.pid}, up ${duration(snap.uptimeSeconds)} (since ${snap.startedAt})`,
    `config: ${snap.configFile}`,
    `last reload: ${reloadText(snap.lastReload)}`,
    ...(snap.fds ? [`file descriptors: ${snap.fds.open} of ${snap.fds.limit}`] : []),
  ];
  const rows = snap.services.map((s) => [
    s.service,
    s.proto,
    s.address,
    s.mode,
    stateText(s),
    String(s.children),
    String(s.connections),
    refusalsText(s),
    String(s.spawnErrors),
    lastExitText(s, now),
  ]);
  const body = rows.length > 0 ? table([[...COLUMNS], ...rows]) : ['no services'];
  return `${[...head, '', ...body].join('\n')}\n`;
}

/**
 * The services `names` pick: each name matches a service's name, or its `name/proto`. Returns the
 * names that matched nothing too; with no names, every service.
 */
export function pickServices(services: ServiceSnapshot[], names: readonly string[]): { picked: ServiceSnapshot[]; unknown: string[] } {
  if (names.length === 0) return { picked: services, unknown: [] };
  const hit = (s: ServiceSnapshot, n: string): boolean => s.service === n || `${s.service}/${s.proto}` === n;
  return { picked: services.filter((s) => names.some((n) => hit(s, n))), unknown: names.filter((n) => !services.some((s) => hit(s, n))) };
}
