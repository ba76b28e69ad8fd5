// Decides, per client, whether a service serves it: the service's own address rules (only_from,
// no_access), then tcp_wrappers' hosts.allow and hosts.deny, which are re-read whenever they
// change (readHostsFile is also what `--check` reads them with). It names the rule behind every
// refusal, and hands over the matched rule's hosts_options(5) Effects. It does not count
// connections (per-source.ts), and runs, sends and closes nothing (dispatch applies Effects).
import { promises as dns } from 'node:dns';
import { statSync } from 'node:fs';
import { formatConfigError, type ConfigError } from '../config/types.js';
import type { AccessSettings } from '../config/settings.js';
import { checkFile, type StrictModes } from '../config/strict-modes.js';
import { fileProblemReason, isFileProblem, readRegularFile } from '../files/regular-file.js';
import type { Logger } from '../log/logger.js';
import { matchIp, parseIp, type IpAddress } from './address.js';
import { checkHostsAccess, parseHostsAccess, type HostsRule } from './hosts-access.js';
import { noEffects, ruleEffects, type Effects } from './hosts-options.js';
import type { ExpansionFacts } from './percent-expand.js';

/** One hosts file as last read: its rules, and the stat that says whether it changed since. */
interface HostsFile {
  path: string;
  stamp: string;
  rules: HostsRule[];
  /** It exists but could not be read: every client is refused until it can be. */
  unreadable: boolean;
}

/** A client's verified host name (null: none), and whether its name and address disagreed. */
export interface ClientName {
  name: string | null;
  mismatch: boolean;
}

/** Who asks for what, as dispatch knows it when a connection or datagram arrives. */
export interface GateRequest {
  /** Names the daemon list is matched against: argv[0]'s basename first (it is `%d`), then the service name. */
  daemons: readonly string[];
  /** The peer address as the socket reports it; '' or a non-address for a unix peer. */
  clientIp: string;
  /** The client's looked-up name, when lookups are on (clientName()). */
  client?: ClientName;
  /** The local address the client reached (getsockname), for `daemon@host` and `%A`. */
  serverIp?: string;
  /** The local address's name, when lookups are on (clientName(serverIp).name). */
  serverName?: string | null;
}

/**
 * What hosts.allow and hosts.deny say about one connection. `serve`: start the handler, applying
 * `effects`; `refuse`: close it (after running `effects.spawn`); `twist`: run `effects.twist`
 * with `/bin/sh -c` in place of the handler, the connection on 0, 1 and 2, applying the other
 * effects (user, umask, nice, env…) to that process. `rule` names the deciding rule.
 */
export interface AccessOutcome {
  action: 'refuse' | 'serve' | 'twist';
  /** `file:line`, `FILE: unreadable`, or null when no rule matched. */
  rule: string | null;
  effects: Effects;
  /** What the `%` expansions saw; readOptionBanner(effects.bannersDir, facts) needs them too. */
  facts: ExpansionFacts;
}

/** hosts.allow and hosts.deny, read again on every check whose stat differs from the last one. */
export class HostsFiles {
  private readonly files: [HostsFile, HostsFile];

  constructor(
    allowPath: string,
    denyPath: string,
    private readonly log: Logger,
    /** Milliseconds a name lookup may take; 0 = never look names up. */
    private readonly lookupMs = 0,
    /** Strict modes: each version of a file is checked; with strict_modes an unsafe one refuses everyone. */
    private readonly modes?: StrictModes,
  ) {
    this.files = [
      { path: allowPath, stamp: '', rules: [], unreadable: false },
      { path: denyPath, stamp: '', rules: [], unreadable: false },
    ];
  }

  /** The file's rules, re-read (and its errors logged once) if it changed; a missing file has none. */
  private rules(f: HostsFile): HostsRule[] {
    let stamp = 'missing';
    try {
      const st = statSync(f.path);
      // ctime too: a chmod that makes an unreadable file readable changes only that.
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch {
      // no file: no rules, as tcpd treats it
    }
    if (stamp === f.stamp) return f.rules;
    f.stamp = stamp;
    const read = stamp === 'missing' ? { rules: [], errors: [], warnings: [], unreadable: false } : readHostsFile(f.path, this.modes);
    // A bad rule never matches: it neither grants nor refuses; an unreadable file refuses
    // everyone. Said once per version of the file.
    for (const e of read.errors) this.log.error({ file: e.file, line: e.line, code: e.code }, formatConfigError(e));
    for (const w of read.warnings) this.log.warn({ file: w.file, line: w.line, code: w.code }, formatConfigError(w));
    f.rules = read.rules;
    f.unreadable = read.unreadable;
    return f.rules;
  }

  /** True when clients' names are looked up before the rules are checked. */
  get wantsNames(): boolean {
    return this.lookupMs > 0;
  }

  /**
   * The client's host name, double-checked as tcpd's PARANOID does: the name the address maps to
   * must map back to the address. Bounded by the lookup timeout; failure means "no name".
   */
  async clientName(ip: string): Promise<ClientName> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ClientName>((resolve) => {
      timer = setTimeout(() => resolve({ name: null, mismatch: false }), this.lookupMs);
    });
    const lookup = (async (): Promise<ClientName> => {
      try {
        // getnameinfo (via libuv's threadpool) reads /etc/hosts and NSS, as tcpd's lookups do.
        const { hostname } = await dns.lookupService(ip, 0);
        if (!hostname || hostname === ip) return { name: null, mismatch: false };
        const back = await dns.lookup(hostname, { all: true });
        return back.some((a) => a.address === ip) ? { name: hostname, mismatch: false } : { name: null, mismatch: true };
      } catch {
        return { name: null, mismatch: false };
      }
    })();
    try {
      return await Promise.race([lookup, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * What the hosts files say about `req`: the action, the deciding rule, and its options as
   * Effects with their `%` expansions done (made safe for /bin/sh). An unreadable file refuses.
   */
  decide(req: GateRequest): AccessOutcome {
    const [allow, deny] = [this.rules(this.files[0]), this.rules(this.files[1])];
    const facts: ExpansionFacts = {
      clientAddr: parseIp(req.clientIp) ? req.clientIp : null,
      clientName: req.client?.name ?? null,
      nameMismatch: req.client?.mismatch ?? false,
      serverAddr: req.serverIp !== undefined && parseIp(req.serverIp) ? req.serverIp : null,
      serverName: req.serverName ?? null,
      daemon: req.daemons[0] ?? '',
      pid: process.pid,
    };
    const unreadable = this.files.find((f) => f.unreadable);
    if (unreadable) return { action: 'refuse', rule: `${unreadable.path}: unreadable`, effects: noEffects(), facts };
    const names = req.client ? { clientName: req.client.name, nameMismatch: req.client.mismatch } : {};
    const server = req.serverIp !== undefined ? { serverIp: req.serverIp, ...(req.serverName !== undefined ? { serverName: req.serverName } : {}) } : {};
    const d = checkHostsAccess(allow, deny, { daemons: req.daemons, clientIp: req.clientIp, ...names, ...server });
    const rule = d.file ? `${d.file}:${d.line}` : d.verdict === 'deny' ? 'hosts.deny' : null;
    const effects = d.options ? ruleEffects(d.options, facts) : noEffects();
    const action = effects.twist !== undefined ? 'twist' : d.verdict === 'allow' ? 'serve' : 'refuse';
    return { action, rule, effects, facts };
  }

  /**
   * The rule (`file:line`) that refuses `ip` for these daemon names, or null to serve it. For
   * callers that apply no Effects: a `twist` rule refuses here (fail closed), and `spawn` and
   * the other options are not run; use decide() to apply them.
   */
  refusal(daemons: string[], ip: string, client?: ClientName): string | null {
    const o = this.decide({ daemons, clientIp: ip, ...(client ? { client } : {}) });
    return o.action === 'serve' ? null : (o.rule ?? 'hosts.deny');
  }
}

/**
 * Reads one hosts file: its rules, and its errors and warnings by file and line. A missing file
 * has none, as in tcpd; one that exists but cannot be read, or is not a regular file of at most
 * FILE_CAPS.hosts bytes (a FIFO never blocks the read), or fails strict modes with
 * strict_modes = yes, is `unreadable` (fail closed: rules we cannot see, or that someone else
 * may have written, might refuse the client), reported on line 0.
 */
export function readHostsFile(file: string, modes?: StrictModes): { rules: HostsRule[]; errors: ConfigError[]; warnings: ConfigError[]; unreadable: boolean } {
  const unsafe = modes ? checkFile(file, 'hosts file', { file, line: 0 }, modes) : null;
  if (unsafe?.error) return { rules: [], errors: [{ ...unsafe.problem, message: `${unsafe.problem.message}: every client is refused` }], warnings: [], unreadable: true };
  const read = readRegularFile(file, 'hosts');
  if (isFileProblem(read)) {
    if (read.kind === 'missing') return { rules: [], errors: [], warnings: [], unreadable: false };
    const message = `cannot read: ${fileProblemReason(read)}: every client is refused until it can be read`;
    return { rules: [], errors: [{ file, line: 0, code: 'ERR_ACCESS_READ', message }], warnings: [], unreadable: true };
  }
  const parsed = parseHostsAccess(read.data.toString('utf8'), file);
  return { ...parsed, warnings: [...(unsafe ? [unsafe.problem] : []), ...parsed.warnings], unreadable: false };
}

/** The service rule that refuses the client at `addr` (`no_access`, `only_from`), or null; a unix peer (null) has none. */
export function serviceRefusal(rules: AccessSettings, section: string, addr: IpAddress | null): string | null {
  if (!addr) return null;
  if (rules.no_access?.some((p) => matchIp(p, addr))) return `${section} no_access`;
  if (rules.only_from && !rules.only_from.some((p) => matchIp(p, addr))) return `${section} only_from`;
  return null;
}
