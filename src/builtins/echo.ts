// echo, RFC 862: send back every byte received. Stream: until the client closes; datagram: each
// datagram goes back to its sender (the reflection checks are dispatch's job, not ours).
import type { Builtin } from './table.js';

/** The echo service. */
export const echo: Builtin = {
  stream(sock) {
    // A reset or broken pipe only ends this connection; the supervisor must never see it thrown.
    sock.on('error', () => sock.destroy());
    // pipe() pauses reading while the write side is full, so a client that sends without reading
    // cannot make us buffer without bound; it ends our side once the client's side has ended.
    sock.pipe(sock);
  },
  dgram(msg) {
    // The caller reuses its receive buffer for the next datagram: the reply must own its bytes.
    return Buffer.from(msg);
  },
};
