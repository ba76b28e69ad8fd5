// wait services: on readiness the socket itself (listening, or datagram) goes to one handler,
// which holds it until it exits; the service watches nothing meanwhile. A refused datagram is
// read and dropped before any handler starts. It does not re-arm the socket (the service does,
// when the handler gives it back).
import { clientAddress } from '../addr/client.js';
import * as native from '../native/index.js';
import type { ServiceCore } from './core.js';
import { countRefusal } from './counters.js';
import { startHandler } from './handler.js';

/** Hands the service's socket to a new handler, unless the rate guard trips. */
export function handOver(svc: ServiceCore): void {
  if (svc.plan.entry.socketType === 'dgram' && droppedRefusedDatagram(svc)) return;
  svc.counters.connections += 1;
  if (svc.looping()) return countRefusal(svc.counters, 'rate');
  startHandler(svc, svc.fd, null, svc.slot(null), true);
}

/**
 * A wait datagram service with access rules: peek at the sender of the queued datagram; if it
 * is refused, read and drop that datagram (so the socket does not stay readable) and start
 * nothing. True when it dropped one.
 */
function droppedRefusedDatagram(svc: ServiceCore): boolean {
  const { access } = svc.plan;
  if (!access.only_from && !access.no_access && !svc.host.hosts) return false;
  const probe = Buffer.allocUnsafe(1);
  let r;
  try {
    r = native.recvfrom(svc.fd, probe, true);
  } catch {
    return false; // let the handler see whatever error is pending
  }
  if (!r || r.from.family === 'unix') return false;
  const client = clientAddress(r.from);
  const refusal = svc.refusal(client);
  if (!refusal) return false;
  try {
    native.recvfrom(svc.fd, probe);
  } catch {
    // gone already
  }
  countRefusal(svc.counters, refusal.reason);
  svc.log.info({ peer: client.text, rule: refusal.rule }, 'refused');
  return true;
}
