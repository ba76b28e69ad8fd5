// Compares two configurations service by service. Pure: entries in, a plan out. Applying the
// plan (binding, closing) is the daemon's job.
import type { ConfigError, ServiceEntry } from './types.js';

/** Identity of a service across reloads: what it listens on. Port 0 (ephemeral) adds the name. */
export function serviceKey(e: ServiceEntry): string {
  // tcpmux sub-services have no socket of their own: the multiplexer finds them by name.
  if (e.tcpmux) return `tcpmux/${e.tcpmux.name.toLowerCase()}`;
  const where = e.family === 'unix' ? e.path : `${e.host}/${e.port === 0 ? `0:${e.name}` : e.port}`;
  return `${e.socketType}/${e.transport}/${e.family}/${where}`;
}

/** Entries by key; a second entry for a key already taken is an error, the first one wins. */
export function keyEntries(entries: ServiceEntry[]): { byKey: Map<string, ServiceEntry>; errors: ConfigError[] } {
  const byKey = new Map<string, ServiceEntry>();
  const errors: ConfigError[] = [];
  for (const e of entries) {
    const key = serviceKey(e);
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

/** What a reload does to each service. */
export interface ReconcilePlan {
  added: ServiceEntry[];
  /** Same socket, other attributes: applied to the next dispatch. */
  changed: Array<{ key: string; from: ServiceEntry; to: ServiceEntry }>;
  unchanged: string[];
  removed: string[];
}

/** Same service apart from where it was written. */
function sameService(a: ServiceEntry, b: ServiceEntry): boolean {
  const strip = ({ file: _f, line: _l, ...rest }: ServiceEntry) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

/** Plans the move from the running table (`old`) to the new entries. */
export function reconcile(old: Map<string, ServiceEntry>, next: Map<string, ServiceEntry>): ReconcilePlan {
  const plan: ReconcilePlan = { added: [], changed: [], unchanged: [], removed: [] };
  for (const [key, to] of next) {
    const from = old.get(key);
    if (!from) plan.added.push(to);
    else if (sameService(from, to)) plan.unchanged.push(key);
    else plan.changed.push({ key, from, to });
  }
  for (const key of old.keys()) if (!next.has(key)) plan.removed.push(key);
  return plan;
}
