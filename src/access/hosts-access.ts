// tcp_wrappers access control: reads the text of hosts.allow and hosts.deny (hosts_access(5),
// with the `allow`/`deny` options of hosts_options(5)) into rules, and decides a request
// against them. Pure: the shell reads the files and, when reverse lookups are on, resolves the
// client's name; this module opens nothing and resolves nothing. It does not run shell
// commands or other options (spawn, twist, banners, …), look up netgroups or ident users, or
// match the server side of `daemon@host`: each of those is reported and its rule skipped.
//
// A rule that cannot be read is reported as a ConfigError and never matches, whichever file it
// is in; it is never read as "allow everything", and the other rules still count. A rule with
// one bad pattern is skipped whole, because dropping just the pattern could widen it: in
// `ALL: ALL EXCEPT @evil` that would grant everyone.
import type { ConfigError, Origin } from '../config/types.js';
import { addressPatternProblem, matchIp, parseAddressPattern, parseIp, type AddressPattern, type IpAddress } from './address.js';

/** What a hosts file entry decides: `allow`/`deny` from its options, else its file's default. */
export type Verdict = 'allow' | 'deny';

/** A daemon-list pattern: ALL, a process name, or a tcp_wrappers `.suffix` or `prefix.` of one. */
export type DaemonPattern =
  | { readonly kind: 'all' }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'prefix'; readonly prefix: string }
  | { readonly kind: 'suffix'; readonly suffix: string };

/** A client-list pattern: a keyword, an address pattern, a `.domain` suffix or a host name. */
export type ClientPattern =
  | { readonly kind: 'keyword'; readonly keyword: ClientKeyword }
  | { readonly kind: 'address'; readonly address: AddressPattern }
  | { readonly kind: 'domain'; readonly suffix: string }
  | { readonly kind: 'host'; readonly name: string };

/** Matches when one of `patterns` matches and `except` (itself such a list) does not. */
export interface PatternList<P> {
  readonly patterns: readonly P[];
  readonly except: PatternList<P> | null;
}

/** One readable `daemon_list : client_list [: allow|deny]` entry and where it was written. */
export interface HostsRule extends Origin {
  readonly daemons: PatternList<DaemonPattern>;
  readonly clients: PatternList<ClientPattern>;
  /** The `allow` or `deny` option; null when the file it is in decides. */
  readonly verdict: Verdict | null;
}

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
}

/** The outcome, and the rule that decided it; no file and line when no rule matched. */
export interface AccessDecision {
  verdict: Verdict;
  file?: string;
  line?: number;
}

/** The facts about a client that patterns look at, computed once per request. */
interface Client {
  ip: IpAddress | null;
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

/** The hosts_options(5) options ninetd acts on. Sorted. */
const VERDICT_OPTIONS = { allow: 'allow', deny: 'deny' } as const satisfies Record<string, Verdict>;

/** Other hosts_options(5) keywords: known, but they run commands or change the handler. Sorted. */
const UNSUPPORTED_OPTIONS = [
  'banners',
  'keepalive',
  'linger',
  'nice',
  'rfc931',
  'setenv',
  'severity',
  'spawn',
  'twist',
  'umask',
  'user',
] as const;

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
const CLIENT_FORMS = 'ALL, KNOWN, LOCAL, PARANOID, UNKNOWN, an address pattern, a .domain or a host name';

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

/** Reads one daemon-list word. */
function daemonPattern(word: string): DaemonPattern | Problem {
  const w = word.toLowerCase();
  if (w === 'all') return { kind: 'all' };
  const expected = 'daemon names or ALL';
  if (w.includes('@')) return unsupported(word, 'daemon@host pattern', expected);
  if (/[*?]/.test(w)) return unsupported(word, 'wildcard pattern', `${expected}, or a .suffix or prefix. of a daemon name`);
  if (lookup(CLIENT_KEYWORDS, w)) {
    return new Problem('ERR_ACCESS_PATTERN', `client keyword "${word}" in the daemon list (expected ${expected})`);
  }
  if (!/^[a-z0-9_.+/-]+$/.test(w) || w === '.') {
    return new Problem('ERR_ACCESS_PATTERN', `bad daemon pattern "${word}" (expected ${expected})`);
  }
  if (w.startsWith('.')) return { kind: 'suffix', suffix: w };
  if (w.endsWith('.')) return { kind: 'prefix', prefix: w };
  return { kind: 'name', name: w };
}

/** Words that can only be meant as addresses: they hold `[`, `:` or `/`, or only digits and dots. */
function looksLikeAddress(word: string): boolean {
  return /[[\]:/]/.test(word) || /^[\d.]+$/.test(word);
}

/** Reads one client-list word. */
function clientPattern(word: string): ClientPattern | Problem {
  const w = word.toLowerCase();
  if (lookup(CLIENT_KEYWORDS, w)) return { kind: 'keyword', keyword: w as ClientKeyword };
  if (w.startsWith('@')) return unsupported(word, 'netgroup pattern', CLIENT_FORMS);
  if (w.startsWith('/')) return unsupported(word, 'file pattern', CLIENT_FORMS);
  if (w.includes('@')) return unsupported(word, 'user@host pattern', CLIENT_FORMS);
  if (/[*?]/.test(w)) return unsupported(word, 'wildcard pattern', `${CLIENT_FORMS}; for addresses use a prefix such as 192.168. or a /len`);
  if (looksLikeAddress(w)) {
    const address = parseAddressPattern(word);
    if (address) return { kind: 'address', address };
    return new Problem('ERR_ACCESS_PATTERN', `bad address "${word}" (${addressPatternProblem(word)})`);
  }
  const labels = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;
  if (w.startsWith('.') && labels.test(w.slice(1))) return { kind: 'domain', suffix: w };
  if (w.endsWith('.') && labels.test(w.slice(0, -1))) {
    return unsupported(word, 'host name prefix', 'a .domain suffix, a full host name, or an address prefix such as 192.168.');
  }
  if (labels.test(w)) return { kind: 'host', name: w };
  return new Problem('ERR_ACCESS_PATTERN', `bad client pattern "${word}" (expected ${CLIENT_FORMS})`);
}

/** Reads the options after the client list; returns the verdict they set (null: none). */
function parseOptions(fields: string[]): Verdict | null | Problem {
  let verdict: Verdict | null = null;
  for (const field of fields) {
    const text = field.trim();
    // An empty field (`ALL: ALL:`) says nothing; refusing it would disable a deny-all rule.
    if (text === '') continue;
    const [, name = '', value = ''] = /^([^\s=]+)\s*=?\s*(.*)$/s.exec(text) ?? [];
    const key = name.toLowerCase();
    const v = lookup(VERDICT_OPTIONS, key);
    if (v) {
      if (value !== '') return new Problem('ERR_ACCESS_OPTION', `option "${name}" takes no value, got "${value}" (expected allow or deny alone)`);
      if (verdict) return new Problem('ERR_ACCESS_OPTION', `option "${name}" after "${verdict}" (expected one of allow or deny, last)`);
      verdict = v;
    } else if ((UNSUPPORTED_OPTIONS as readonly string[]).includes(key)) {
      return new Problem('ERR_ACCESS_OPTION', `option "${name}" is not supported (expected allow or deny)`);
    } else {
      // `ALL: fe80:1:2:3:4:5:6:7` splits at every colon; the pieces end up here.
      const hint = /^[0-9a-f]{1,4}$/i.test(name) ? '; an ipv6 address must be written in brackets' : '';
      return new Problem('ERR_ACCESS_OPTION', `unknown option "${name}" (expected allow or deny${hint})`);
    }
  }
  return verdict;
}

/** Reads one logical rule. */
function parseRule(text: string): Omit<HostsRule, keyof Origin> | Problem {
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
    return new Problem('ERR_ACCESS_SYNTAX', `missing ":" in "${text}" (expected daemon_list : client_list [: allow|deny])`);
  }
  const daemons = parseList(words(daemonField), 'daemon', daemonPattern);
  if (daemons instanceof Problem) return daemons;
  const clients = parseList(words(clientField), 'client', clientPattern);
  if (clients instanceof Problem) return clients;
  const verdict = parseOptions(optionFields);
  if (verdict instanceof Problem) return verdict;
  return { daemons, clients, verdict };
}

/**
 * Parses the text of a hosts.allow or hosts.deny file. Every rule that cannot be used yields a
 * ConfigError on its first line and is left out of `rules`, so it never matches.
 */
export function parseHostsAccess(text: string, file: string): { rules: HostsRule[]; errors: ConfigError[] } {
  const rules: HostsRule[] = [];
  const errors: ConfigError[] = [];
  for (const { line, text: ruleText } of splitRules(text)) {
    const rule = parseRule(ruleText);
    if (rule instanceof Problem) errors.push({ file, line, code: rule.code, message: rule.message });
    else rules.push({ file, line, ...rule });
  }
  return { rules, errors };
}

/** True when `p` matches one of the request's daemon names (already lowercase). */
function matchDaemon(p: DaemonPattern, names: readonly string[]): boolean {
  switch (p.kind) {
    case 'all':
      return true;
    case 'name':
      return names.includes(p.name);
    case 'prefix':
      return names.some((n) => n.startsWith(p.prefix));
    case 'suffix':
      return names.some((n) => n.length > p.suffix.length && n.endsWith(p.suffix));
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
  }
}

/** tcpd's list_match: some pattern matches and the EXCEPT list, if any, does not. */
function matchList<P, R>(list: PatternList<P>, match: (p: P, request: R) => boolean, request: R): boolean {
  return list.patterns.some((p) => match(p, request)) && !(list.except && matchList(list.except, match, request));
}

/** The first rule of `rules` that matches, if any. */
function firstMatch(rules: readonly HostsRule[], names: readonly string[], client: Client): HostsRule | undefined {
  return rules.find((r) => matchList(r.daemons, matchDaemon, names) && matchList(r.clients, matchClient, client));
}

/**
 * Decides a request as tcpd does: the first matching rule of hosts.allow grants, else the first
 * matching rule of hosts.deny refuses, else access is granted. A rule's `allow`/`deny` option
 * overrides the file it is in, and the search still stops at it.
 */
export function checkHostsAccess(allow: readonly HostsRule[], deny: readonly HostsRule[], request: AccessRequest): AccessDecision {
  const names = request.daemons.map((d) => d.toLowerCase());
  const rawName = request.clientName;
  const name = typeof rawName === 'string' && rawName !== '' ? rawName.toLowerCase().replace(/\.$/, '') : null;
  const client: Client = {
    ip: parseIp(request.clientIp),
    lookups: rawName !== undefined,
    name,
    mismatch: request.nameMismatch === true,
  };
  for (const [rules, verdict] of [
    [allow, 'allow'],
    [deny, 'deny'],
  ] as const) {
    const rule = firstMatch(rules, names, client);
    if (rule) return { verdict: rule.verdict ?? verdict, file: rule.file, line: rule.line };
  }
  return { verdict: 'allow' };
}
