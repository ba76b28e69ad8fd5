// Splits one physical inetd.conf line into fields. Fields are separated by spaces and tabs; a
// field may contain "…" or '…' quoted parts, which keep their blanks and lose their quotes (as
// FreeBSD's skip() does), so `sh -c 'echo hi'` is three fields. It does not decide what a field
// means, recognise comments, or join continuation lines: parse.ts does that, line by line, so a
// quote can never run on into the next line.

/** Fields of one line, or why the line cannot be split. */
export type SplitResult = { ok: true; fields: string[] } | { ok: false; code: 'ERR_CONFIG_QUOTE'; message: string };

/** Field separators. inetd has always meant exactly space and tab. */
const BLANKS = new Set([' ', '\t']);
const QUOTES = new Set(['"', "'"]);

/** Splits `line` (no newline) into fields, removing quotes; an unclosed quote is an error. */
export function splitFields(line: string): SplitResult {
  const fields: string[] = [];
  let field = '';
  // A field exists once a character or a quote pair was seen: `""` is an empty argument.
  let inField = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (BLANKS.has(c)) {
      if (inField) fields.push(field);
      field = '';
      inField = false;
      i += 1;
    } else if (QUOTES.has(c)) {
      const close = line.indexOf(c, i + 1);
      if (close < 0) {
        const rest = line.slice(i);
        return { ok: false, code: 'ERR_CONFIG_QUOTE', message: `unterminated quote "${rest}" (expected a closing ${c} on the same line)` };
      }
      field += line.slice(i + 1, close);
      inField = true;
      i = close + 1;
    } else {
      field += c;
      inField = true;
      i += 1;
    }
  }
  if (inField) fields.push(field);
  return { ok: true, fields };
}

/** True when the line holds nothing but blanks. */
export function isBlank(line: string): boolean {
  for (const c of line) if (!BLANKS.has(c)) return false;
  return true;
}

/** True when the line starts with a blank: in inetd.conf that continues the previous entry. */
export function startsWithBlank(line: string): boolean {
  return line.length > 0 && BLANKS.has(line[0]!);
}
