// What a reload did, or would do, told to a person: the services added and removed, the ones
// changed with the names of the fields that changed, and how many stayed as they were; and the
// text `ninetd reload` and `ninetd --check --diff` print. Pure: plans in, a summary and lines out.
// It does not decide what changed (config/diff.ts does) and applies nothing.
import type { Changes } from '../config/diff.js';
import type { ServicePlan } from '../config/resolve.js';
import { formatConfigError, type ConfigError } from '../config/types.js';

/** A service as a summary names it. */
export interface ServiceRef {
  service: string;
  proto: string;
  address: string;
}

/** A reload's changes, ready to be sent as JSON and printed. */
export interface ChangeSummary {
  added: ServiceRef[];
  removed: ServiceRef[];
  changed: Array<ServiceRef & { fields: string[] }>;
  unchanged: number;
}

/** What a reload (or a dry run) came to: the changes, or every error that rejected the file. */
export type Outcome = { accepted: true; changes: ChangeSummary } | { accepted: false; errors: ConfigError[]; message?: string };

/** Where a plan listens: `127.0.0.1:7`, `[::1]:7`, `*:7`, a unix path, or `tcpmux` for a sub-service. */
export function planAddress(plan: ServicePlan): string {
  const e = plan.entry;
  if (e.tcpmux) return 'tcpmux';
  if (e.family === 'unix') return e.path;
  return `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

function ref(plan: ServicePlan): ServiceRef {
  return { service: plan.entry.service, proto: plan.entry.protocol, address: planAddress(plan) };
}

/** Entry fields never reported: where it was written, and the raw limit fields (reported as the limits they set). */
const QUIET_ENTRY_FIELDS: ReadonlySet<string> = new Set(['file', 'line', 'instances', 'cps', 'perSource', 'rate']);
/** Limits by the settings key that names them. Sorted. */
const LIMIT_NAMES = { cps: 'cps', instances: 'instances', perSource: 'per_source', rate: 'rate' } as const;

/** Comparable text of a value (address patterns hold bigints). */
function text(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString(16) : x)) ?? 'undefined';
}

/** The names of the fields whose values differ between two plans of one service, sorted. */
export function changedFields(from: ServicePlan, to: ServicePlan): string[] {
  const out = new Set<string>();
  const differ = (a: unknown, b: unknown): boolean => text(a) !== text(b);
  const keys = (a: object, b: object): string[] => [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const fe = from.entry as unknown as Record<string, unknown>;
  const te = to.entry as unknown as Record<string, unknown>;
  for (const k of keys(fe, te)) if (!QUIET_ENTRY_FIELDS.has(k) && differ(fe[k], te[k])) out.add(k);
  // Ids follow the user and group: name them only when the names stayed and the databases moved.
  if (out.has('user') || out.has('group')) for (const k of ['uid', 'gid', 'groups']) out.delete(k);
  for (const k of Object.keys(LIMIT_NAMES) as Array<keyof typeof LIMIT_NAMES>) {
    if (from.limits[k].value !== to.limits[k].value) out.add(LIMIT_NAMES[k]);
  }
  const fp = from.process as unknown as Record<string, unknown>;
  const tp = to.process as unknown as Record<string, unknown>;
  for (const k of keys(fp, tp)) {
    if (k === 'rlimits') {
      const fr = from.process.rlimits as Record<string, unknown>;
      const tr = to.process.rlimits as Record<string, unknown>;
      for (const r of keys(fr, tr)) if (differ(fr[r], tr[r])) out.add(r);
    } else if (differ(fp[k], tp[k])) out.add(k);
  }
  const fa = from.access as Record<string, unknown>;
  const ta = to.access as Record<string, unknown>;
  for (const k of keys(fa, ta)) if (differ(fa[k], ta[k])) out.add(k);
  return [...out].sort();
}

/** The summary of `changes`, naming removed services by their plans in `before` (the running table). */
export function summarize(changes: Changes, before: ReadonlyMap<string, ServicePlan>): ChangeSummary {
  return {
    added: changes.added.map(ref),
    removed: changes.removed.flatMap((key) => {
      const plan = before.get(key);
      return plan ? [ref(plan)] : [];
    }),
    changed: changes.changed.map(({ from, to }) => ({ ...ref(to), fields: changedFields(from, to) })),
    unchanged: changes.unchanged.length,
  };
}

const name = (s: ServiceRef): string => `${s.service}/${s.proto} ${s.address}`;

/** The lines `ninetd reload` (or, with `dryRun`, `--check --diff`) prints for an outcome. */
export function formatOutcome(o: Outcome, dryRun: boolean): string {
  if (!o.accepted) {
    const lines = o.errors.map(formatConfigError);
    if (o.message) lines.push(o.message);
    lines.push(dryRun ? 'a reload would be rejected: configuration unchanged' : 'configuration unchanged');
    return `${lines.join('\n')}\n`;
  }
  const c = o.changes;
  const lines = [
    ...c.added.map((s) => `added     ${name(s)}`),
    ...c.removed.map((s) => `removed   ${name(s)}`),
    ...c.changed.map((s) => `changed   ${name(s)}: ${s.fields.join(', ')}`),
  ];
  const counts = `${c.added.length} added, ${c.removed.length} removed, ${c.changed.length} changed, ${c.unchanged} unchanged`;
  lines.push(dryRun ? `a reload would make: ${counts}` : `reloaded: ${counts}`);
  return `${lines.join('\n')}\n`;
}
