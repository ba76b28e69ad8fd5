// time, RFC 868: tell the time as a 32-bit big-endian count of seconds since 1900-01-01 00:00
// UTC. Stream: send the 4 bytes on connect, then close; datagram: reply to any datagram (usually
// empty) with the 4 bytes. The count wraps on 2036-02-07 06:28:16 UTC; we send it modulo 2^32,
// which is what every implementation does and what clients aware of era 1 expect.
import type { Builtin } from './table.js';

/** Seconds from 1900-01-01 to 1970-01-01, both 00:00 UTC (70 years, 17 of them leap years). */
export const EPOCH_OFFSET = 2_208_988_800;
const TWO_32 = 2 ** 32;

/** The time reply for `d`: (Unix seconds + 2208988800) mod 2^32, big-endian. */
export function timeBytes(d: Date): Buffer {
  const seconds = Math.floor(d.getTime() / 1000) + EPOCH_OFFSET;
  const out = Buffer.alloc(4);
  // The double modulo keeps dates before 1900 in range too, instead of throwing in writeUInt32BE.
  out.writeUInt32BE(((seconds % TWO_32) + TWO_32) % TWO_32);
  return out;
}

/** The time service. */
export const time: Builtin = {
  stream: {
    kind: 'once',
    reply: (now) => timeBytes(now()),
  },
  dgram(_msg, now) {
    return timeBytes(now());
  },
};
