// The internal services as a table: name → implementation, and the contract each one keeps.
// It does not decide which services a config may name (names.ts does) nor bind or accept
// anything (dispatch/ hands each builtin a connected socket or one datagram).
import type { Socket } from 'node:net';
import { chargen } from './chargen.js';
import { daytime } from './daytime.js';
import { discard } from './discard.js';
import { echo } from './echo.js';
import type { BuiltinName } from './names.js';
import { time } from './time.js';

/** One internal service, for stream connections and for datagrams. */
export interface Builtin {
  /** Serves one stream connection; the socket is already connected. Must end/destroy it when done and never throw; errors (EPIPE, ECONNRESET) just end the connection. */
  stream(sock: Socket, now: () => Date): void;
  /**
   * For one-shot services (daytime, time): the whole stream reply. Dispatch then writes it and
   * closes, as the BSD inetds do, without building a stream object for the connection.
   */
  once?(now: () => Date): Buffer;
  /** Reply to one datagram, or null for no reply. Pure. */
  dgram(msg: Buffer, now: () => Date): Buffer | null;
}

/**
 * Internal service name → implementation. Sorted by name; keys match `BUILTIN_NAMES` but for
 * tcpmux, which hands connections to other services and so lives in dispatch.
 */
export const BUILTINS = {
  chargen,
  daytime,
  discard,
  echo,
  time,
} as const satisfies Record<Exclude<BuiltinName, 'tcpmux'>, Builtin>;
