// The internal services as a table: name → implementation, and the contract each one keeps.
// It does not decide which services a config may name (names.ts does) nor bind, accept or move
// bytes (dispatch/ serves stream connections as each builtin says, and hands it one datagram).
import { chargen } from './chargen.js';
import { daytime } from './daytime.js';
import { discard } from './discard.js';
import { echo } from './echo.js';
import type { BuiltinName } from './names.js';
import { time } from './time.js';

/** A stream connection served by the byte pump: echo, discard, or `pattern` sent over and over. */
export type PumpedStream = { readonly kind: 'echo' } | { readonly kind: 'discard' } | { readonly kind: 'generate'; readonly pattern: Buffer };

/**
 * How a stream connection is served: by the byte pump (echo, discard, or a pattern generated
 * over and over), or, for one-shot services, with one reply that dispatch writes before closing,
 * as the BSD inetds do.
 */
export type StreamService = PumpedStream | { readonly kind: 'once'; reply(now: () => Date): Buffer };

/** One internal service, for stream connections and for datagrams. */
export interface Builtin {
  readonly stream: StreamService;
  /** Reply to one datagram, or null for no reply; it may be `msg` itself (the caller sends it before reading into that buffer again). Pure. */
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
