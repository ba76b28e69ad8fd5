// echo, RFC 862: send back every byte received. Stream: until the client closes; datagram: each
// datagram goes back to its sender (the reflection checks are dispatch's job, not ours).
import type { Builtin } from './table.js';

/** The echo service. */
export const echo: Builtin = {
  // The pump stops reading while what it read cannot be sent (a client that sends without
  // reading makes us hold one chunk at most), and closes once the client has closed its side.
  stream: { kind: 'echo' },
  dgram(msg) {
    // The caller sends the reply before it reads into that buffer again.
    return msg;
  },
};
