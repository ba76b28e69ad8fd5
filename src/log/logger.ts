// Creates the daemon's logger, with a fallback when the chosen destination cannot be written at
// start, and shapes the per-connection record. It does not decide what is
// logged when; callers do. Keys are always the same (STYLE §8): service, proto, peer, pid, code,
// file, line, err, ms.
import { LogFile } from './file.js';
import pino, { type Logger, type Level } from 'pino';
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { probeSyslog, SyslogDestination, type FallbackSink, type SyslogFormat } from './syslog.js';
import type { LogLevel } from './levels.js';
import { recordText, type LogRecord } from './text.js';

export type { Logger };

export { LOG_LEVELS, type LogLevel } from './levels.js';

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
  /** Detached: standard error is /dev/null, so it is no fallback for a destination that fails. */
  detached?: boolean;
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

/** A warning or error record as the plain line a person reads on a terminal. */
function plainLine(json: string): string | null {
  try {
    const rec = JSON.parse(json) as LogRecord;
    return (rec.level ?? 0) >= 40 && rec.msg ? `ninetd: ${recordText(rec, { fields: false })}\n` : null;
  } catch {
    return null;
  }
}

/** `no such file or directory (ENOENT)` from an OS error. */
function why(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = (e.message ?? String(err)).replace(/^\w+: /, '').replace(/, \w+ '.*'$/, '');
  return e.code && !text.includes(e.code) ? `${text} (${e.code})` : text;
}

/** A destination that failed at start, and what was used instead: logged once the logger exists. */
interface Fallback {
  fields: Record<string, unknown>;
  message: string;
}

/**
 * The destination records go to, falling back when the chosen one cannot be written at start:
 * a log file that cannot be opened → stderr in the foreground, syslog when detached; a syslog
 * socket that cannot be reached → stderr in the foreground until it can, and when detached
 * records are counted as dropped until it can (SyslogDestination reports the count).
 */
function destination(opts: LoggerOptions): { main: pino.DestinationStream; reopen: () => void; fallback: Fallback | null } {
  const stderr: FallbackSink = { name: 'stderr', write: (line) => void writeSync(2, line) };
  const socket = opts.syslogSocket ?? '/dev/log';
  const syslog = (): { main: pino.DestinationStream; down: NodeJS.ErrnoException | null } => {
    const down = probeSyslog(socket);
    return { main: new SyslogDestination(socket, opts.syslogFormat ?? 'rfc3164', opts.detached ? null : stderr), down };
  };
  const meanwhile = opts.detached ? 'records are dropped, and counted, until it can' : 'records go to stderr until it can';
  if (opts.destination === 'file') {
    try {
      const dest = new LogFile(opts.file!);
      return {
        main: dest,
        reopen: () => {
          try {
            dest.reopen();
          } catch (err) {
            dest.write(`${JSON.stringify({ level: 50, time: Date.now(), name: 'ninetd', code: 'ERR_LOG_DESTINATION', file: dest.path, msg: `cannot reopen log file: ${why(err)}; writing to the old one` })}\n`);
          }
        },
        fallback: null,
      };
    } catch (err) {
      const fields = { code: 'ERR_LOG_DESTINATION', file: opts.file, err: { code: (err as NodeJS.ErrnoException).code } };
      if (!opts.detached) return { main: pino.destination({ dest: 2, sync: true }), reopen: () => {}, fallback: { fields, message: `cannot write log file ${opts.file}: ${why(err)}; logging to stderr instead` } };
      const s = syslog();
      const then = s.down ? `; syslog socket ${socket} cannot be written either (${why(s.down)}): ${meanwhile}` : '';
      return { main: s.main, reopen: () => {}, fallback: { fields, message: `cannot write log file ${opts.file}: ${why(err)}; logging to syslog (${socket}) instead${then}` } };
    }
  }
  if (opts.destination === 'syslog') {
    const s = syslog();
    const fallback = s.down
      ? { fields: { code: 'ERR_LOG_DESTINATION', socket, err: { code: s.down.code } }, message: `cannot write to syslog socket ${socket}: ${why(s.down)}; ${meanwhile}` }
      : null;
    return { main: s.main, reopen: () => {}, fallback };
  }
  if (opts.pretty) {
    // Loaded only for a terminal: a daemon never pays its memory.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return { main: pretty({ destination: 2, sync: true, colorize: true, ignore: 'name' }), reopen: () => {}, fallback: null };
  }
  return { main: pino.destination({ dest: 2, sync: true }), reopen: () => {}, fallback: null };
}

/**
 * Creates the root logger for the chosen destination, written synchronously. When that
 * destination cannot be written, the logger says so in its first record (a warning, which
 * `report` copies to the terminal of a detaching ninetd) and uses the fallback.
 */
export function createLogger(opts: LoggerOptions): LogHandle {
  const base = { level: opts.level as Level, base: { pid: undefined, hostname: undefined }, name: 'ninetd' };
  const { main, reopen, fallback } = destination(opts);
  const report = opts.report;
  const copy = { write: (line: string) => void (plainLine(line) && report!.write(plainLine(line)!)) };
  const logger = report ? pino(base, pino.multistream([{ stream: main, level: 'trace' }, { stream: copy, level: 'warn' }])) : pino(base, main);
  if (fallback) logger.warn(fallback.fields, fallback.message);
  return { logger, reopen };
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
