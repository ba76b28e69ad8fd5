// Internal datagram services (echo, discard, chargen, daytime, time over UDP or unix datagram
// sockets): read a burst of datagrams, check each sender, answer in-process; never forks.
// IPv4 and IPv6 take a burst in one recvmmsg and answer it in one sendmmsg; their senders stay
// the kernel's sockaddr (no object per datagram), and a client address is built only when a rule
// or a log needs one. Echo and discard with nothing to decide per sender but the guard table are
// answered in the addon instead (FastDatagrams), without a turn of JavaScript per burst.
import { clientAddress, clientFromRaw } from '../addr/client.js';
import { fileId } from '../files/file-id.js';
import type { BuiltinName } from '../builtins/names.js';
import { BUILTINS } from '../builtins/table.js';
import * as native from '../native/index.js';
import type { DatagramPath, NativeError, Poller, SockAddr } from '../native/index.js';
import { RAW_SOCKADDR_BYTES, RawSockaddr } from '../net/sockaddr.js';
import type { ServiceCore } from './core.js';
import { countRefusal } from './counters.js';
import { dropReason } from './dgram-guard.js';


/** Datagrams read per readiness event before yielding to the event loop. */
const BURST = 32;
/** Bytes of each datagram slot: the largest UDP payload fits, as in the one-datagram receive. */
const SLOT_BYTES = 65536;

/**
 * The slots of one batch (datagrams, senders, lengths), shared by every internal datagram
 * service: a batch is read, answered and sent within one call. The datagram area is virtual
 * memory until used: a small datagram makes one page of its slot resident.
 */
class Batch {
  readonly bufs = Buffer.allocUnsafeSlow(BURST * SLOT_BYTES);
  readonly addrs = Buffer.alloc(BURST * RAW_SOCKADDR_BYTES);
  readonly lens = new Int32Array(BURST);
  readonly lensBuf = Buffer.from(this.lens.buffer);
  readonly from = Array.from({ length: BURST }, (_, i) => new RawSockaddr(this.addrs.subarray(i * RAW_SOCKADDR_BYTES, (i + 1) * RAW_SOCKADDR_BYTES)));
  readonly slots = Array.from({ length: BURST }, (_, i) => this.bufs.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES));
}
let batch: Batch | undefined;

/** The builtins the addon answers by itself, and how. */
const ADDON_MODES: Partial<Record<BuiltinName, (typeof native.DGRAM_MODES)[keyof typeof native.DGRAM_MODES]>> = native.DGRAM_MODES;

/**
 * Whether the service's datagrams are answered in the addon (Poller.serveDatagrams): internal
 * echo or discard over UDP, with nothing to decide per sender but the guard table: no address
 * rule or hosts file, and no debug record to write per dropped datagram. The decisions are the
 * same either way; the addon reads the table that dropReason reads.
 */
export function answeredInAddon(svc: Pick<ServiceCore, 'plan' | 'host' | 'log'>): boolean {
  const { entry: e, access } = svc.plan;
  if (svc.host.fastPath !== true || e.server !== 'internal' || e.socketType !== 'dgram' || e.transport !== 'udp') return false;
  if (!e.builtin || ADDON_MODES[e.builtin as BuiltinName] === undefined) return false;
  return !(access.only_from || access.no_access || svc.host.hosts) && !svc.log.isLevelEnabled('debug');
}

/**
 * A service's watch when the addon answers its datagrams: the Poller, and the counts it hands
 * back when asked (the snapshot) and at close. `onError` hears of the watch's own errors; a
 * receive error that means "out of resources" goes to the daemon's pause, as on the other path.
 */
export class FastDatagrams {
  private readonly poller: Poller & DatagramPath;

  constructor(
    private readonly svc: ServiceCore,
    fd: number,
    onError: (err: NativeError) => void,
  ) {
    this.poller = new native.Poller(fd, (err) => {
      if (err?.syscall === 'recvmmsg') svc.host.resources.ranOut(err);
      else if (err) onError(err);
    });
    try {
      this.poller.serveDatagrams(ADDON_MODES[svc.plan.entry.builtin as BuiltinName]!, svc.peers.datagramGuard());
    } catch (err) {
      this.poller.close();
      throw err;
    }
  }

  start(): void {
    this.poller.start();
  }

  stop(): void {
    this.poller.stop();
  }

  close(): void {
    this.drain();
    this.poller.close();
  }

  /** Adds what the addon counted since the last time to the service's counters. */
  drain(): void {
    const [read, dropped] = this.poller.takeCounts();
    this.svc.counters.connections += read;
    this.svc.counters.drops += dropped;
  }
}

/** Reads, checks and answers up to BURST datagrams. */
export function serveDatagrams(svc: ServiceCore): void {
  if (svc.plan.entry.family === 'unix') serveUnixDatagrams(svc);
  else serveInetDatagrams(svc);
}

/** IPv4 and IPv6: one recvmmsg and one sendmmsg for the whole burst. */
function serveInetDatagrams(svc: ServiceCore): void {
  const builtin = BUILTINS[svc.plan.entry.builtin as Exclude<BuiltinName, 'tcpmux'>];
  const now = (): Date => new Date(svc.host.now());
  const b = (batch ??= new Batch());
  const n = receiveBatch(svc, b);
  for (let i = 0; i < n; i++) {
    svc.counters.connections += 1;
    const len = b.lens[i]!;
    if (drops(svc, b.from[i]!)) {
      b.lens[i] = -1;
      continue;
    }
    const slot = b.slots[i]!;
    const msg = slot.subarray(0, len);
    const reply = builtin.dgram(msg, now);
    // The reply goes out from the datagram's own slot (echo's reply is the datagram itself).
    if (!reply || reply.length > SLOT_BYTES) b.lens[i] = -1;
    else {
      if (reply !== msg) reply.copy(slot);
      b.lens[i] = reply.length;
    }
  }
  try {
    native.sendmmsgRaw(svc.fd, b.bufs, SLOT_BYTES, b.addrs, b.lensBuf, n);
  } catch {
    // only a bad argument throws; a refused reply is lost alone
  }
}

/**
 * Reads a batch into `b`: the number of datagrams, 0 when none is queued. A receive error (e.g.
 * ECONNREFUSED left by an ICMP error) is the socket's, not the next datagram's: it reads again,
 * a bounded number of times.
 */
function receiveBatch(svc: ServiceCore, b: Batch): number {
  for (let tries = 0; tries < BURST; tries++) {
    try {
      return native.recvmmsgRaw(svc.fd, b.bufs, SLOT_BYTES, b.addrs, b.lensBuf) ?? 0;
    } catch (err) {
      if (svc.host.resources.ranOut(err as NativeError)) return 0;
    }
  }
  return 0;
}

/** Unix datagram sockets: a named sender is answered, one datagram at a time. */
function serveUnixDatagrams(svc: ServiceCore): void {
  const builtin = BUILTINS[svc.plan.entry.builtin as Exclude<BuiltinName, 'tcpmux'>];
  const buf = svc.scratch();
  const now = (): Date => new Date(svc.host.now());
  for (let i = 0; i < BURST; i++) {
    let r: { bytes: number; from: SockAddr } | null;
    try {
      r = native.recvfrom(svc.fd, buf);
    } catch (err) {
      if (svc.host.resources.ranOut(err as NativeError)) return;
      continue; // e.g. ECONNREFUSED left by an ICMP error: the next datagram is fine
    }
    if (r === null) return;
    svc.counters.connections += 1;
    const from = r.from;
    if (from.family === 'unix' && unixLoops(svc, from.path)) continue;
    const reply = builtin.dgram(buf.subarray(0, r.bytes), now);
    // An unbound unix sender has no address to answer.
    if (!reply || from.family !== 'unix' || !from.path) continue;
    try {
      native.sendto(svc.fd, reply, from);
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
  const why = dropReason(svc.peers.datagramGuard(), from.addr, from.port);
  if (!why) return false;
  svc.counters.drops += 1;
  if (svc.log.isLevelEnabled('debug')) svc.log.debug({ peer: clientAddress(from.toSockAddr()).text, reason: why }, 'datagram dropped');
  return true;
}
