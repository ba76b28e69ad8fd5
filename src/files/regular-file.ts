// Reads a file that someone else may have replaced with something hostile: a FIFO, a device, a
// directory or a file too large to hold. It opens without blocking, checks with fstat that what
// it opened is a regular file, and reads at most a fixed cap; anything else is a FileProblem
// naming the path, never an exception and never a wait. It does not follow or refuse symlinks
// (the files it reads live in /etc, where links are ordinary) and does not judge who may write
// the file (strict-modes.ts does).
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

/**
 * The most ninetd reads of each kind of file, in bytes. A cap stops a huge or endless file from
 * taking the supervisor's memory or time; each is far above anything a real file holds.
 * Sorted.
 */
export const FILE_CAPS = {
  // Sent on a fresh connection without waiting: more than a socket buffer is never sent anyway.
  banner: 64 * 1024,
  // A config of thousands of entries is a few hundred KiB.
  config: 4 * 1024 * 1024,
  // Generated block lists (denyhosts, fail2ban) reach a few MiB; re-read on change, synchronously.
  hosts: 8 * 1024 * 1024,
  // /etc/rpc is ~1 KiB; even a site's full list of programs is far below this.
  rpc: 1024 * 1024,
  // /etc/services is ~13 KiB; the full IANA registry as services(5) is under 2 MiB.
  services: 8 * 1024 * 1024,
  // A settings file with a section for each of thousands of services is well under this.
  settings: 1024 * 1024,
} as const;

/** A kind of file ninetd reads, which sets its cap. */
export type FileKind = keyof typeof FILE_CAPS;

/** Why a file could not be read; `missing` is apart because several callers treat it as empty. */
export type FileProblem =
  | { readonly kind: 'missing' }
  | { readonly kind: 'unreadable'; readonly errno: string; readonly reason: string }
  | { readonly kind: 'not-regular'; readonly type: string; readonly reason: string }
  | { readonly kind: 'too-large'; readonly cap: number; readonly reason: string };

/** A file's contents and the fstat of the descriptor they were read from. */
export interface FileContents {
  readonly data: Buffer;
  readonly stat: Stats;
}

/**
 * O_NONBLOCK: opening a FIFO without a writer would wait for one for ever (and a blocked open
 * is an uninterruptible libuv call on the event loop). O_NOCTTY: a terminal never becomes ours.
 * Regular files ignore both. Close-on-exec needs no flag: libuv adds O_CLOEXEC to every open
 * (Node does not even export the constant).
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** What fstat says a non-regular file is, for messages. */
function fileType(st: Stats): string {
  if (st.isFIFO()) return 'a fifo';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** `no such file or directory (ENOENT)` from a Node fs error. */
function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = /^[A-Z]+: ([^,]+)/.exec(e.message ?? '')?.[1] ?? String(e.message ?? err);
  return e.code ? `${text} (${e.code})` : text;
}

/** Reads `file` whole if it is a regular file of at most the cap for `kind`; never blocks. */
export function readRegularFile(file: string, kind: FileKind): FileContents | FileProblem {
  const cap = FILE_CAPS[kind];
  let fd: number;
  try {
    // Opening a device can act (a tape rewinds, a watchdog arms): do not even try when the path
    // names one now. The fstat below, on what was opened, is the check that counts.
    const before = statSync(file);
    if (!before.isFile()) return { kind: 'not-regular', type: fileType(before), reason: `not a regular file (${fileType(before)})` };
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (errno === 'ENOENT') return { kind: 'missing' };
    // A unix socket at the path refuses open with ENXIO: say what it is.
    const reason = errno === 'ENXIO' ? 'not a regular file (a socket or a device with no driver)' : describeFsError(err);
    return { kind: 'unreadable', errno, reason };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { kind: 'not-regular', type: fileType(stat), reason: `not a regular file (${fileType(stat)})` };
    if (stat.size > cap) return { kind: 'too-large', cap, reason: `larger than ${cap} bytes (${stat.size})` };
    // Read to the cap plus one byte rather than to st_size: the file may grow while we read.
    let data = Buffer.allocUnsafe(Math.min(cap + 1, stat.size + 1));
    let got = 0;
    // Bounded: each turn reads at least one byte or ends, and got never passes cap+1.
    while (got <= cap) {
      if (got === data.length) {
        const bigger = Buffer.allocUnsafe(Math.min(cap + 1, data.length * 2));
        data.copy(bigger, 0, 0, got);
        data = bigger;
      }
      const n = readSync(fd, data, got, data.length - got, null);
      if (n === 0) break;
      got += n;
    }
    if (got > cap) return { kind: 'too-large', cap, reason: `larger than ${cap} bytes` };
    return { data: data.subarray(0, got), stat };
  } catch (err) {
    return { kind: 'unreadable', errno: (err as NodeJS.ErrnoException).code ?? 'EIO', reason: describeFsError(err) };
  } finally {
    closeSync(fd);
  }
}

/** True when `r` is a problem rather than contents. */
export function isFileProblem(r: FileContents | FileProblem): r is FileProblem {
  return 'kind' in r;
}

/** The message for a problem, `missing` included: `not a regular file (a fifo)`. */
export function fileProblemReason(p: FileProblem): string {
  return p.kind === 'missing' ? 'no such file or directory (ENOENT)' : p.reason;
}
