// Short replies on a fresh connection (banners, "+Go", refusals, one-shot builtins) and the close
// that follows them. Written without waiting, so a client that never reads stalls nobody; closed
// after draining what the client sent, so the close is a FIN and not a reset that could destroy
// the reply before the client reads it.
import * as native from '../native/index.js';

/** Reads at most this many buffers of queued input before closing. */
const DRAIN_READS = 16;

/**
 * Writes `data` without waiting: what does not fit in the socket's send buffer is cut. A client
 * already gone misses it.
 */
export function sendQuietly(fd: number, data: Buffer): void {
  try {
    native.send(fd, data);
  } catch {
    // EAGAIN, EPIPE, ECONNRESET: the client gets what fitted, or nothing
  }
}

/** Closes a connection after reading (into `scratch`) what the client already sent. */
export function closeAfterReply(fd: number, scratch: Buffer): void {
  for (let i = 0; i < DRAIN_READS && drain(fd, scratch); i++);
  native.close(fd);
}

/** Reads and drops what is queued on `fd` without waiting; false when nothing more is there. */
function drain(fd: number, buf: Buffer): boolean {
  try {
    const r = native.recvfrom(fd, buf);
    return r !== null && r.bytes > 0;
  } catch {
    return false;
  }
}
