// discard, RFC 863: read and throw away everything. Stream: until the client closes, never
// sending a byte; datagram: no reply.
import type { Builtin } from './table.js';

/** The discard service. */
export const discard: Builtin = {
  stream(sock) {
    sock.on('error', () => sock.destroy());
    // Close our side as soon as the client has closed its own, whatever allowHalfOpen says.
    sock.on('end', () => sock.end());
    // Reading (and dropping) is what keeps the client's writes flowing and lets us see its close.
    sock.resume();
  },
  dgram() {
    return null;
  },
};
