// A pino destination that sends each record as a syslog datagram to a unix socket (/dev/log),
// in RFC 3164 or RFC 5424 format, facility daemon, ident "ninetd". It does not choose records.
import { hostname } from 'node:os';
import * as native from '../native/index.js';

/** Syslog message formats. */
export type SyslogFormat = 'rfc3164' | 'rfc5424';

/** The daemon facility (3), shifted as in the PRI field. */
const FACILITY_DAEMON = 3 << 3;

/** pino level → syslog severity. Sorted by level. */
const SEVERITY = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 } as const;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** PRI value for a pino level. */
export function syslogPri(level: number): number {
  const sev = SEVERITY[level as keyof typeof SEVERITY] ?? 6;
  return FACILITY_DAEMON | sev;
}

/** Formats one pino JSON record as a syslog message; the JSON itself is the message text. */
export function formatSyslog(line: string, format: SyslogFormat, pid: number, host = hostname()): string {
  let level = 30;
  let time = Date.now();
  try {
    const rec = JSON.parse(line) as { level?: number; time?: number };
    level = rec.level ?? level;
    time = rec.time ?? time;
  } catch {
    // not JSON: send as is
  }
  const pri = syslogPri(level);
  const text = line.trimEnd();
  const d = new Date(time);
  if (format === 'rfc5424') return `<${pri}>1 ${d.toISOString()} ${host} ninetd ${pid} - - ${text}`;
  // RFC 3164 timestamp: "Mmm dd hh:mm:ss" in local time, day space-padded. /dev/log readers
  // (journald, rsyslog) take the tag "ninetd[pid]:" as the program.
  const ts = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${d.toTimeString().slice(0, 8)}`;
  return `<${pri}>${ts} ninetd[${pid}]: ${text}`;
}

/** A pino destination writing to a syslog socket; undeliverable records are dropped. */
export class SyslogDestination {
  private fd = -1;

  constructor(
    private readonly socketPath: string,
    private readonly format: SyslogFormat,
  ) {}

  /** Called by pino with one serialized record. */
  write(line: string): void {
    try {
      if (this.fd < 0) this.fd = native.socket(native.constants.AF_UNIX, native.constants.SOCK_DGRAM);
      native.sendtoUnix(this.fd, Buffer.from(formatSyslog(line, this.format, process.pid)), this.socketPath);
    } catch {
      // No syslog daemon, or its queue is full: a log line must never stop the supervisor.
    }
  }
}
