// A pino destination that sends each record as a syslog datagram to a unix socket (/dev/log),
// in RFC 3164 or RFC 5424 format, facility daemon, ident "ninetd". The message is the record's
// readable line (text.ts); RFC 5424 also carries every field as structured data. While the
// socket cannot be written, records go to a fallback sink or are counted as dropped, and once
// it can be written again a record says how many. It does not choose records or destinations.
import { hostname } from 'node:os';
import * as native from '../native/index.js';
import { recordFields, recordText, type LogRecord } from './text.js';

/** Syslog message formats. */
export type SyslogFormat = 'rfc3164' | 'rfc5424';

/** The daemon facility (3), shifted as in the PRI field. */
const FACILITY_DAEMON = 3 << 3;

/** pino level → syslog severity. Sorted by level. */
const SEVERITY = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 } as const;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** SD-ID of ninetd's structured data: a name at the documentation enterprise number (RFC 5612). */
export const SD_ID = 'ninetd@32473';

/** PRI value for a pino level. */
export function syslogPri(level: number): number {
  const sev = SEVERITY[level as keyof typeof SEVERITY] ?? 6;
  return FACILITY_DAEMON | sev;
}

/** RFC 5424 §6.3.3: `"`, `\` and `]` are escaped in a PARAM-VALUE. */
function sdValue(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** RFC 5424 §6.3.3: a PARAM-NAME is 1 to 32 printable characters other than `=`, space, `]` and `"`. */
function sdName(k: string): string {
  return k.replace(/[^!-~]|[="\]]/g, '_').slice(0, 32) || '_';
}

/** `[ninetd@32473 key="value" …]`, or `-` for a record without fields. */
export function structuredData(rec: LogRecord): string {
  const fields = recordFields(rec);
  if (fields.length === 0) return '-';
  return `[${SD_ID}${fields.map(([k, v]) => ` ${sdName(k)}="${sdValue(v)}"`).join('')}]`;
}

/** Formats one pino JSON record as a syslog message whose text is the record's readable line. */
export function formatSyslog(line: string, format: SyslogFormat, pid: number, host = hostname()): string {
  let rec: LogRecord;
  try {
    rec = JSON.parse(line) as LogRecord;
  } catch {
    rec = { msg: line.trimEnd() }; // not JSON: send as is
  }
  const pri = syslogPri(rec.level ?? 30);
  const text = recordText(rec).replace(/\n/g, ' ');
  const d = new Date(rec.time ?? Date.now());
  if (format === 'rfc5424') return `<${pri}>1 ${d.toISOString()} ${host} ninetd ${pid} - ${structuredData(rec)} ${text}`;
  // RFC 3164 timestamp: "Mmm dd hh:mm:ss" in local time, day space-padded. /dev/log readers
  // (journald, rsyslog) take the tag "ninetd[pid]:" as the program.
  const ts = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${d.toTimeString().slice(0, 8)}`;
  return `<${pri}>${ts} ninetd[${pid}]: ${text}`;
}

/** Where records go while the syslog socket cannot be written (stderr in the foreground). */
export interface FallbackSink {
  /** Name for messages: `stderr`. */
  name: string;
  write(line: string): void;
}

/**
 * Tries to reach a syslog socket without sending anything: null when a receiver is bound there,
 * else the error (ENOENT: no such socket, ECONNREFUSED: nobody reads it, EACCES).
 */
export function probeSyslog(socketPath: string): NodeJS.ErrnoException | null {
  const fd = native.socket(native.constants.AF_UNIX, native.constants.SOCK_DGRAM);
  try {
    native.connect(fd, socketPath);
    return null;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  } finally {
    native.close(fd);
  }
}

/** A pino destination writing to a syslog socket; never blocks and never throws. */
export class SyslogDestination {
  private fd = -1;
  /** Records not delivered since the socket last took one (sent to the fallback, or dropped). */
  private missed = 0;

  constructor(
    private readonly socketPath: string,
    private readonly format: SyslogFormat,
    /** Where records go while the socket cannot be written; null to drop (and count) them. */
    private readonly fallback: FallbackSink | null = null,
  ) {}

  /** Records not delivered since the socket last took one. */
  get undelivered(): number {
    return this.missed;
  }

  private send(message: string): boolean {
    try {
      if (this.fd < 0) {
        this.fd = native.socket(native.constants.AF_UNIX, native.constants.SOCK_DGRAM);
        // A syslog daemon that stops reading must not stop the supervisor: EAGAIN, not a wait.
        native.setNonBlocking(this.fd, true);
      }
      native.sendtoUnix(this.fd, Buffer.from(message), this.socketPath);
      return true;
    } catch {
      return false;
    }
  }

  /** Called by pino with one serialized record. */
  write(line: string): void {
    if (this.missed > 0) {
      // Probe with the record the count is about, so a socket that is back hears it first.
      const rec = { level: 40, time: Date.now(), name: 'ninetd', missed: this.missed, socket: this.socketPath, to: this.fallback?.name ?? null, msg: 'syslog restored' };
      if (!this.send(formatSyslog(JSON.stringify(rec), this.format, process.pid))) return this.miss(line);
      this.missed = 0;
    }
    if (!this.send(formatSyslog(line, this.format, process.pid))) this.miss(line);
  }

  private miss(line: string): void {
    this.missed += 1;
    this.fallback?.write(line);
  }
}
