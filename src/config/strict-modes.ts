// Strict modes, after sshd's StrictModes: when ninetd runs as root, a file it trusts (the config,
// the settings file, hosts.allow/hosts.deny, a banner, a handler program) must not be writable by
// anyone but root, neither the file itself nor any directory above it, since whoever can change
// it can make root run or send what they like. A finding is a warning, or with `strict_modes =
// yes` an error. The decision is pure (unsafeElement, given stat results); checkFile is the thin
// shell that stats the path. It does not read the files, and decides nothing when not root.
//
// The rules, for each element from the file up to `/`:
// * its owner must be root (or, for a handler program, the user it runs as: that user can only
//   attack itself);
// * it must not be writable by others (mode o+w), nor by its group unless that group is root's
//   (gid 0): a group writable by a non-root group has, or may gain, non-root members, and
//   /etc/group is not consulted so that the answer does not depend on NSS;
// * except that a directory with the sticky bit (like /tmp) may be writable by others when the
//   element below it is owned by a trusted user: then nobody else can rename or remove it.
// Symlinks: the path is checked as written (each directory above it) and as resolved
// (realpath), so neither the link's directory nor the target's can be writable by another user.
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ConfigError, Origin } from './types.js';

/** What strict modes need of one path element: its name and the fields of its stat. */
export interface PathStat {
  readonly path: string;
  readonly uid: number;
  readonly gid: number;
  /** st_mode, file type bits included. */
  readonly mode: number;
}

/** Why an element lets a user other than root change what it leads to. Sorted. */
const REASONS = {
  group: 'writable by its group',
  other: 'writable by every user',
  owner: 'owned by a user other than root',
} as const;

/** The element of a path that makes it unsafe, and why. */
export interface UnsafeElement extends PathStat {
  readonly why: keyof typeof REASONS;
}

/** st_mode bits read here. */
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_ISVTX = 0o1000;
const S_IWGRP = 0o020;
const S_IWOTH = 0o002;

/**
 * The first element of `chain` (the file, then each directory above it up to `/`) that a user
 * outside `trusted` could write, or null when the path is safe. Pure.
 */
export function unsafeElement(chain: readonly PathStat[], trusted: ReadonlySet<number>): UnsafeElement | null {
  for (const [i, st] of chain.entries()) {
    if (!trusted.has(st.uid)) return { ...st, why: 'owner' };
    // A sticky directory protects entries owned by a trusted user from everyone else.
    const below = i > 0 ? chain[i - 1]! : null;
    const sticky = (st.mode & S_IFMT) === S_IFDIR && (st.mode & S_ISVTX) !== 0 && below !== null && trusted.has(below.uid);
    if (sticky) continue;
    if (st.mode & S_IWOTH) return { ...st, why: 'other' };
    if (st.mode & S_IWGRP && st.gid !== 0) return { ...st, why: 'group' };
  }
  return null;
}

/** How a finding reads: `/tmp/x is writable by every user (owner 0, group 0, mode 0777)`. */
export function describeUnsafe(e: UnsafeElement): string {
  const mode = (e.mode & 0o7777).toString(8).padStart(4, '0');
  return `${e.path} is ${REASONS[e.why]} (owner ${e.uid}, group ${e.gid}, mode ${mode})`;
}

/** Only root is trusted: the owner every file root reads must have. */
export const ROOT_ONLY: ReadonlySet<number> = new Set([0]);

/** How strict modes apply to this run. */
export interface StrictModes {
  /** `strict_modes = yes`: findings are errors, not warnings. */
  readonly strict: boolean;
  /** The effective uid ninetd runs as; nothing is checked unless it is 0. */
  readonly euid: number;
}

/** Strict modes as the settings give them, for this process. */
export function strictModesFor(strict: boolean | undefined, euid: number = process.geteuid?.() ?? -1): StrictModes {
  return { strict: strict ?? false, euid };
}

/** Stats a path, following symlinks; injected by tests. */
export type StatPath = (p: string) => PathStat;

/** statSync as a StatPath. */
const statPath: StatPath = (p) => {
  const st = statSync(p);
  return { path: p, uid: st.uid, gid: st.gid, mode: st.mode };
};

/** `p` and each directory above it, up to `/`. */
function withParents(p: string): string[] {
  const out = [p];
  // Bounded: dirname shortens the path until it reaches `/`.
  for (let d = path.dirname(p); out.at(-1) !== d; d = path.dirname(d)) out.push(d);
  return out;
}

/**
 * The element of `file` (as written and as resolved) a user outside `trusted` could write, or
 * null when it is safe or does not exist (whoever reads it reports that).
 */
export function unsafePath(file: string, trusted: ReadonlySet<number>, stat: StatPath = statPath): UnsafeElement | null {
  const written = path.resolve(file);
  let real: string;
  try {
    real = realpathSync(written);
  } catch {
    return null;
  }
  try {
    const resolvedChain = withParents(real).map(stat);
    const found = unsafeElement(resolvedChain, trusted);
    if (found || real === written) return found;
    // The link's own directories: whoever can write one of them can point the link elsewhere.
    return unsafeElement([resolvedChain[0]!, ...withParents(path.dirname(written)).map(stat)], trusted);
  } catch {
    // Changed under us between realpath and stat: the reader will find out what is there.
    return null;
  }
}

/** A strict-modes finding as a config problem; `error` says whether it stops the thing it is about. */
export interface StrictFinding {
  readonly error: boolean;
  readonly problem: ConfigError;
}

/**
 * Checks `file` for strict modes and reports it at `origin` (the file itself on line 0, or the
 * line that names it): `what` says what the file is, e.g. `config file`, `handler`. Null when
 * not root or safe.
 */
export function checkFile(
  file: string,
  what: string,
  origin: Origin,
  modes: StrictModes,
  trusted: ReadonlySet<number> = ROOT_ONLY,
  stat: StatPath = statPath,
): StrictFinding | null {
  if (modes.euid !== 0) return null;
  const found = unsafePath(file, trusted, stat);
  if (!found) return null;
  const consequence = modes.strict ? ' (strict_modes = yes: refused)' : '';
  const message = `unsafe ${what} "${file}": ${describeUnsafe(found)}${consequence}`;
  return { error: modes.strict, problem: { ...origin, code: modes.strict ? 'ERR_UNSAFE_FILE' : 'WARN_UNSAFE_FILE', message } };
}
