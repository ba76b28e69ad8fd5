// Starts one handler with a socket on fds 0, 1 and 2 and reports its end exactly once. It does
// not decide whom to start or when; dispatch does.
//
// The native spawn (clone + execve, see native/spawn.c) costs the event loop a fraction of what
// child_process.spawn does (no fork of the whole supervisor, no ChildProcess object) and sets
// supplementary groups as initgroups would. It needs pidfds to learn of exits; on kernels without
// them (before 5.3) child-process.ts is used instead.
import { closeSync, constants, openSync } from 'node:fs';
import * as native from '../native/index.js';
import { spawnWithChildProcess } from './child-process.js';
import { watchExit } from './exit.js';
import { childSetup, SpawnError, type HandlerEnd, type SpawnRequest } from './request.js';

export { SpawnError, type HandlerEnd, type SpawnRequest } from './request.js';

/** `ask`, called on the first call only; its answer is kept for every later one. */
function askedOnce(ask: () => boolean): () => boolean {
  let known: boolean | undefined;
  return () => (known ??= ask());
}

/**
 * Whether this kernel has pidfds: pidfd_open of our own pid, asked on the first call and
 * remembered (not when this module loads: importing must not need the addon, for --help).
 */
export const nativeSpawn = askedOnce(() => {
  try {
    native.close(native.pidfdOpen(process.pid));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_NATIVE_MISSING') throw err;
    return (err as NodeJS.ErrnoException).code !== 'ENOSYS';
  }
});

/**
 * Whether we have a controlling terminal: /dev/tty opens (ENXIO when there is none). Any other
 * failure counts as having one, the case that gives handlers a session of their own. Asked on
 * the first call and remembered: a daemon has detached before it serves and takes no terminal
 * later (what it opens read-write or to read while serving, it opens with O_NOCTTY; a write-only
 * open never makes a terminal the opener's).
 */
export const controllingTerminal = askedOnce(() => {
  try {
    closeSync(openSync('/dev/tty', constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK));
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENXIO';
  }
});

/**
 * Starts the handler; returns its pid, or throws SpawnError (whose `cause` keeps the OS error's
 * `code`, e.g. EMFILE or EAGAIN, and `syscall`, e.g. 'execve' or 'setgid'). `onEnd` is called
 * once, when the child has ended.
 */
export function spawnHandler(req: SpawnRequest, onEnd: (end: HandlerEnd) => void): number {
  const asRoot = process.getuid?.() === 0;
  if (!nativeSpawn()) return spawnWithChildProcess(req, onEnd, asRoot);
  const { file, argv, env, opts } = childSetup(req, asRoot, controllingTerminal());
  let child;
  try {
    child = native.spawnHandler(file, argv, env, opts);
  } catch (err) {
    throw new SpawnError(`spawn ${req.file}: ${(err as Error).message}`, { cause: err });
  }
  watchExit(child.pidfd, onEnd);
  return child.pid;
}
