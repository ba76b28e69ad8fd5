// What a configuration asks of the process that serves it, held against what that process may
// do: ports below the unprivileged port start, handlers run as other users, unix socket owners.
// `--check` prints the result as warnings per line, so a config checked as an ordinary user
// tells what will not work when that user runs it. The core is pure; `processPrivileges` reads
// /proc. It does not decide whether a warning fails the check.
import { readFileSync } from 'node:fs';
import type { ConfigError, ServiceEntry } from './types.js';

/** What the checking process may do. */
export interface Privileges {
  uid: number;
  gid: number;
  /** CAP_NET_BIND_SERVICE is in the effective set. */
  bindService: boolean;
  /** Lowest port an unprivileged process may bind (net.ipv4.ip_unprivileged_port_start). */
  unprivilegedPortStart: number;
}

/** Capability bit of CAP_NET_BIND_SERVICE (linux/capability.h). */
const CAP_NET_BIND_SERVICE = 10n;

/** The privileges of this process, from /proc (defaults of a plain Linux when it is absent). */
export function processPrivileges(): Privileges {
  const read = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(read('/proc/self/status'))?.[1];
  const start = Number.parseInt(read('/proc/sys/net/ipv4/ip_unprivileged_port_start'), 10);
  return {
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    bindService: capEff !== undefined && ((BigInt(`0x${capEff}`) >> CAP_NET_BIND_SERVICE) & 1n) === 1n,
    unprivilegedPortStart: Number.isInteger(start) ? start : 1024,
  };
}

/** One warning per entry and problem, as ConfigErrors with code ERR_CHECK_PRIVILEGE. Pure. */
export function privilegeWarnings(entries: readonly ServiceEntry[], p: Privileges): ConfigError[] {
  const out: ConfigError[] = [];
  const warn = (e: ServiceEntry, message: string): void => void out.push({ file: e.file, line: e.line, code: 'ERR_CHECK_PRIVILEGE', message: `warning: ${e.service}/${e.protocol}: ${message}` });
  const who = `uid ${p.uid}`;
  for (const e of entries) {
    // tcpmux sub-services bind nothing of their own: the multiplexer's entry does.
    const binds = e.family !== 'unix' && !e.tcpmux;
    if (binds && e.port > 0 && e.port < p.unprivilegedPortStart && !p.bindService) {
      warn(e, `port ${e.port} needs root or CAP_NET_BIND_SERVICE; as ${who} the bind will fail with permission denied`);
    }
    if (p.uid === 0) continue;
    const otherUser = e.user !== '-' && e.uid !== p.uid;
    const otherGroup = e.group !== '' && e.gid !== p.gid;
    if (!e.builtin && (otherUser || otherGroup)) {
      const asked = e.group ? `${e.user}:${e.group}` : e.user;
      warn(e, `handlers run as ${who}, not as "${asked}": only root switches users`);
    }
    const o = e.unixOwner;
    if (o && !e.path.startsWith('@') && (o.user || o.group)) {
      warn(e, `socket owner "${o.user}:${o.group}" is not applied: only root changes a socket's owner (its mode is applied)`);
    }
  }
  return out;
}
