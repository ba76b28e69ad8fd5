// The `%` expansions of hosts_options(5) (%a %A %c %d %h %H %n %N %p %s %u %%), made safe for a
// shell: the text of every expansion is reduced to letters, digits and `!@%-_=+:,./`, each other
// character becoming `_`, exactly as libwrap's percent_x does, because `spawn` and `twist` hand
// the result to /bin/sh and a client chooses its own host name. The text around the expansions
// is the administrator's and is left as written. Pure: the facts come in as values; it looks
// nothing up.

/** What the expansions say about one connection. Unknown values are null. */
export interface ExpansionFacts {
  /** Client address (`%a`); null for a unix peer. */
  clientAddr: string | null;
  /** Client host name, verified; null when lookups are off or found none (`%n` is then `unknown`). */
  clientName: string | null;
  /** The client's name and address disagreed (`%n` is then `paranoid`). */
  nameMismatch?: boolean;
  /** Server (local) address (`%A`); null for a unix socket. */
  serverAddr: string | null;
  /** Server host name (`%N`); null when unknown. */
  serverName: string | null;
  /** Daemon process name, argv[0]'s basename (`%d`). */
  daemon: string;
  /** Process id that evaluated the rule: ninetd's own (`%p`), the handler not being started yet. */
  pid: number;
}

/** libwrap's unknown-value word. */
const UNKNOWN = 'unknown';

/** Host info as libwrap's eval_hostinfo: the name if known, else the address, else unknown. */
function hostInfo(name: string | null, addr: string | null): string {
  return name ?? addr ?? UNKNOWN;
}

/** Each `%` letter and its value. Sorted (capitals first, as in ASCII). */
const EXPANSIONS = {
  A: (f: ExpansionFacts) => f.serverAddr ?? UNKNOWN,
  H: (f: ExpansionFacts) => hostInfo(f.serverName, f.serverAddr),
  N: (f: ExpansionFacts) => f.serverName ?? UNKNOWN,
  a: (f: ExpansionFacts) => f.clientAddr ?? UNKNOWN,
  // The client's user is never known (no ident lookups: rfc931 is a no-op), so %c is %h.
  c: (f: ExpansionFacts) => hostInfo(f.clientName, f.clientAddr),
  d: (f: ExpansionFacts) => f.daemon,
  h: (f: ExpansionFacts) => hostInfo(f.clientName, f.clientAddr),
  n: (f: ExpansionFacts) => f.clientName ?? (f.nameMismatch ? 'paranoid' : UNKNOWN),
  p: (f: ExpansionFacts) => String(f.pid),
  s: (f: ExpansionFacts) => ((f.serverName ?? f.serverAddr) !== null ? `${f.daemon}@${hostInfo(f.serverName, f.serverAddr)}` : f.daemon),
  u: () => UNKNOWN,
} as const satisfies Record<string, (f: ExpansionFacts) => string>;

/** Characters an expansion may keep: libwrap's ok_chars. Everything else becomes `_`. */
const UNSAFE = /[^0-9A-Za-z!@%\-_=+:,./]/g;

/** An expansion's value with every character a shell could act on replaced by `_`. */
export function shellSafe(value: string): string {
  return value.replace(UNSAFE, '_');
}

/** The `%x` sequences in `text` that are not expansions (`%` at the end included), for errors. */
export function unknownExpansions(text: string): string[] {
  const bad: string[] = [];
  for (const m of text.matchAll(/%(.?)/gs)) {
    const letter = m[1] ?? '';
    if (letter !== '%' && !Object.hasOwn(EXPANSIONS, letter)) bad.push(m[0]);
  }
  return bad;
}

/**
 * Replaces each `%x` of `text` by its value made shell-safe, and `%%` by `%`. An unknown `%x`
 * expands to nothing, as in libwrap; parsers reject those first (unknownExpansions).
 */
export function percentExpand(text: string, facts: ExpansionFacts): string {
  return text.replace(/%(.?)/gs, (_all, letter: string) => {
    if (letter === '%') return '%';
    const value = Object.hasOwn(EXPANSIONS, letter) ? EXPANSIONS[letter as keyof typeof EXPANSIONS](facts) : '';
    return shellSafe(value);
  });
}
