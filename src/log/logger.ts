// Creates the daemon's logger and shapes the per-connection record. It does not decide what is
// logged when; callers do. Keys are always the same (STYLE §8): service, proto, peer, pid, code,
// file, line, err, ms.
import pino, { type Logger, type Level } from 'pino';
import { createRequire } from 'node:module';
import { SyslogDestination, type SyslogFormat } from './syslog.js';

export type { Logger };

/** Log levels the command line accepts, least to most verbose. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where log records go. */
export const LOG_DESTINATIONS = ['file', 'stderr', 'syslog'] as const;
export type LogDestination = (typeof LOG_DESTINATIONS)[number];

/** Options for createLogger. */
export interface LoggerOptions {
  level: LogLevel;
  destination: LogDestination;
  /** Human-readable lines instead of JSON; only for stderr on a terminal. */
  pretty?: boolean;
  /** Path for the file destination. */
  file?: string;
  syslogSocket?: string;
  syslogFormat?: SyslogFormat;
  /** Also copy warnings and errors, as plain lines, to this sink until it is closed (detach). */
  report?: LineSink;
}

/** Something that takes whole lines of text. */
export interface LineSink {
  write(line: string): void;
}

/** A logger and the handle to reopen its file (after logrotate moved it). */
export interface LogHandle {
  logger: Logger;
  reopen(): void;
}

/** The `msg` of a JSON record, as the plain line a person reads on a terminal. */
function plainLine(json: string): string | null {
  try {
    const rec = JSON.parse(json) as { level?: number; msg?: string };
    return (rec.level ?? 0) >= 40 && rec.msg ? `ninetd: ${rec.msg}\n` : null;
  } catch {
    return null;
  }
}

/** Creates the root logger for the chosen destination, written synchronously. */
export function createLogger(opts: LoggerOptions): LogHandle {
  const base = { level: opts.level as Level, base: { pid: undefined, hostname: undefined }, name: 'ninetd' };
  let reopen = (): void => {};
  let main: pino.DestinationStream;
  if (opts.destination === 'file') {
    const dest = pino.destination({ dest: opts.file!, sync: true, append: true, mkdir: false });
    reopen = () => dest.reopen();
    main = dest;
  } else if (opts.destination === 'syslog') {
    main = new SyslogDestination(opts.syslogSocket ?? '/dev/log', opts.syslogFormat ?? 'rfc3164');
  } else if (opts.pretty) {
    // Loaded only for a terminal: a daemon never pays its memory.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    main = pretty({ destination: 2, sync: true, colorize: true, ignore: 'name' });
  } else {
    main = pino.destination({ dest: 2, sync: true });
  }
  const report = opts.report;
  if (!report) return { logger: pino(base, main), reopen };
  const copy = { write: (line: string) => void (plainLine(line) && report.write(plainLine(line)!)) };
  return { logger: pino(base, pino.multistream([{ stream: main, level: 'trace' }, { stream: copy, level: 'warn' }])), reopen };
}

/** Fields of one connection record, logged when a handler or builtin finishes. */
export interface ConnectionRecord {
  service: string;
  proto: string;
  peer: string;
  pid?: number;
  code?: number | null;
  signal?: string | null;
  ms: number;
}

/** Formats an address and port as a peer string: `1.2.3.4:5`, `[::1]:5`, or a unix path. */
export function peerString(addr: { family: string; address?: string; port?: number; path?: string } | null): string {
  if (!addr) return '';
  if (addr.family === 'unix') return addr.path || 'unix';
  if (addr.family === 'IPv6') return `[${addr.address}]:${addr.port}`;
  return `${addr.address}:${addr.port}`;
}
