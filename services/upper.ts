#!/usr/bin/env node
// upper: a line-oriented conversation. Reads lines until the client closes and answers each
// with the same line in upper case, ended as the client ended it (CR LF or LF). Stops after
// 1 MiB of input in all, as if the client had closed there: a handler must bound what one
// client can make it do.
//
// Wiring, in inetd.conf (the server path may be relative to the config file's directory):
//   ninetd-upper  stream  tcp  nowait  -  ../dist/services/upper.js  upper
//
// It reads and writes through process.stdin and process.stdout rather than fs.readSync: those
// streams work whether fd 0 is a blocking socket (as inetd gives it), a non-blocking one, a pipe
// or a terminal, so the same program can be tried by hand (`printf 'a\nb\n' | upper.js`). The
// process is never exit()ed: it ends when its streams are done, so every answer is flushed.
// Lines are decoded as UTF-8; bytes that are not UTF-8 come back as U+FFFD.

/** Input bytes served before we stop reading. */
const LIMIT = 1024 * 1024;
const LF = 0x0a;
const CR = 0x0d;

const input = process.stdin;
const output = process.stdout;
let pending: Buffer = Buffer.alloc(0);
let total = 0;
let done = false;

/** The answer to one line: upper case, with the line's own ending. */
function answer(line: Buffer, ending: string): string {
  return line.toString('utf8').toUpperCase() + ending;
}

/** Answers every complete line in `pending`, keeping a trailing partial line for later. */
function answerLines(): void {
  let start = 0;
  for (let nl = pending.indexOf(LF, start); nl !== -1; nl = pending.indexOf(LF, start)) {
    const crlf = nl > start && pending[nl - 1] === CR;
    const ok = output.write(answer(pending.subarray(start, crlf ? nl - 1 : nl), crlf ? '\r\n' : '\n'));
    start = nl + 1;
    // A client that sends faster than it reads must not make us buffer without bound.
    if (!ok && !done) {
      input.pause();
      output.once('drain', () => done || input.resume());
    }
  }
  pending = pending.subarray(start);
}

/** End of input (real or at the limit): answer a last line that had no ending, then stop reading. */
function finish(): void {
  if (done) return;
  done = true;
  if (pending.length > 0) output.write(answer(pending, ''));
  pending = Buffer.alloc(0);
  input.destroy();
}

input.on('data', (chunk: Buffer) => {
  if (done) return;
  const room = LIMIT - total;
  const take = chunk.length > room ? chunk.subarray(0, room) : chunk;
  total += take.length;
  pending = pending.length ? Buffer.concat([pending, take]) : take;
  answerLines();
  if (total >= LIMIT) finish();
});
input.on('end', finish);
// A reset from the client ends the conversation like a close; there is no one left to tell.
input.on('error', finish);
output.on('error', () => {
  done = true;
  input.destroy();
});
