// In-process stream services on an accepted connection (echo, discard, chargen, daytime, time):
// one-shot replies are written and the connection closed at once; the others run on a
// net.Socket adopted from the fd. The connection holds its slot until it closes. It does not
// admit (admission.ts) and does not implement the protocols (builtins/).
import { peerFields, type ClientAddress } from '../addr/client.js';
import { Socket } from 'node:net';
import type { BuiltinName } from '../builtins/names.js';
import { BUILTINS } from '../builtins/table.js';
import * as native from '../native/index.js';
import type { ServiceCore } from './core.js';
import { closeAfterReply, sendQuietly } from './reply.js';
import type { Slot } from './slot.js';

/** Serves one accepted connection in-process. */
export function serveInternal(svc: ServiceCore, fd: number, client: ClientAddress, slot: Slot): void {
  const builtin = BUILTINS[svc.plan.entry.builtin as Exclude<BuiltinName, 'tcpmux'>];
  const now = (): Date => new Date(svc.host.now());
  const t0 = svc.host.now();
  const done = (): void => {
    slot.release();
    if (svc.host.settings.logConnections) svc.log.info({ ...peerFields(client), ms: svc.host.now() - t0 }, 'connection');
  };
  if (builtin.once) {
    // The reply is a few bytes on a new connection: the write cannot block.
    sendQuietly(fd, builtin.once(now));
    closeAfterReply(fd, svc.scratch());
    return done();
  }
  let sock: Socket;
  try {
    sock = new Socket({ fd, readable: true, writable: true });
  } catch (err) {
    native.close(fd);
    slot.release();
    svc.log.error({ ...peerFields(client), err }, 'cannot adopt connection');
    return;
  }
  sock.on('error', () => sock.destroy());
  sock.once('close', done);
  builtin.stream(sock, now);
}
