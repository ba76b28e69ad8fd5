// The log file as a destination: opened without following a symlink at its path (a link planted
// where the log goes would make root append to its target), without waiting on a FIFO, and used
// only if it is a regular file; reopened the same way after logrotate moved it. Records are
// written synchronously, as every destination is.
import { closeSync, constants as C, fstatSync, openSync, writeSync } from 'node:fs';

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
    writeSync(this.fd, line);
    return true;
  }

  /** Opens the path again (after logrotate); on failure the old file is kept and the error thrown. */
  reopen(): void {
    const fd = openLogFile(this.path);
    closeSync(this.fd);
    this.fd = fd;
  }
}
