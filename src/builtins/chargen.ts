// chargen, RFC 864: the character generator. Stream: send the line pattern nonstop, ignoring
// input, until the client closes; datagram: reply with one line. The pattern is the 95 printable
// ASCII characters (0x20–0x7E) as a ring; each line holds 72 of them, starting one character
// later than the line before, and ends with CR LF (74 bytes). After 95 lines it repeats.
import type { Builtin } from './table.js';

/** Characters of text in one line, as in FreeBSD's LINESIZ. */
const LINE_CHARS = 72;
/** Bytes of one line on the wire: the text plus CR LF. */
export const CHARGEN_LINE_BYTES = LINE_CHARS + 2;
/** Printable ASCII, 0x20 through 0x7E. */
const RING = Buffer.from(Array.from({ length: 0x7f - 0x20 }, (_, i) => 0x20 + i));
/** Lines before the pattern repeats: one per starting character. */
export const CHARGEN_LINES = RING.length;

/** Line `i` of the pattern (0-based, any integer; the pattern repeats every 95 lines), with CR LF. */
export function chargenLine(i: number): Buffer {
  const start = ((i % CHARGEN_LINES) + CHARGEN_LINES) % CHARGEN_LINES;
  const line = Buffer.alloc(CHARGEN_LINE_BYTES);
  for (let k = 0; k < LINE_CHARS; k++) line[k] = RING[(start + k) % RING.length]!;
  line[LINE_CHARS] = 0x0d;
  line[LINE_CHARS + 1] = 0x0a;
  return line;
}

/** One full cycle of the pattern, lines 0 to 94 (7030 bytes); writing it repeatedly is the stream. */
export const CHARGEN_CYCLE: Buffer = Buffer.concat(Array.from({ length: CHARGEN_LINES }, (_, i) => chargenLine(i)));

/** The chargen service. */
export const chargen: Builtin = {
  // The pump sends the cycle over and over, unbroken across sends, only while the client reads,
  // and reads (and drops) input so that the client's close is seen.
  stream: { kind: 'generate', pattern: CHARGEN_CYCLE },
  dgram() {
    // RFC 864 suggests a random length up to 512; FreeBSD always sends the first line, and a
    // predictable answer is easier to test and no easier to abuse.
    return chargenLine(0);
  },
};
