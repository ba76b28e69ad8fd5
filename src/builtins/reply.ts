// The stream half of the one-shot services (daytime, time): send one reply and close. It does
// not build the reply.
import type { Socket } from 'node:net';

/** How long we wait, after sending, for the client to close before closing on it. */
const CLOSE_WAIT_MS = 10_000;

/** Sends `data`, then closes the connection; input is read and dropped. */
export function replyAndClose(sock: Socket, data: string | Buffer): void {
  sock.on('error', () => sock.destroy());
  // Read and drop input: unread bytes at close would make the kernel send a reset, which can
  // destroy the reply before the client reads it.
  sock.resume();
  // end() sends the reply and then FIN; the socket is gone once the client closes too. A client
  // that never closes is not allowed to hold the connection open forever.
  sock.setTimeout(CLOSE_WAIT_MS, () => sock.destroy());
  sock.end(data);
}
