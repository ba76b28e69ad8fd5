// The hosts_options(5) of the rule that decided a connection, applied to it: `spawn` commands in
// the background, `keepalive` and `linger` on the socket, the `banners` file, and what the handler
// is started with (`twist` instead of it, `setenv`, `umask`, `user`, `nice`). The options were
// read and their `%` expansions made safe by access/; this applies them and decides nothing.
import { closeSync, openSync } from 'node:fs';
import type { AccessOutcome } from '../access/gate.js';
import { readOptionBanner } from '../access/option-banner.js';
import * as native from '../native/index.js';
import { HANDLER_PATH } from '../spawn/env.js';
import type { ServiceCore } from './core.js';
import type { HandlerOverride } from './handler.js';
import { sendQuietly } from './reply.js';

/** The shell libwrap runs `spawn` and `twist` commands with. */
const SHELL = '/bin/sh';

/** Runs the rule's `spawn` commands in the background, stdio on /dev/null, as the entry's user; refused or not. */
export function runSpawns(svc: ServiceCore, outcome: AccessOutcome): void {
  const { entry: e } = svc.plan;
  for (const cmd of outcome.effects.spawn) {
    let devnull = -1;
    try {
      devnull = openSync('/dev/null', 'r+');
      const req = { file: SHELL, argv: ['sh', '-c', cmd], fd: devnull, env: { PATH: HANDLER_PATH }, uid: e.uid, gid: e.gid, groups: e.groups };
      const pid = svc.host.spawn(req, (end) => {
        if (end.err || end.code || end.signal) svc.log.debug({ pid, code: end.code, signal: end.signal }, 'hosts spawn command failed');
      });
    } catch (err) {
      svc.log.error({ err: { code: (err as NodeJS.ErrnoException).code, message: (err as Error).message } }, 'cannot run hosts spawn command');
    } finally {
      if (devnull >= 0) closeSync(devnull);
    }
  }
}

/** Applies the socket options and sends the `banners` file: before the handler (or twist) starts. */
export function prepareConnection(svc: ServiceCore, fd: number, outcome: AccessOutcome): void {
  const fx = outcome.effects;
  try {
    if (fx.keepalive) native.setsockopt(fd, native.constants.SOL_SOCKET, native.constants.SO_KEEPALIVE, 1);
    if (fx.linger !== undefined) native.setLinger(fd, fx.linger);
  } catch {
    // the client is gone already
  }
  if (fx.bannersDir === undefined) return;
  const banner = readOptionBanner(fx.bannersDir, outcome.facts);
  if ('text' in banner) sendQuietly(fd, banner.text);
  else if ('problem' in banner) svc.log.error({ file: banner.file }, `banner ${banner.file}: ${banner.problem}`);
}

/**
 * What the rule changes about the handler: `twist` replaces it with a shell command, `setenv`,
 * `umask`, `nice` and `user` (as root only) change how it starts. An unknown user or group is
 * an error string: the connection is then refused rather than served as someone else.
 */
export function handlerOverride(svc: ServiceCore, outcome: AccessOutcome | null): HandlerOverride | string {
  if (!outcome) return {};
  const fx = outcome.effects;
  const out: HandlerOverride = {};
  if (fx.twist !== undefined) Object.assign(out, { file: SHELL, argv: ['sh', '-c', fx.twist] });
  if (Object.keys(fx.env).length > 0) out.env = fx.env;
  if (fx.umask !== undefined) out.umask = fx.umask;
  if (fx.nice !== undefined) out.nice = fx.nice;
  if (fx.user !== undefined && svc.host.uid === 0) {
    const pw = native.getpwnam(fx.user);
    if (!pw) return `hosts option user: no user "${fx.user}"`;
    const gid = fx.group !== undefined ? native.getgrnam(fx.group)?.gid : pw.gid;
    if (gid === undefined) return `hosts option user: no group "${fx.group!}"`;
    Object.assign(out, { uid: pw.uid, gid, groups: native.getgrouplist(fx.user, gid) });
  }
  return out;
}
