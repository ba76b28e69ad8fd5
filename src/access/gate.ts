// Decides, per client, whether a service serves it: the service's own address rules (only_from,
// no_access), then tcp_wrappers' hosts.allow and hosts.deny, which are re-read whenever they
// change. It names the rule behind every refusal. It does not count connections (per-source.ts)
// and does not close anything (dispatch does).
import { statSync, readFileSync } from 'node:fs';
import { formatConfigError } from '../config/types.js';
import type { AccessSettings } from '../config/settings.js';
import type { Logger } from '../log/logger.js';
import { matchIp, parseIp } from './address.js';
import { checkHostsAccess, parseHostsAccess, type HostsRule } from './hosts-access.js';

/** One hosts file as last read: its rules, and the stat that says whether it changed since. */
interface HostsFile {
  path: string;
  stamp: string;
  rules: HostsRule[];
}

/** hosts.allow and hosts.deny, read again on every check whose stat differs from the last one. */
export class HostsFiles {
  private readonly files: [HostsFile, HostsFile];

  constructor(
    allowPath: string,
    denyPath: string,
    private readonly log: Logger,
  ) {
    this.files = [
      { path: allowPath, stamp: '', rules: [] },
      { path: denyPath, stamp: '', rules: [] },
    ];
  }

  /** The file's rules, re-read (and its errors logged once) if it changed; a missing file has none. */
  private rules(f: HostsFile): HostsRule[] {
    let stamp = 'missing';
    try {
      const st = statSync(f.path);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      // no file: no rules, as tcpd treats it
    }
    if (stamp === f.stamp) return f.rules;
    f.stamp = stamp;
    f.rules = [];
    if (stamp === 'missing') return f.rules;
    let text: string;
    try {
      text = readFileSync(f.path, 'utf8');
    } catch (err) {
      this.log.error({ file: f.path, code: 'ERR_ACCESS_READ', err: { code: (err as NodeJS.ErrnoException).code } }, `${f.path}: cannot read`);
      return f.rules;
    }
    const { rules, errors } = parseHostsAccess(text, f.path);
    // A bad rule never matches: it neither grants nor refuses. Said once per version of the file.
    for (const e of errors) this.log.error({ file: e.file, line: e.line, code: e.code }, formatConfigError(e));
    f.rules = rules;
    return rules;
  }

  /** The rule (`file:line`) that refuses `ip` for these daemon names, or null to serve it. */
  refusal(daemons: string[], ip: string): string | null {
    const d = checkHostsAccess(this.rules(this.files[0]), this.rules(this.files[1]), { daemons, clientIp: ip });
    if (d.verdict === 'allow') return null;
    return d.file ? `${d.file}:${d.line}` : 'hosts.deny';
  }
}

/** The service rule that refuses `ip` (`no_access`, `only_from`), or null. */
export function serviceRefusal(rules: AccessSettings, section: string, ip: string): string | null {
  const addr = parseIp(ip);
  if (!addr) return null; // a unix peer: address rules do not apply
  if (rules.no_access?.some((p) => matchIp(p, addr))) return `${section} no_access`;
  if (rules.only_from && !rules.only_from.some((p) => matchIp(p, addr))) return `${section} only_from`;
  return null;
}
