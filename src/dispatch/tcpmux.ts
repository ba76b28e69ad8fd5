// The tcpmux multiplexer (RFC 1078) on an admitted connection: read the client's service-name
// line without reading a byte past it (one byte per read: the rest belongs to the service), then
// hand the connection to that tcpmux sub-service, answer HELP with the sub-service names, or
// refuse with "-". The multiplexer's slot is held while the line is read. Sub-services admit
// under their own rules (Service.acceptMuxed).
import type { ClientAddress } from '../addr/client.js';
import type { ClientName } from '../access/gate.js';
import * as native from '../native/index.js';
import type { ServiceCore } from './core.js';
import { closeAfterReply, sendQuietly } from './reply.js';
import type { Slot } from './slot.js';

/** Longest service name in a request line, CR LF not counted (as inetutils' inetd reads it). */
const NAME_MAX = 256;
/** How long the multiplexer waits for the request line. */
const LINE_TIMEOUT_MS = 30_000;

/** Reads the request line on `fd` and serves it. */
export function serveTcpmux(svc: ServiceCore, fd: number, client: ClientAddress, slot: Slot, name?: ClientName): void {
  const byte = Buffer.alloc(1);
  let line = '';
  const stopReading = (): void => {
    svc.host.timers.clear(timer);
    poller.close();
    slot.release();
  };
  /** Ends the exchange with `reply` (or none); `refused` says why, at debug, when the client is not served. */
  const finish = (reply: string | null, refused?: string): void => {
    stopReading();
    if (refused) svc.log.debug({ peer: client.text, reason: refused }, 'tcpmux refused');
    if (reply) sendQuietly(fd, Buffer.from(reply));
    closeAfterReply(fd, svc.scratch());
  };
  const answer = (request: string): void => {
    const wanted = request.trim().toLowerCase();
    if (wanted === 'help') return finish(svc.peers.tcpmuxNames().map((n) => `${n}\r\n`).join(''));
    const sub = svc.peers.tcpmux(wanted);
    if (!sub) return finish('-Service not available\r\n', `no tcpmux service "${wanted}"`);
    stopReading();
    // The Poller made the socket non-blocking; the handler must get it blocking.
    native.setNonBlocking(fd, false);
    if (!sub.acceptMuxed(fd, client, name)) {
      sendQuietly(fd, Buffer.from('-Service not available\r\n'));
      closeAfterReply(fd, svc.scratch());
    }
  };
  const poller = svc.host.poller(fd, (err) => {
    if (err) return finish(null, `read failed (${err.code})`);
    for (;;) {
      let r;
      try {
        r = native.recvfrom(fd, byte);
      } catch (e) {
        return finish(null, `read failed (${(e as NodeJS.ErrnoException).code})`);
      }
      if (!r) return; // more to come
      if (r.bytes === 0) return finish(null, 'the client left before its request line ended');
      if (byte[0] === 0x0a) return answer(line.replace(/\r$/, ''));
      line += String.fromCharCode(byte[0]!);
      // A CR that may end the line is not part of the name.
      if (line.length - (line.endsWith('\r') ? 1 : 0) > NAME_MAX) return finish('-Request too long\r\n', `request line longer than ${NAME_MAX} characters`);
    }
  });
  const timer = svc.host.timers.set(() => finish(null, `no request line within ${LINE_TIMEOUT_MS / 1000} s`), LINE_TIMEOUT_MS);
  poller.start();
}
