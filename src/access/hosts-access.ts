// tcp_wrappers access control: reads the text of hosts.allow and hosts.deny (hosts_access(5))
// into rules, and decides a request against them. Pure: the shell reads the files and, when
// reverse lookups are on, resolves names; this module opens nothing and resolves nothing. The
// options after a rule's client list (hosts_options(5)) are read by hosts-options.ts; a
// decision carries the matched rule's options for the caller to turn into Effects. It does not
// look up netgroups or ident users: `@netgroup`, `/file` and `user@host` client patterns are
// reported as unsupported.
//
// It fails closed. A rule that cannot be read is reported as a ConfigError and kept as a
// BrokenRule: in hosts.allow it matches nothing (it grants nobody); in hosts.deny it refuses
// every client of the daemons its daemon list names, or every client of every daemon when even
// that list cannot be read, because the administrator wrote it to refuse someone. A rule with one
// bad pattern is never read without it, because dropping just the pattern could widen it: in
// `ALL: ALL EXCEPT @evil` that would grant everyone.
import type { ConfigError, Origin } from '../config/types.js';
import { addressPatternProblem, matchIp, parseAddressPattern, parseIp, type AddressPattern, type IpAddress } from './address.js';
import { OptionProblem, optionVerdict, parseOptions, type RuleOption, type Verdict } from './hosts-options.js';

export type { Verdict } from './hosts-options.js';

/**
 * A daemon-list pattern: ALL, a process name, a tcp_wrappers `.suffix` or `prefix.` of one, a
 * name with `*`/`?` wildcards, or `daemon@host`: a daemon pattern served on a local (server)
 * address or name that the host pattern matches.
 */
export type DaemonPattern =
  | { readonly kind: 'all' }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'prefix'; readonly prefix: string }
  | { readonly kind: 'suffix'; readonly suffix: string }
  | { readonly kind: 'wildcard'; readonly pattern: RegExp }
  | { readonly kind: 'at'; readonly daemon: DaemonPattern; readonly host: ClientPattern };

/**
 * A client-list (or server host) pattern: a keyword, an address pattern, a `.domain` suffix, a
 * host name, or a name or address with `*`/`?` wildcards (matched against the address as text
 * and against the name).
 */
export type ClientPattern =
  | { readonly kind: 'keyword'; readonly keyword: ClientKeyword }
  | { readonly kind: 'address'; readonly address: AddressPattern }
  | { readonly kind: 'domain'; readonly suffix: string }
  | { readonly kind: 'host'; readonly name: string }
  | { readonly kind: 'wildcard'; readonly pattern: RegExp };

/** Matches when one of `patterns` matches and `except` (itself such a list) does not. */
export interface PatternList<P> {
  readonly patterns: readonly P[];
  readonly except: PatternList<P> | null;
}

/** One readable `daemon_list : client_list [: option …]` entry and where it was written. */
export interface UsableRule extends Origin {
  readonly kind: 'rule';
  readonly daemons: PatternList<DaemonPattern>;
  readonly clients: PatternList<ClientPattern>;
  /** The options after the client list, in order; `allow`/`deny` included. */
  readonly options: readonly RuleOption[];
  /** The `allow` or `deny` option; null when the file it is in decides. */
  readonly verdict: Verdict | null;
}

/** A rule that could not be read (its error is reported apart), kept so that hosts.deny fails closed. */
export interface BrokenRule extends Origin {
  readonly kind: 'broken';
  /** Its daemon list when that much could be read; null: every daemon. */
  readonly daemons: PatternList<DaemonPattern> | null;
}

/** An entry of a hosts file, in file order. */
export type HostsRule = UsableRule | BrokenRule;

/** Who is asking for what. */
export interface AccessRequest {
  /** Names the daemon list is matched against: argv[0]'s basename and the service name. */
  daemons: readonly string[];
  /** The peer address as the socket reports it; v4-mapped IPv6 counts as IPv4. */
  clientIp: string;
  /**
   * Undefined when reverse lookups are off. When they are on: the client's verified host name,
   * or null when it has none (no PTR record, or the name does not map back to the address).
   */
  clientName?: string | null;
  /** Lookups are on and the reverse name did not map back to the address: what PARANOID means. */
  nameMismatch?: boolean;
  /** The local address the client reached, for `daemon@host`; absent for a unix socket. */
  serverIp?: string;
  /** The server address's verified name; absent or null when not looked up or none. */
  serverName?: string | null;
}

/**
 * The outcome, and the rule that decided it; no file and line when no rule matched. `options`
 * are the deciding rule's (when it has any), for hosts-options.ts `ruleEffects`; `broken` says a
 * rule that could not be read refused (fail closed).
 */
export interface AccessDecision {
  verdict: Verdict;
  file?: string;
  line?: number;
  options?: readonly RuleOption[];
  broken?: true;
}

/** The facts about a client that patterns look at, computed once per request. */
interface Client {
  ip: IpAddress | null;
  /** The address as text, v4-mapped IPv6 as plain IPv4, lowercase; null when not an address. */
  text: string | null;
  /** Reverse lookups are on. */
  lookups: boolean;
  /** Lowercase, without a trailing root dot; null when unknown or lookups are off. */
  name: string | null;
  mismatch: boolean;
}

/** KNOWN: the address is known and, when lookups are on, so is the name. */
function known(c: Client): boolean {
  return c.ip !== null && (!c.lookups || c.name !== null);
}

/**
 * Client-list keywords (hosts_access(5) "wildcards"), matched without regard to case as tcpd
 * does, and what each one tests. LOCAL needs a name, so it never matches without lookups;
 * PARANOID needs a lookup to have disagreed. Sorted.
 */
const CLIENT_KEYWORDS = {
  all: () => true,
  known,
  local: (c: Client) => c.name !== null && !c.name.includes('.'),
  paranoid: (c: Client) => c.lookups && c.mismatch,
  unknown: (c: Client) => !known(c),
} as const satisfies Record<string, (c: Client) => boolean>;

/** A client-list keyword, lowercase. */
export type ClientKeyword = keyof typeof CLIENT_KEYWORDS;

/** Codes this module reports (listed in docs/errors.md), so a typo cannot mint a new one. */
type ProblemCode = 'ERR_ACCESS_OPTION' | 'ERR_ACCESS_PATTERN' | 'ERR_ACCESS_SYNTAX';

/** Why a rule cannot be used; becomes a ConfigError on the rule's first line. */
class Problem {
  constructor(
    readonly code: ProblemCode,
    readonly message: string,
  ) {}
}

/** The client-list patterns, for "expected …" hints. */
const CLIENT_FORMS = 'ALL, KNOWN, LOCAL, PARANOID, UNKNOWN, an address pattern, a .domain, a host name, or a name or address with * or ?';

/** What an empty list should have held, by list. Sorted. */
const EMPTY_LIST_HINTS = {
  client: 'client patterns such as ALL or 192.168. after the first ":"',
  daemon: 'daemon names or ALL before the first ":"',
} as const;

/** Looks a keyword up in an `as const` table; undefined when absent (never inherited keys). */
function lookup<T extends object>(table: T, key: string): T[keyof T] | undefined {
  return Object.hasOwn(table, key) ? table[key as keyof T] : undefined;
}

/** A logical rule: its text with continuations joined and comments removed, and its first line. */
interface RuleText {
  line: number;
  text: string;
}

/**
 * Splits a file into rules. A backslash at the end of a line joins the next one (with a blank,
 * so `a\` + `b` stays two words). A line whose rule starts with `#` is a comment, continuation
 * included, as in tcpd. A `#` starting a word later on a line comments out the rest of that
 * line: tcpd would read such words as host patterns, but a note after `ALL: ALL` that turned a
 * deny-all rule into an error would silently open the service.
 */
function splitRules(text: string): RuleText[] {
  const rules: RuleText[] = [];
  let current: RuleText | null = null;
  let comment = false;
  for (const [index, raw] of text.replace(/^\uFEFF/, '').split('\n').entries()) {
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const continued = line.endsWith('\\');
    if (continued) line = line.slice(0, -1);
    if (current === null && !comment) {
      if (line.trimStart().startsWith('#')) comment = true;
      else current = { line: index + 1, text: '' };
    }
    if (current) current.text += ` ${line.replace(/(^|[\s,])#.*$/, '$1')}`;
    if (continued) continue;
    if (current && current.text.trim() !== '') rules.push({ line: current.line, text: current.text.trim() });
    current = null;
    comment = false;
  }
  if (current && current.text.trim() !== '') rules.push({ line: current.line, text: current.text.trim() });
  return rules;
}

/**
 * Splits a rule at the `:` field separators. Colons inside `[...]` belong to IPv6 addresses,
 * and `\:` is an escaped colon (hosts_options(5) commands use it).
 */
function splitFields(text: string): string[] | Problem {
  const fields: string[] = [];
  let depth = 0;
  let field = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      field += c + text[i + 1]!;
      i += 1;
    } else if (c === '[') {
      depth += 1;
      field += c;
    } else if (c === ']') {
      depth -= 1;
      field += c;
    } else if (c === ':' && depth === 0) {
      fields.push(field);
      field = '';
    } else {
      field += c;
    }
    if (depth < 0 || depth > 1) return new Problem('ERR_ACCESS_SYNTAX', `unbalanced brackets in "${text}" (expected [v6] or [v6]/len)`);
  }
  if (depth !== 0) return new Problem('ERR_ACCESS_SYNTAX', `unclosed "[" in "${text}" (expected [v6] or [v6]/len)`);
  fields.push(field);
  return fields;
}

/** Words of a list: separated by blanks and/or commas. */
function words(field: string): string[] {
  return field.split(/[\s,]+/).filter((w) => w !== '');
}

/** Builds a list from its words, right-associating EXCEPT: `a EXCEPT b EXCEPT c` = a and not (b and not c). */
function parseList<P>(
  tokens: string[],
  what: 'client' | 'daemon',
  pattern: (word: string) => P | Problem,
): PatternList<P> | Problem {
  const groups: string[][] = [[]];
  for (const t of tokens) {
    if (t.toLowerCase() === 'except') groups.push([]);
    else groups.at(-1)!.push(t);
  }
  for (const [i, g] of groups.entries()) {
    if (g.length > 0) continue;
    if (i === 0 && groups.length === 1) return new Problem('ERR_ACCESS_SYNTAX', `empty ${what} list (expected ${EMPTY_LIST_HINTS[what]})`);
    const where = i === 0 ? 'before' : 'after';
    return new Problem('ERR_ACCESS_SYNTAX', `"EXCEPT" with nothing ${where} it in the ${what} list (expected patterns EXCEPT patterns)`);
  }
  let list: PatternList<P> | null = null;
  for (const g of groups.reverse()) {
    const patterns: P[] = [];
    for (const w of g) {
      const p = pattern(w);
      if (p instanceof Problem) return p;
      patterns.push(p);
    }
    list = { patterns, except: list };
  }
  return list!;
}

/** A pattern that needs something ninetd does not do: the word, and why. */
function unsupported(word: string, why: string, expected: string): Problem {
  return new Problem('ERR_ACCESS_PATTERN', `${why} "${word}" is not supported (expected ${expected})`);
}

/** True when a word holds a `*` or `?` wildcard. */
function hasWildcard(word: string): boolean {
  return /[*?]/.test(word);
}

/** A wildcard word as a whole-string, case-blind RegExp: `*` any run, `?` one character. */
function wildcard(word: string): RegExp {
  const body = [...word.toLowerCase()].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 's');
}

/** The daemon-list forms, for "expected …" hints. */
const DAEMON_FORMS = 'daemon names, ALL, a .suffix or prefix. of a name, a name with * or ?, or daemon@host';

/** Reads one daemon-list word. */
function daemonPattern(word: string): DaemonPattern | Problem {
  const w = word.toLowerCase();
  if (w === 'all') return { kind: 'all' };
  // libwrap splits at the first `@` after the first character.
  const at = w.indexOf('@', 1);
  if (at > 0) {
    const daemon = daemonPattern(word.slice(0, at));
    if (daemon instanceof Problem) return daemon;
    if (daemon.kind === 'at') return new Problem('ERR_ACCESS_PATTERN', `bad daemon pattern "${word}" (expected ${DAEMON_FORMS})`);
    const hostWord = word.slice(at + 1);
    const host = clientPattern(hostWord);
    if (host instanceof Problem) return host;
    return { kind: 'at', daemon, host };
  }
  if (lookup(CLIENT_KEYWORDS, w)) {
    return new Problem('ERR_ACCESS_PATTERN', `client keyword "${word}" in the daemon list (expected ${DAEMON_FORMS})`);
  }
  if (!/^[a-z0-9_.+/*?-]+$/.test(w) || w === '.') {
    return new Problem('ERR_ACCESS_PATTERN', `bad daemon pattern "${word}" (expected ${DAEMON_FORMS})`);
  }
  if (hasWildcard(w)) {
    if (w.startsWith('.') || w.endsWith('.')) {
      return new Problem('ERR_ACCESS_PATTERN', `wildcard in a .suffix or prefix. pattern "${word}" (expected one or the other, as hosts_access(5) says)`);
    }
    return { kind: 'wildcard', pattern: wildcard(w) };
  }
  if (w.startsWith('.')) return { kind: 'suffix', suffix: w };
  if (w.endsWith('.')) return { kind: 'prefix', prefix: w };
  return { kind: 'name', name: w };
}

/** Words that can only be meant as addresses: they hold `[`, `:` or `/`, or only digits and dots. */
function looksLikeAddress(word: string): boolean {
  return /[[\]:/]/.test(word) || /^[\d.]+$/.test(word);
}

/** Reads a client word with `*` or `?`: a host name or address, never with a net, suffix or prefix. */
function wildcardClient(word: string): ClientPattern | Problem {
  const w = word.toLowerCase();
  const expected = 'a host name or address with * or ?, such as 192.168.1.* or *.example.org';
  if (w.includes('/')) return new Problem('ERR_ACCESS_PATTERN', `wildcard in a net/mask pattern "${word}" (expected ${expected})`);
  if (w.startsWith('.') || w.endsWith('.')) {
    return new Problem('ERR_ACCESS_PATTERN', `wildcard in a .domain or prefix. pattern "${word}" (expected ${expected})`);
  }
  const bare = /^\[([0-9a-f:.*?]+)\]$/.exec(w)?.[1] ?? w;
  if (!/^[a-z0-9_.:*?-]+$/.test(bare)) return new Problem('ERR_ACCESS_PATTERN', `bad wildcard pattern "${word}" (expected ${expected})`);
  return { kind: 'wildcard', pattern: wildcard(bare) };
}

/** Reads one client-list word. */
function clientPattern(word: string): ClientPattern | Problem {
  const w = word.toLowerCase();
  if (lookup(CLIENT_KEYWORDS, w)) return { kind: 'keyword', keyword: w as ClientKeyword };
  if (w.startsWith('@')) return unsupported(word, 'netgroup pattern', CLIENT_FORMS);
  if (w.startsWith('/')) return unsupported(word, 'file pattern', CLIENT_FORMS);
  if (w.includes('@')) return unsupported(word, 'user@host pattern', CLIENT_FORMS);
  if (hasWildcard(w)) return wildcardClient(word);
  if (looksLikeAddress(w)) {
    const address = parseAddressPattern(word);
    if (address) return { kind: 'address', address };
    return new Problem('ERR_ACCESS_PATTERN', `bad address "${word}" (${addressPatternProblem(word)})`);
  }
  const labels = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;
  if (w.startsWith('.') && labels.test(w.slice(1))) return { kind: 'domain', suffix: w };
  if (w.endsWith('.') && labels.test(w.slice(0, -1))) {
    return unsupported(word, 'host name prefix', 'a .domain suffix, a full host name, a name with * such as www.*, or an address prefix such as 192.168.');
  }
  if (labels.test(w)) return { kind: 'host', name: w };
  return new Problem('ERR_ACCESS_PATTERN', `bad client pattern "${word}" (expected ${CLIENT_FORMS})`);
}

/** The fields of a rule, or why it has none: the daemon list is kept apart for fail-closed reading. */
function ruleFields(text: string): { daemonField: string; clientField: string; optionFields: string[] } | Problem {
  // `:` separates fields, so an unbracketed IPv6 address falls apart; say so rather than
  // reporting whatever pieces it broke into.
  const bare = words(text.replace(/\[[^\]]*\]/g, '[]')).find((w) => w.includes('::') && !w.includes('['));
  if (bare !== undefined) {
    return new Problem('ERR_ACCESS_SYNTAX', `ipv6 address outside brackets in "${bare}" (expected [v6] or [v6]/len, since ":" separates fields)`);
  }
  const fields = splitFields(text);
  if (fields instanceof Problem) return fields;
  const [daemonField = '', clientField, ...optionFields] = fields;
  if (clientField === undefined) {
    return new Problem('ERR_ACCESS_SYNTAX', `missing ":" in "${text}" (expected daemon_list : client_list [: option …])`);
  }
  return { daemonField, clientField, optionFields };
}

/** Reads one logical rule. */
function parseRule(text: string): Omit<UsableRule, keyof Origin> | Problem {
  const fields = ruleFields(text);
  if (fields instanceof Problem) return fields;
  const daemons = parseList(words(fields.daemonField), 'daemon', daemonPattern);
  if (daemons instanceof Problem) return daemons;
  const clients = parseList(words(fields.clientField), 'client', clientPattern);
  if (clients instanceof Problem) return clients;
  const options = parseOptions(fields.optionFields);
  if (options instanceof OptionProblem) return new Problem('ERR_ACCESS_OPTION', options.message);
  return { kind: 'rule', daemons, clients, options, verdict: optionVerdict(options) };
}

/**
 * The daemon list of a rule that cannot be read, if that part can be: the first field, when the
 * rule has a `:` and its brackets balance. Null means "every daemon".
 */
function brokenDaemons(text: string): PatternList<DaemonPattern> | null {
  const fields = splitFields(text);
  if (fields instanceof Problem || fields.length < 2) return null;
  const daemons = parseList(words(fields[0]!), 'daemon', daemonPattern);
  return daemons instanceof Problem ? null : daemons;
}

/** Options that are read and kept but do nothing here, and why; each use is warned about. Sorted. */
const NO_OP_OPTIONS = {
  rfc931: 'option "rfc931" does nothing: ninetd makes no ident (RFC 931) lookups, so %u is always "unknown"',
} as const;

/**
 * Parses the text of a hosts.allow or hosts.deny file. Every rule that cannot be used yields a
 * ConfigError on its first line and a BrokenRule in its place (see the top of this file); every
 * use of an option that does nothing yields a warning (WARN_ACCESS_NO_OP).
 */
export function parseHostsAccess(text: string, file: string): { rules: HostsRule[]; errors: ConfigError[]; warnings: ConfigError[] } {
  const rules: HostsRule[] = [];
  const errors: ConfigError[] = [];
  const warnings: ConfigError[] = [];
  for (const { line, text: ruleText } of splitRules(text)) {
    const rule = parseRule(ruleText);
    if (rule instanceof Problem) {
      errors.push({ file, line, code: rule.code, message: rule.message });
      rules.push({ kind: 'broken', file, line, daemons: brokenDaemons(ruleText) });
    } else {
      rules.push({ file, line, ...rule });
      for (const o of rule.options) {
        const why = lookup(NO_OP_OPTIONS, o.name);
        if (why) warnings.push({ file, line, code: 'WARN_ACCESS_NO_OP', message: why });
      }
    }
  }
  return { rules, errors, warnings };
}

/** What daemon patterns look at: the request's names (lowercase) and the server side. */
interface DaemonSide {
  names: readonly string[];
  server: Client;
}

/** True when `p` matches one of the request's daemon names (and, for daemon@host, the server). */
function matchDaemon(p: DaemonPattern, d: DaemonSide): boolean {
  switch (p.kind) {
    case 'all':
      return true;
    case 'name':
      return d.names.includes(p.name);
    case 'prefix':
      return d.names.some((n) => n.startsWith(p.prefix));
    case 'suffix':
      return d.names.some((n) => n.length > p.suffix.length && n.endsWith(p.suffix));
    case 'wildcard':
      return d.names.some((n) => p.pattern.test(n));
    case 'at':
      return matchDaemon(p.daemon, d) && matchClient(p.host, d.server);
  }
}

/** True when `p` matches the client. Names are matched only when a lookup supplied one. */
function matchClient(p: ClientPattern, c: Client): boolean {
  switch (p.kind) {
    case 'keyword':
      return CLIENT_KEYWORDS[p.keyword](c);
    case 'address':
      return c.ip !== null && matchIp(p.address, c.ip);
    case 'domain':
      return c.name !== null && c.name.endsWith(p.suffix);
    case 'host':
      return c.name === p.name;
    case 'wildcard':
      return (c.text !== null && p.pattern.test(c.text)) || (c.name !== null && p.pattern.test(c.name));
  }
}

/** tcpd's list_match: some pattern matches and the EXCEPT list, if any, does not. */
function matchList<P, R>(list: PatternList<P>, match: (p: P, request: R) => boolean, request: R): boolean {
  return list.patterns.some((p) => match(p, request)) && !(list.except && matchList(list.except, match, request));
}

/**
 * The first rule of `rules` that matches, if any. A broken rule matches only in hosts.deny
 * (`failClosed`), for every client of the daemons its list names (all when unreadable).
 */
function firstMatch(rules: readonly HostsRule[], daemons: DaemonSide, client: Client, failClosed: boolean): HostsRule | undefined {
  return rules.find((r) => {
    if (r.kind === 'broken') return failClosed && (r.daemons === null || matchList(r.daemons, matchDaemon, daemons));
    return matchList(r.daemons, matchDaemon, daemons) && matchList(r.clients, matchClient, client);
  });
}

/** The address as text for wildcard patterns: v4-mapped IPv6 as IPv4, lowercase. */
function addressText(ip: string | undefined): string | null {
  if (ip === undefined || parseIp(ip) === null) return null;
  const lower = ip.toLowerCase().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  return mapped ? mapped[1]! : lower;
}

/** A host's facts from its address and, when looked up, its name. */
function hostFacts(ip: string | undefined, rawName: string | null | undefined, mismatch: boolean): Client {
  const name = typeof rawName === 'string' && rawName !== '' ? rawName.toLowerCase().replace(/\.$/, '') : null;
  return { ip: ip === undefined ? null : parseIp(ip), text: addressText(ip), lookups: rawName !== undefined, name, mismatch };
}

/**
 * Decides a request as tcpd does: the first matching rule of hosts.allow grants, else the first
 * matching rule of hosts.deny refuses, else access is granted. A rule's `allow`/`deny` option
 * overrides the file it is in, and the search still stops at it.
 */
export function checkHostsAccess(allow: readonly HostsRule[], deny: readonly HostsRule[], request: AccessRequest): AccessDecision {
  const daemons: DaemonSide = {
    names: request.daemons.map((d) => d.toLowerCase()),
    server: hostFacts(request.serverIp, request.serverName, false),
  };
  const client = hostFacts(request.clientIp, request.clientName, request.nameMismatch === true);
  for (const [rules, verdict, failClosed] of [
    [allow, 'allow', false],
    [deny, 'deny', true],
  ] as const) {
    const rule = firstMatch(rules, daemons, client, failClosed);
    if (!rule) continue;
    if (rule.kind === 'broken') return { verdict: 'deny', file: rule.file, line: rule.line, broken: true };
    const options = rule.options.filter((o) => o.name !== 'allow' && o.name !== 'deny');
    return { verdict: rule.verdict ?? verdict, file: rule.file, line: rule.line, ...(options.length > 0 ? { options: rule.options } : {}) };
  }
  return { verdict: 'allow' };
}
