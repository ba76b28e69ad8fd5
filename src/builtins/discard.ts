// discard, RFC 863: read and throw away everything. Stream: until the client closes, never
// sending a byte; datagram: no reply.
import type { Builtin } from './table.js';

/** The discard service. */
export const discard: Builtin = {
  // The pump reads and drops, which keeps the client's writes flowing, and closes when it closes.
  stream: { kind: 'discard' },
  dgram() {
    return null;
  },
};
