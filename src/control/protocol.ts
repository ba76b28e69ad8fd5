// The control socket's protocol: one JSON request per line, one JSON reply per line. Requests
// are `{"cmd":"status"}`, `{"cmd":"reload"}` and `{"cmd":"diff","config":"/abs/path"}`; replies
// are `{"ok":true,…}` or `{"ok":false,"error":{"code":…,"message":…}}`. Pure: it frames lines
// (with a bound on their length), parses and checks requests, and encodes replies. It opens no
// socket (server.ts and client.ts do).
import type { Outcome } from './changes.js';
import type { DaemonSnapshot } from './snapshot.js';

/** Longest request line in bytes, newline excluded; requests are a few dozen bytes. */
export const MAX_REQUEST_BYTES = 4096;

/** Error codes of the control protocol (listed in docs/errors.md). Sorted. */
export const CONTROL_CODES = {
  /** Too many control connections at once. */
  busy: 'ERR_CONTROL_BUSY',
  /** The daemon failed to answer (a bug, or it is stopping). */
  failed: 'ERR_CONTROL_FAILED',
  /** The peer's uid is not the socket's owner. */
  peer: 'ERR_CONTROL_PEER',
  /** Not JSON, not an object, an unknown command or a bad argument. */
  request: 'ERR_CONTROL_REQUEST',
  /** No whole request line arrived in time. */
  timeout: 'ERR_CONTROL_TIMEOUT',
  /** A request line longer than MAX_REQUEST_BYTES. */
  tooLong: 'ERR_CONTROL_TOO_LONG',
} as const;
export type ControlCode = (typeof CONTROL_CODES)[keyof typeof CONTROL_CODES];

/** A request, checked. */
export type Request = { cmd: 'status' } | { cmd: 'reload' } | { cmd: 'diff'; config?: string };

/** The commands and the arguments each allows. Sorted. */
const COMMANDS = { diff: ['config'], reload: [], status: [] } as const satisfies Record<Request['cmd'], readonly string[]>;

/** A reply that says what went wrong. */
export interface ErrorReply {
  ok: false;
  error: { code: ControlCode; message: string };
}

/** A reply. */
export type Reply = { ok: true; status: DaemonSnapshot } | { ok: true; reload: Outcome } | { ok: true; diff: Outcome } | ErrorReply;

/** An error reply. */
export function errorReply(code: ControlCode, message: string): ErrorReply {
  return { ok: false, error: { code, message } };
}

/** A reply as the line sent for it. */
export function encodeReply(r: Reply): string {
  return `${JSON.stringify(r)}\n`;
}

/** A request as the line sent for it. */
export function encodeRequest(r: Request): string {
  return `${JSON.stringify(r)}\n`;
}

/** Parses and checks one request line; an ErrorReply says why it is not one. */
export function parseRequest(line: string): Request | ErrorReply {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return errorReply(CONTROL_CODES.request, 'request is not JSON (expected one object per line, such as {"cmd":"status"})');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return errorReply(CONTROL_CODES.request, 'request is not a JSON object (expected {"cmd":…})');
  const o = v as Record<string, unknown>;
  const cmd = o.cmd;
  const names = Object.keys(COMMANDS);
  if (typeof cmd !== 'string' || !Object.hasOwn(COMMANDS, cmd)) {
    return errorReply(CONTROL_CODES.request, `unknown command ${JSON.stringify(cmd ?? null)} (expected ${names.join(', ')})`);
  }
  const allowed: readonly string[] = COMMANDS[cmd as Request['cmd']];
  const extra = Object.keys(o).find((k) => k !== 'cmd' && !allowed.includes(k));
  if (extra !== undefined) return errorReply(CONTROL_CODES.request, `"${cmd}" takes no argument "${extra}"`);
  if (cmd === 'diff') {
    const config = o.config;
    if (config === undefined) return { cmd };
    if (typeof config !== 'string' || !config.startsWith('/')) return errorReply(CONTROL_CODES.request, '"config" must be an absolute path');
    return { cmd, config };
  }
  return { cmd: cmd as 'status' | 'reload' };
}

/**
 * Splits a byte stream into lines, holding at most MAX_REQUEST_BYTES of an unfinished one. Bytes
 * are kept as bytes until a line is whole, so a character split across reads stays whole.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private size = 0;

  /** Takes `chunk`; returns the whole lines it completed, or 'overflow' once a line is too long. */
  push(chunk: Buffer): string[] | 'overflow' {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const part = chunk.subarray(start, nl);
      if (this.size + part.length > MAX_REQUEST_BYTES) return 'overflow';
      lines.push(Buffer.concat([...this.pending, part]).toString('utf8').replace(/\r$/, ''));
      this.pending = [];
      this.size = 0;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (this.size + rest.length > MAX_REQUEST_BYTES) return 'overflow';
    if (rest.length > 0) {
      this.pending.push(Buffer.from(rest));
      this.size += rest.length;
    }
    return lines;
  }
}
