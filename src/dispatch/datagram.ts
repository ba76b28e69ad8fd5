// Internal datagram services (echo, discard, chargen, daytime, time over UDP or unix datagram
// sockets): read a burst of datagrams, check each sender, answer in-process; never forks.
// IPv4 and IPv6 senders stay the kernel's sockaddr (no object per datagram); a client address is
// built only when a rule or a log needs one.
import { clientAddress, clientFromRaw } from '../addr/client.js';
import { fileId } from '../files/file-id.js';
import type { BuiltinName } from '../builtins/names.js';
import { BUILTINS } from '../builtins/table.js';
import * as native from '../native/index.js';
import type { NativeError, SockAddr } from '../native/index.js';
import { RawSockaddr } from '../net/sockaddr.js';
import type { ServiceCore } from './core.js';
import { countRefusal } from './counters.js';
import { badDatagramSource } from './dgram-guard.js';


/** Datagrams read per readiness event before yielding to the event loop. */
const BURST = 32;

/** Reads, checks and answers up to BURST datagrams. */
export function serveDatagrams(svc: ServiceCore): void {
  const builtin = BUILTINS[svc.plan.entry.builtin as Exclude<BuiltinName, 'tcpmux'>];
  const buf = svc.scratch();
  const now = (): Date => new Date(svc.host.now());
  // One sender buffer per burst, reused for each of its datagrams.
  const raw = svc.plan.entry.family === 'unix' ? null : new RawSockaddr();
  for (let i = 0; i < BURST; i++) {
    let n: number | null;
    let unixFrom: SockAddr | null = null;
    try {
      if (raw) n = native.recvfromRaw(svc.fd, buf, raw.buf);
      else {
        const r = native.recvfrom(svc.fd, buf);
        n = r ? r.bytes : null;
        unixFrom = r ? r.from : null;
      }
    } catch (err) {
      if (svc.host.resources.ranOut(err as NativeError)) return;
      continue; // e.g. ECONNREFUSED left by an ICMP error: the next datagram is fine
    }
    if (n === null) return;
    svc.counters.connections += 1;
    if (raw && drops(svc, raw)) continue;
    if (unixFrom?.family === 'unix' && unixLoops(svc, unixFrom.path)) continue;
    const reply = builtin.dgram(buf.subarray(0, n), now);
    if (!reply) continue;
    try {
      if (raw) native.sendtoRaw(svc.fd, reply, raw.buf);
      // An unbound unix sender has no address to answer.
      else if (unixFrom?.family === 'unix' && unixFrom.path) native.sendto(svc.fd, reply, unixFrom);
    } catch {
      // a full send buffer or an unreachable peer loses this one reply only
    }
  }
}

/**
 * True (counted) when a unix sender must not be answered: its address is, or now leads to (a
 * symlink swapped in by a local user), the socket of an internal datagram service, which would
 * answer back for ever; or it has used up its reply budget, which stops any other ping-pong.
 * Logged once per episode.
 */
function unixLoops(svc: ServiceCore, path: string): boolean {
  if (!path || path.startsWith('@')) return false;
  const id = fileId(path);
  const own = id !== null && svc.peers.internalUnixSockets().has(id);
  const budget = svc.replyBudget();
  const now = svc.host.now();
  const verdict = own ? budget.refuse(path, now) : budget.take(path, now);
  if (verdict === 'ok') return false;
  svc.counters.drops += 1;
  if (verdict !== 'drop') svc.log.warn({ peer: path, reason: own ? 'sender is an internal service socket' : 'reply budget spent' }, 'datagram loop stopped');
  return true;
}

/** True (counted, and logged at debug) when an internal service must not answer this sender. */
function drops(svc: ServiceCore, from: RawSockaddr): boolean {
  const { access } = svc.plan;
  const refusal = access.only_from || access.no_access || svc.host.hosts ? svc.refusal(clientFromRaw(from)) : null;
  // Logged at debug only: a datagram flood must not become a log flood.
  if (refusal) {
    countRefusal(svc.counters, refusal.reason);
    if (svc.log.isLevelEnabled('debug')) svc.log.debug({ peer: clientFromRaw(from).text, rule: refusal.rule }, 'refused');
    return true;
  }
  const family = from.family === 4 ? 4 : 6;
  const why = badDatagramSource(family, from.addr, from.port, svc.peers.internalUdpPorts(), svc.host.settings.udpLoopback);
  if (!why) return false;
  svc.counters.drops += 1;
  if (svc.log.isLevelEnabled('debug')) svc.log.debug({ peer: clientAddress(from.toSockAddr()).text, reason: why }, 'datagram dropped');
  return true;
}
