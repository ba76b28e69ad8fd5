// The fallback spawn through node:child_process, for kernels without pidfds (before Linux 5.3),
// where a natively forked child could not be watched from the event loop. It gives handlers the
// same fds, signals, ids, cwd and environment, but less: libuv drops every supplementary group
// (setgroups(0)), `groups`, `umask`, `nice` and `rlimits` are not applied (the child keeps the
// supervisor's umask, nice value and limits), and every child leads a new session (libuv can
// give it a process group of its own only with one).
import { spawn as spawnChild } from 'node:child_process';
import { SPAWN_DEFAULTS, SpawnError, type HandlerEnd, type SpawnRequest } from './request.js';

/**
 * Starts the handler with child_process.spawn; returns its pid (-1 when libuv reports the failure
 * as an 'error' event instead of throwing), or throws SpawnError. `onEnd` is called once.
 */
export function spawnWithChildProcess(req: SpawnRequest, onEnd: (end: HandlerEnd) => void, asRoot: boolean): number {
  let child;
  try {
    child = spawnChild(req.file, req.argv.slice(1), {
      argv0: req.argv[0] ?? req.file,
      stdio: [req.fd, req.fd, req.fd],
      env: req.env,
      cwd: req.cwd ?? SPAWN_DEFAULTS.cwd,
      // A new session (setsid): no terminal of ours, and our signals kept to ourselves.
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
  return child.pid ?? -1;
}
