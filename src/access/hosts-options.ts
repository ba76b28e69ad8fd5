// The options of hosts_options(5), the fields after a rule's client list: reads them (checking
// every value, so a bad one is reported where it is written), and turns the options of the rule
// that matched a connection into Effects, its `%` expansions done (percent-expand.ts). Pure: it
// runs nothing, looks up no user and opens no file; dispatch applies the Effects (runs `spawn`
// and `twist` as `/bin/sh -c COMMAND`, as libwrap does, which the expansion makes safe).
import type { LogLevel } from '../log/logger.js';
import { percentExpand, unknownExpansions, type ExpansionFacts } from './percent-expand.js';

/** What a hosts file entry decides: `allow`/`deny` from its options, else its file's default. */
export type Verdict = 'allow' | 'deny';

/** One option as written: its keyword (lowercase) and its value, null when it has none. */
export interface RuleOption {
  readonly name: OptionName;
  readonly value: string | null;
}

/** Why an option cannot be used; the caller turns it into ERR_ACCESS_OPTION on the rule's line. */
export class OptionProblem {
  constructor(readonly message: string) {}
}

/** Whether an option takes a value: never, optionally, or always. */
type Arity = 'none' | 'optional' | 'required';

/** How one option is written: its value, whether it must come last, and a check of the value. */
interface OptionSpec {
  readonly arity: Arity;
  /** It ends the rule (libwrap: allow, deny and twist must be the last option). */
  readonly last: boolean;
  /** Why the value is not acceptable, or null. */
  readonly check: (value: string) => string | null;
  /** How the value reads, for messages. */
  readonly form: string;
  /** Records the option's effect; `value` has passed `check` (or is '' when there is none). */
  readonly apply: (fx: Effects, value: string, facts: ExpansionFacts, given: boolean) => void;
}

/** syslog(3) level names, as libwrap reads them for `severity`, and the log level each maps to. Sorted. */
const SYSLOG_LEVELS = {
  alert: 'fatal',
  crit: 'fatal',
  debug: 'debug',
  emerg: 'fatal',
  err: 'error',
  error: 'error',
  info: 'info',
  notice: 'info',
  panic: 'fatal',
  warn: 'warn',
  warning: 'warn',
} as const satisfies Record<string, LogLevel>;

/** syslog(3) facility names `severity` accepts. Sorted. */
const SYSLOG_FACILITIES = [
  'auth',
  'authpriv',
  'cron',
  'daemon',
  'ftp',
  'kern',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
  'lpr',
  'mail',
  'news',
  'syslog',
  'user',
  'uucp',
] as const;

/** A whole number from min to max, or why not. */
function wholeNumber(min: number, max: number): (v: string) => string | null {
  return (v) => (/^-?[0-9]+$/.test(v) && Number(v) >= min && Number(v) <= max ? null : `"${v}" is not a whole number from ${min} to ${max}`);
}

/** Checks a command or setenv value: every `%x` in it must be an expansion. */
function expansionsKnown(v: string): string | null {
  const bad = unknownExpansions(v);
  return bad.length === 0 ? null : `unknown expansion "${bad[0]}" (expected %a %A %c %d %h %H %n %N %p %s %u or %%)`;
}

/** A user or user.group name as libwrap's `user` option reads it. */
const USER_GROUP = /^[a-z_][a-z0-9_-]*\$?(\.[a-z_][a-z0-9_-]*)?$/i;

/** An environment variable name. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Every hosts_options(5) option: how it is written and what it does. Sorted. */
const OPTIONS = {
  allow: { arity: 'none', last: true, check: () => null, form: 'allow alone, last', apply: (fx) => {
      fx.verdict = 'allow';
    }, },
  banners: {
    arity: 'required',
    last: false,
    check: (v) => (v.startsWith('/') && !/\s/.test(v) ? null : `"${v}" is not an absolute directory path`),
    form: 'banners /directory',
    apply: (fx, v) => {
      fx.bannersDir = v;
    },
  },
  deny: { arity: 'none', last: true, check: () => null, form: 'deny alone, last', apply: (fx) => {
      fx.verdict = 'deny';
    }, },
  keepalive: { arity: 'none', last: false, check: () => null, form: 'keepalive alone', apply: (fx) => {
      fx.keepalive = true;
    }, },
  linger: { arity: 'required', last: false, check: wholeNumber(0, 2 ** 31 - 1), form: 'linger SECONDS', apply: (fx, v) => {
      fx.linger = Number(v);
    }, },
  nice: {
    arity: 'optional',
    last: false,
    check: wholeNumber(-20, 19),
    form: 'nice [-20 to 19]',
    // libwrap's default when no value is given is 10.
    apply: (fx, v, _f, given) => {
      fx.nice = given ? Number(v) : 10;
    },
  },
  rfc931: {
    arity: 'optional',
    last: false,
    check: wholeNumber(1, 3600),
    form: 'rfc931 [SECONDS]',
    // No ident lookups on Linux here: %u stays "unknown". Accepted so that rules keep working.
    apply: () => {},
  },
  setenv: {
    arity: 'required',
    last: false,
    check: (v) => {
      const name = v.split(/\s/, 1)[0]!;
      return ENV_NAME.test(name) ? expansionsKnown(v) : `"${name}" is not a variable name`;
    },
    form: 'setenv NAME VALUE',
    apply: (fx, v, facts) => {
      const expanded = percentExpand(v, facts);
      const name = expanded.split(/\s/, 1)[0]!;
      fx.env[name] = expanded.slice(name.length).trim();
    },
  },
  severity: {
    arity: 'required',
    last: false,
    check: (v) => {
      const [a = '', b] = v.toLowerCase().split('.');
      const [facility, level] = b === undefined ? [null, a] : [a, b];
      if (facility !== null && !(SYSLOG_FACILITIES as readonly string[]).includes(facility)) return `unknown facility "${facility}"`;
      return Object.hasOwn(SYSLOG_LEVELS, level) ? null : `unknown level "${level}"`;
    },
    form: 'severity [facility.]level, e.g. auth.notice',
    apply: (fx, v) => {
      const [a = '', b] = v.toLowerCase().split('.');
      const level = SYSLOG_LEVELS[(b ?? a) as keyof typeof SYSLOG_LEVELS];
      fx.severity = b === undefined ? { level } : { level, facility: a };
    },
  },
  spawn: { arity: 'required', last: false, check: expansionsKnown, form: 'spawn COMMAND', apply: (fx, v, facts) => {
      fx.spawn.push(percentExpand(v, facts));
    }, },
  twist: { arity: 'required', last: true, check: expansionsKnown, form: 'twist COMMAND, last', apply: (fx, v, facts) => {
      fx.twist = percentExpand(v, facts);
    }, },
  umask: {
    arity: 'required',
    last: false,
    check: (v) => (/^[0-7]{1,4}$/.test(v) && parseInt(v, 8) <= 0o777 ? null : `"${v}" is not an octal mask`),
    form: 'umask 022',
    apply: (fx, v) => {
      fx.umask = parseInt(v, 8);
    },
  },
  user: {
    arity: 'required',
    last: false,
    check: (v) => (USER_GROUP.test(v) ? null : `"${v}" is not a user or user.group`),
    form: 'user NAME[.GROUP]',
    apply: (fx, v) => {
      const [user = '', group] = v.split('.');
      fx.user = user;
      if (group === undefined) delete fx.group;
      else fx.group = group;
    },
  },
} as const satisfies Record<string, OptionSpec>;

/** A hosts_options(5) keyword, lowercase. */
export type OptionName = keyof typeof OPTIONS;

/** The option keywords, for "expected …" hints. */
const OPTION_NAMES = Object.keys(OPTIONS).join(', ');

/** `\:` in an option stands for `:` (hosts_options(5)); no other escape exists. */
function unescape(text: string): string {
  return text.replace(/\\:/g, ':');
}

/**
 * Reads the option fields of a rule (the text after the client list, split at unescaped `:`).
 * An empty field says nothing and is skipped: refusing it would disable a deny-all `ALL: ALL:`.
 */
export function parseOptions(fields: readonly string[]): RuleOption[] | OptionProblem {
  const options: RuleOption[] = [];
  const present = fields.map((f) => unescape(f).trim()).filter((f) => f !== '');
  for (const [i, text] of present.entries()) {
    // The name ends at the first blank or `=`; blanks and `=` after it are skipped (libwrap).
    const [, name = '', rest = ''] = /^([^\s=]*)[\s=]*(.*)$/s.exec(text) ?? [];
    const key = name.toLowerCase();
    const value = rest.trim() === '' ? null : rest.trim();
    if (!Object.hasOwn(OPTIONS, key)) {
      // `ALL: fe80:1:2:3:4:5:6:7` splits at every colon; the pieces end up here.
      const hint = /^[0-9a-f]{1,4}$/i.test(name) ? '; an ipv6 address must be written in brackets' : '';
      return new OptionProblem(`unknown option "${name}" (expected ${OPTION_NAMES}${hint})`);
    }
    const spec: OptionSpec = OPTIONS[key as OptionName];
    if (value === null && spec.arity === 'required') return new OptionProblem(`option "${name}" needs a value (expected ${spec.form})`);
    if (value !== null && spec.arity === 'none') return new OptionProblem(`option "${name}" takes no value, got "${value}" (expected ${spec.form})`);
    if (spec.last && i < present.length - 1) return new OptionProblem(`option "${name}" must be the last option (expected ${spec.form})`);
    const why = value === null ? null : spec.check(value);
    if (why !== null) return new OptionProblem(`option "${name}": ${why} (expected ${spec.form})`);
    options.push({ name: key as OptionName, value });
  }
  return options;
}

/** The verdict a rule's own options give (`allow`/`deny`), or null to use its file's default. */
export function optionVerdict(options: readonly RuleOption[]): Verdict | null {
  const last = options.at(-1)?.name;
  return last === 'allow' || last === 'deny' ? last : null;
}

/**
 * What the matched rule's options ask of the connection, in the order written (a later option of
 * the same kind wins, as each one overwrites libwrap's state). Commands and variable values are
 * already `%`-expanded. `twist` means: run it with the connection as stdin/stdout/stderr instead
 * of the handler (whatever the verdict: in hosts.deny it is the polite refusal). `spawn`
 * commands run in the background with stdio on /dev/null, allowed or not.
 */
export interface Effects {
  verdict?: Verdict;
  twist?: string;
  spawn: string[];
  env: Record<string, string>;
  umask?: number;
  user?: string;
  group?: string;
  nice?: number;
  /** Directory whose file named after the daemon (`%d`) is sent first, `%`-expanded (bannerText). */
  bannersDir?: string;
  keepalive?: boolean;
  /** SO_LINGER seconds on the connection. */
  linger?: number;
  /** Level of this connection's log record; the facility, if written, is not ninetd's to change. */
  severity?: { level: LogLevel; facility?: string };
}

/** No option: what a rule without options, or no rule, asks. */
export function noEffects(): Effects {
  return { spawn: [], env: {} };
}

/** The Effects of `options` for the connection `facts` describes. */
export function ruleEffects(options: readonly RuleOption[], facts: ExpansionFacts): Effects {
  const fx = noEffects();
  for (const { name, value } of options) (OPTIONS[name] as OptionSpec).apply(fx, value ?? '', facts, value !== null);
  return fx;
}

/** A banner file's text with its `%` sequences expanded, as libwrap's `banners` sends it. */
export function bannerText(text: string, facts: ExpansionFacts): string {
  return percentExpand(text, facts);
}
