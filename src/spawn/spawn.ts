// Starts one handler with a socket on fds 0, 1 and 2 and reports its end exactly once. It does
// not decide whom to start or when; dispatch does.
import { spawn as spawnChild } from 'node:child_process';

/** What to start and with what. uid/gid -1 means "leave as the supervisor's". */
export interface SpawnRequest {
  file: string;
  argv: string[];
  fd: number;
  env: Record<string, string>;
  uid: number;
  gid: number;
}

/** How a handler ended: exit code, or signal name, or an error that kept it from running. */
export interface HandlerEnd {
  code: number | null;
  signal: string | null;
  err?: NodeJS.ErrnoException;
}

/** Error thrown when a handler cannot be started; `cause` is the OS error. */
export class SpawnError extends Error {
  readonly code = 'ERR_SPAWN';
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
  }
}

/**
 * Starts the handler; returns its pid, or throws SpawnError. `onEnd` is called once, whether the
 * child exits or fails after starting (libuv reports some failures as an 'error' event).
 */
export function spawnHandler(req: SpawnRequest, onEnd: (end: HandlerEnd) => void): number {
  const asRoot = process.getuid?.() === 0;
  let child;
  try {
    child = spawnChild(req.file, req.argv.slice(1), {
      argv0: req.argv[0] ?? req.file,
      stdio: [req.fd, req.fd, req.fd],
      env: req.env,
      cwd: '/',
      // A new session, as inetd gives its children (setsid); also keeps our signals to ourselves.
      detached: true,
      ...(asRoot && req.uid >= 0 ? { uid: req.uid } : {}),
      ...(asRoot && req.gid >= 0 ? { gid: req.gid } : {}),
    });
  } catch (err) {
    throw new SpawnError(`spawn ${req.file}: ${(err as Error).message}`, { cause: err });
  }
  let ended = false;
  const finish = (end: HandlerEnd): void => {
    if (ended) return;
    ended = true;
    onEnd(end);
  };
  child.once('error', (err: NodeJS.ErrnoException) => finish({ code: null, signal: null, err }));
  child.once('exit', (code, signal) => finish({ code, signal }));
  // The child must not keep the supervisor alive after stop(); inetd leaves children running.
  child.unref();
  if (child.pid === undefined) {
    // Failed before a pid existed; the 'error' event carries the reason.
    return -1;
  }
  return child.pid;
}
