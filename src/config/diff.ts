// Compares two configurations service by service. Pure: plans in, the changes out. Applying
// them (binding, closing) is the service table's job.
import type { ServicePlan } from './resolve.js';
import type { ConfigError, ServiceEntry } from './types.js';

/** Identity of a service across reloads: what it listens on. Port 0 (ephemeral) adds the name. */
export function serviceKey(e: ServiceEntry): string {
  // tcpmux sub-services have no socket of their own: the multiplexer finds them by name.
  if (e.tcpmux) return `tcpmux/${e.tcpmux.name.toLowerCase()}`;
  // An rpc entry is what it registers: program, versions and netid (socket type, transport, family).
  if (e.rpc) return `${e.socketType}/${e.transport}/${e.family}/${e.host}/rpc:${e.rpc.program}:${e.rpc.low}-${e.rpc.high}`;
  // Joined rather than concatenated: one flat string that every table keeps, not a tree of pieces
  // (some 200 bytes more per service).
  const where = e.family === 'unix' ? [e.path] : [e.host, e.port === 0 ? `0:${e.name}` : e.port];
  return [e.socketType, e.transport, e.family, ...where].join('/');
}

/**
 * Entries by key; a second entry for a key already taken is an error, the first one wins. So is
 * an rpc entry claiming a program version and netid that an earlier one claims: rpcbind holds
 * one address for each, whatever the listen address or version range.
 */
export function keyEntries(entries: ServiceEntry[]): { byKey: Map<string, ServiceEntry>; errors: ConfigError[] } {
  const byKey = new Map<string, ServiceEntry>();
  const errors: ConfigError[] = [];
  const rpcClaims = new Map<string, ServiceEntry>();
  for (const e of entries) {
    const key = serviceKey(e);
    const clash = e.rpc && !byKey.has(key) ? rpcClash(e, rpcClaims) : null;
    if (clash) {
      errors.push({ file: e.file, line: e.line, code: 'ERR_CONFIG_DUPLICATE', message: clash });
      continue;
    }
    const first = byKey.get(key);
    if (first) {
      errors.push({
        file: e.file,
        line: e.line,
        code: 'ERR_CONFIG_DUPLICATE',
        message: `duplicate service "${e.name}/${e.protocol}" (first defined at ${first.file}:${first.line})`,
      });
      continue;
    }
    byKey.set(key, e);
  }
  return { byKey, errors };
}

/** Why an rpc entry overlaps one already in `claims` (then nothing is claimed), or null after claiming its versions. */
function rpcClash(e: ServiceEntry, claims: Map<string, ServiceEntry>): string | null {
  const { program, low, high, netids } = e.rpc!;
  const mine: string[] = [];
  // Bounded: the parser allows at most 64 versions and two netids per entry.
  for (let v = low; v <= high; v += 1) {
    for (const netid of netids) {
      const first = claims.get(`${program}/${v}/${netid}`);
      if (first) {
        return `rpc program "${e.service}" version ${v} over ${netid} is already served (first defined at ${first.file}:${first.line})`;
      }
      mine.push(`${program}/${v}/${netid}`);
    }
  }
  for (const claim of mine) claims.set(claim, e);
  return null;
}

/** What a reload does to each service. */
export interface Changes {
  added: ServicePlan[];
  /** Same socket, other attributes: applied to the next dispatch. */
  changed: Array<{ key: string; from: ServicePlan; to: ServicePlan }>;
  unchanged: string[];
  removed: string[];
}

/** Same service apart from where it was written: the values, not their sources' line numbers. */
export function samePlan(a: ServicePlan, b: ServicePlan): boolean {
  const values = (p: ServicePlan): unknown => {
    const { file: _f, line: _l, ...entry } = p.entry;
    const limits = Object.fromEntries(Object.entries(p.limits).map(([k, v]) => [k, v.value]));
    return { entry, limits, process: p.process, access: p.access, proxy: p.proxy };
  };
  // Address patterns hold bigints, which JSON cannot write as they are.
  const json = (p: ServicePlan): string => JSON.stringify(values(p), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v));
  return json(a) === json(b);
}

/** The changes that take the running table (`old`) to the new plans. */
export function reconcile(old: ReadonlyMap<string, ServicePlan>, next: ReadonlyMap<string, ServicePlan>): Changes {
  const changes: Changes = { added: [], changed: [], unchanged: [], removed: [] };
  for (const [key, to] of next) {
    const from = old.get(key);
    if (!from) changes.added.push(to);
    else if (samePlan(from, to)) changes.unchanged.push(key);
    else changes.changed.push({ key, from, to });
  }
  for (const key of old.keys()) if (!next.has(key)) changes.removed.push(key);
  return changes;
}
