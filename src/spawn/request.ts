// What a handler is started with, how its end is reported, and the error when it cannot start;
// plus the pure step from a request to the exact child set-up (ids, groups, environment lines).
// It starts nothing; spawn.ts and child-process.ts do.
import type { Rlimit, SpawnOptions } from '../native/index.js';

/** What to start and with what. uid/gid -1 means "leave as the supervisor's". */
export interface SpawnRequest {
  file: string;
  argv: string[];
  fd: number;
  /** The handler's whole environment: nothing else is passed on. */
  env: Record<string, string>;
  uid: number;
  gid: number;
  /** Supplementary groups (as initgroups would set them), applied with a uid or gid change; default none. */
  groups?: number[];
  /** Default 0o022. */
  umask?: number;
  /** Absolute nice value; default 0, which leaves the supervisor's. */
  nice?: number;
  /** [RLIMIT_*, soft, hard]; -1 or Infinity is unlimited. */
  rlimits?: Rlimit[];
  /** Default '/'. */
  cwd?: string;
}

/** How a handler ended: exit code, or signal name, or an error that kept it from running. */
export interface HandlerEnd {
  code: number | null;
  signal: string | null;
  err?: NodeJS.ErrnoException;
  /** What it cost, when known (the native spawn reports it; the child_process fallback does not). */
  usage?: HandlerUsage;
}

/** A handler's CPU times (microseconds) and peak resident set size (KiB), from waitid's rusage. */
export interface HandlerUsage {
  utimeUs: number;
  stimeUs: number;
  maxRssKb: number;
}

/** Error thrown when a handler cannot be started; `cause` is the OS error (its `code`, e.g. EMFILE, and `syscall`). */
export class SpawnError extends Error {
  readonly code = 'ERR_SPAWN';
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
  }
}

/** Defaults of the optional request fields. */
export const SPAWN_DEFAULTS = { umask: 0o022, nice: 0, cwd: '/' } as const;

/** The arguments of the native spawn for `req`. */
export interface ChildSetup {
  file: string;
  argv: string[];
  env: string[];
  opts: SpawnOptions;
}

/**
 * Only root switches ids; anyone else runs handlers as itself, whatever the request says. A
 * handler whose ids change gets exactly the requested supplementary groups (none when the
 * request names none), so root's own groups never reach it; otherwise groups stay as they are.
 * A handler gets a session of its own only when we have a controlling terminal (`terminal`),
 * which it must not share; otherwise a process group of its own in our session, which has no
 * terminal to give it (docs/handlers.md, Session).
 */
export function childSetup(req: SpawnRequest, asRoot: boolean, terminal: boolean): ChildSetup {
  const uid = asRoot ? req.uid : -1;
  const gid = asRoot ? req.gid : -1;
  const groups = uid >= 0 || gid >= 0 ? (req.groups ?? []) : null;
  return {
    file: req.file,
    argv: req.argv.length > 0 ? req.argv : [req.file],
    env: Object.entries(req.env).map(([k, v]) => `${k}=${v}`),
    opts: {
      fd: req.fd,
      uid,
      gid,
      groups,
      umask: req.umask ?? SPAWN_DEFAULTS.umask,
      nice: req.nice ?? SPAWN_DEFAULTS.nice,
      rlimits: req.rlimits ?? [],
      cwd: req.cwd ?? SPAWN_DEFAULTS.cwd,
      session: terminal,
    },
  };
}
