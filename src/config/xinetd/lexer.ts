// Splits the text of one xinetd.conf(5) file into statements: `defaults`, `service NAME`,
// `include FILE`, `includedir DIR`, the `{` and `}` lines around an entry, and the
// `attribute OP value …` lines inside it. Line based, as xinetd reads it: a line whose first
// non-blank character is `#` is a comment, values are separated by blanks and never quoted, and
// `{` and `}` stand alone on their lines. It does not know what an attribute means (attributes.ts)
// nor follow includes (read.ts). Pure; never throws.

/** The assignment operators of an attribute line. */
export const OPERATORS = { '+=': 'add', '-=': 'remove', '=': 'set' } as const;
export type Operator = (typeof OPERATORS)[keyof typeof OPERATORS];

/** One statement and the line it is on. */
export type Statement =
  | { readonly kind: 'defaults'; readonly line: number }
  | { readonly kind: 'service'; readonly name: string; readonly line: number }
  | { readonly kind: 'include' | 'includedir'; readonly path: string; readonly line: number }
  | { readonly kind: 'open' | 'close'; readonly line: number }
  | { readonly kind: 'attribute'; readonly name: string; readonly op: Operator; readonly values: string[]; readonly line: number }
  /** A line that is none of the above; `message` says what was expected. */
  | { readonly kind: 'bad'; readonly message: string; readonly line: number };

/** Keywords that open a top-level statement, with how many words follow them. Sorted. */
const KEYWORDS = { defaults: 0, include: 1, includedir: 1, service: 1 } as const;

/** Blanks between words: xinetd splits on space and tab. */
const BLANKS = /[ \t]+/;

/** Looks a keyword up in an `as const` table; undefined when absent (never inherited keys). */
function lookup<T extends object>(table: T, key: string): T[keyof T] | undefined {
  return Object.hasOwn(table, key) ? table[key as keyof T] : undefined;
}

/** An attribute line `name OP values…`; xinetd wants a blank between the name and the operator. */
function attribute(text: string, line: number): Statement {
  const m = /^([^\s=+-][^\s=]*?)([ \t]+)(\+=|-=|=)(.*)$/.exec(text);
  if (!m) {
    const glued = /^([^\s=]+)(\+?=|-=)/.exec(text);
    if (glued) return { kind: 'bad', line, message: `attribute "${glued[1]}" needs a blank before "${glued[2]}" (expected ${glued[1]} ${glued[2]} value)` };
    return { kind: 'bad', line, message: `bad line "${text}" (expected attribute = value, attribute += value, attribute -= value or })` };
  }
  const [, name, , op, rest] = m as unknown as [string, string, string, keyof typeof OPERATORS, string];
  return { kind: 'attribute', name, op: OPERATORS[op], values: rest.split(BLANKS).filter(Boolean), line };
}

/** The statements of `text`; `inEntry` tells attribute lines from top-level ones as xinetd does. */
export function lex(text: string): Statement[] {
  const out: Statement[] = [];
  let inEntry = false;
  for (const [index, raw] of text.replace(/^\uFEFF/, '').split('\n').entries()) {
    const line = index + 1;
    const trimmed = raw.replace(/\r$/, '').trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (trimmed === '{') {
      out.push({ kind: 'open', line });
      inEntry = true;
      continue;
    }
    if (trimmed === '}') {
      out.push({ kind: 'close', line });
      inEntry = false;
      continue;
    }
    if (inEntry) {
      out.push(attribute(trimmed, line));
      continue;
    }
    const [word = '', ...rest] = trimmed.split(BLANKS);
    const arity = lookup(KEYWORDS, word);
    if (arity === undefined) {
      out.push({ kind: 'bad', line, message: `unknown statement "${word}" (expected defaults, service NAME, include FILE or includedir DIR)` });
      continue;
    }
    if (rest.length !== arity) {
      const want = arity === 0 ? word : `${word} ${word === 'service' ? 'NAME' : word === 'include' ? 'FILE' : 'DIR'}`;
      out.push({ kind: 'bad', line, message: `"${trimmed}" has ${rest.length} word${rest.length === 1 ? '' : 's'} after "${word}" (expected ${want})` });
      continue;
    }
    if (word === 'defaults') out.push({ kind: 'defaults', line });
    else if (word === 'service') out.push({ kind: 'service', name: rest[0]!, line });
    else out.push({ kind: word as 'include' | 'includedir', path: rest[0]!, line });
  }
  return out;
}

/** True when `text` reads as xinetd.conf: its first statement is defaults, service, include or includedir. */
export function looksLikeXinetd(text: string): boolean {
  for (const raw of text.replace(/^\uFEFF/, '').split('\n')) {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const words = trimmed.split(BLANKS);
    const arity = lookup(KEYWORDS, words[0]!);
    // An inetd.conf line has six fields or more (or is a lone `host:`), never one or two.
    return arity !== undefined && words.length === arity + 1;
  }
  return false;
}
