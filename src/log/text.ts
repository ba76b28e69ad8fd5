// One log record (pino's JSON object) as the line a person reads in syslog or on the terminal a
// detaching ninetd reports to: `connection from 192.0.2.1:51324 to finger/tcp, pid 812, exit
// 0, 4 ms`. One table from message to text; a record the table does not know still gets a
// readable line from its message and fields. Pure. It does not choose where lines go.

/** A log record as pino serialises it. */
export type LogRecord = Record<string, unknown> & { msg?: string; level?: number; time?: number };

/** Keys every record has, or that the line says in its own way: never repeated as `key=value`. */
const PLUMBING = new Set(['level', 'time', 'name', 'msg', 'hostname', 'service', 'proto']);

/** `finger/tcp`, or '' when the record is not about a service. */
function svc(r: LogRecord): string {
  return r.service === undefined ? '' : `${String(r.service)}/${String(r.proto ?? '')}`;
}

/** A field value in a line: objects by their code or message, the rest as text. */
function value(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  const o = v as { code?: unknown; message?: unknown };
  if (typeof o.message === 'string') return o.code ? `${o.message} (${String(o.code)})` : o.message;
  if (o.code !== undefined) return String(o.code);
  return JSON.stringify(v);
}

/** How a handler ended: `exit 0`, `killed by SIGSEGV`. */
function ending(r: LogRecord): string {
  if (r.signal) return `killed by ${String(r.signal)}`;
  if (r.code !== undefined && r.code !== null) return `exit ${String(r.code)}`;
  return '';
}

function connection(r: LogRecord): string {
  const who = r.peer ? `connection from ${String(r.peer)} to ${svc(r)}` : `connection to ${svc(r)}`;
  const parts = [who];
  if (r.pid !== undefined) parts.push(`pid ${String(r.pid)}`);
  const end = ending(r);
  if (end) parts.push(end);
  if (r.ms !== undefined) parts.push(`${String(r.ms)} ms`);
  if (r.cpuUserMs !== undefined) parts.push(`cpu ${String(r.cpuUserMs)} ms user, ${String(r.cpuSystemMs)} ms system`);
  if (r.maxRssKb !== undefined) parts.push(`peak rss ${String(r.maxRssKb)} KiB`);
  return parts.join(', ');
}

function handlersLeft(r: LogRecord): string {
  const list = Array.isArray(r.handlers) ? (r.handlers as LogRecord[]) : [];
  const each = list.map((h) => `${svc(h)} pid ${String(h.pid)}${h.peer ? ` for ${String(h.peer)}` : ''} (${String(h.ms)} ms)`);
  return `handlers still running: ${list.length}${each.length ? `: ${each.join('; ')}` : ''}`;
}

function where(r: LogRecord): string {
  if (r.path !== undefined) return String(r.path);
  const addr = String(r.addr ?? '*');
  return `${addr.includes(':') ? `[${addr}]` : addr}:${String(r.port)}`;
}

function stateLine(r: LogRecord): string {
  const services = Array.isArray(r.services) ? (r.services as LogRecord[]) : [];
  const each = services.map((s) => `${svc(s)} ${String(s.state)}${s.children ? ` (${String(s.children)} running)` : ''}`);
  return `state: ${services.length} services${each.length ? `: ${each.join('; ')}` : ''}`;
}

/** Message → line, for the records whose fields a sentence says better than `key=value`. Sorted. */
const TEXT = {
  closed: (r: LogRecord) => `${svc(r)}: closed`,
  connection,
  'handler started': (r: LogRecord) => `${svc(r)}: handler pid ${String(r.pid)} started${r.peer ? ` for ${String(r.peer)}` : ''} as ${String(r.user)}`,
  'handlers still running': handlersLeft,
  listening: (r: LogRecord) => `${svc(r)}: listening on ${where(r)} (${String(r.type)}, ${r.wait ? 'wait' : 'nowait'})${r.inherited ? ', socket passed by the service manager' : ''}`,
  refused: (r: LogRecord) => `refused ${r.peer ? String(r.peer) : 'a client'} for ${svc(r)} by ${String(r.rule)}`,
  reloaded: (r: LogRecord) => `reloaded: ${String(r.added)} added, ${String(r.changed)} changed, ${String(r.removed)} removed, ${String(r.unchanged)} unchanged`,
  started: (r: LogRecord) => `started: ${String(r.services)} services, ${String(r.unbound)} unbound`,
  state: stateLine,
  'syslog restored': (r: LogRecord) =>
    `syslog restored: ${String(r.missed)} records ${r.to ? `went to ${String(r.to)}` : 'were dropped'} while ${String(r.socket)} could not be written`,
  'tcpmux service': (r: LogRecord) => `${svc(r)}: reached through tcpmux${r.plus ? ' (+: answered by ninetd)' : ''}`,
} as const;

/** Any other record: `service/proto: message (key=value, …)`, without what the message already says. */
function generic(r: LogRecord, fields: boolean): string {
  const msg = String(r.msg ?? '');
  const s = svc(r);
  const head = s && !msg.includes(s) ? `${s}: ${msg}` : msg;
  // A configuration error's message already starts with file:line.
  const said = r.file !== undefined && msg.startsWith(`${String(r.file)}:`) ? new Set(['file', 'line']) : new Set<string>();
  const extra = Object.entries(r)
    .filter(([k, v]) => !PLUMBING.has(k) && !said.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${value(v)}`);
  return fields && extra.length > 0 ? `${head} (${extra.join(', ')})` : head;
}

/** The readable line of a record; `fields: false` leaves out the `(key=value, …)` a record the table does not know gets. */
export function recordText(r: LogRecord, opts: { fields?: boolean } = {}): string {
  const msg = r.msg ?? '';
  return Object.hasOwn(TEXT, msg) ? TEXT[msg as keyof typeof TEXT](r) : generic(r, opts.fields ?? true);
}

/** The fields of a record, flattened one level (`err.code`), without pino's own keys: for RFC 5424 structured data. */
export function recordFields(r: LogRecord): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(r)) {
    if (k === 'level' || k === 'time' || k === 'name' || k === 'msg' || v === undefined) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as object)) if (v2 !== undefined) out.push([`${k}.${k2}`, typeof v2 === 'object' && v2 !== null ? JSON.stringify(v2) : String(v2)]);
    } else out.push([k, Array.isArray(v) ? JSON.stringify(v) : String(v)]);
  }
  return out;
}
