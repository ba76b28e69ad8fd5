// The log file as a destination: opened without following a symlink at its path (a link planted
// where the log goes would make root append to its target), without waiting on a FIFO, and used
// only if it is a regular file; reopened the same way after logrotate moved it. Records are
// written synchronously, as every destination is. A service may have a file of its own too
// (xinetd's `log_type = FILE`), written besides the daemon's destination.
import { closeSync, constants as C, fstatSync, openSync, writeSync } from 'node:fs';
import pino, { type Level, type Logger } from 'pino';

/** open(2) flags of the log file: append, create, never through a symlink, never blocking. */
const FLAGS = C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NOFOLLOW | C.O_NONBLOCK;

/** Opens `path` for appending as the log file; throws (ELOOP for a symlink, EINVAL for anything but a regular file). */
function openLogFile(path: string): number {
  const fd = openSync(path, FLAGS, 0o640);
  if (fstatSync(fd).isFile()) return fd;
  closeSync(fd);
  throw Object.assign(new Error(`${path}: not a regular file`), { code: 'EINVAL', syscall: 'open', path });
}

/** A log file that pino writes to, and that reopen() opens anew. */
export class LogFile {
  private fd: number;

  /** Opens the file now; throws when it cannot be used. */
  constructor(readonly path: string) {
    this.fd = openLogFile(path);
  }

  /** Appends one record. */
  write(line: string): boolean {
    if (this.fd >= 0) writeSync(this.fd, line);
    return true;
  }

  /** Opens the path again (after logrotate); on failure the old file is kept and the error thrown. */
  reopen(): void {
    const fd = openLogFile(this.path);
    closeSync(this.fd);
    this.fd = fd;
  }

  /** Closes the file. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** A service's own logger: every record goes where the daemon's go and to the service's file too. */
export interface ServiceLog {
  readonly logger: Logger;
  /** Opens the file again (SIGUSR1, after logrotate). */
  reopen(): void;
  /** Closes the file; the logger must not be used afterwards. */
  close(): void;
}

/**
 * A logger writing to `root`'s destination and to the log file `path` (xinetd's `log_type =
 * FILE`), with `bindings` on every record; throws when the file cannot be used.
 */
export function serviceLog(root: Logger, path: string, bindings: Record<string, unknown>): ServiceLog {
  const file = new LogFile(path);
  const main = (root as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym]!;
  const level = root.level as Level;
  const logger = pino({ level, base: { pid: undefined, hostname: undefined }, name: 'ninetd' }, pino.multistream([{ stream: main, level: 'trace' }, { stream: file, level: 'trace' }])).child(bindings);
  return { logger, reopen: () => file.reopen(), close: () => file.close() };
}
