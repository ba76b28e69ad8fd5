// Decides whether an internal UDP service may answer a datagram: the reflection-loop defence of
// FreeBSD inetd (`check_loop`: the source is one of our own internal UDP ports) and OpenBSD inetd
// (`dg_badinput`: privileged source ports, broadcast, multicast, unspecified sources).
//
// The decision is written once, as a table made here whenever the internal ports change: a
// reason byte per source port, then address rules tried in order (IPv4 as ::ffff:a.b.c.d), the
// first match deciding. The event loop's path reads it with dropReason; the addon's datagram
// path (src/native/dgram.c) reads the same bytes, so neither holds a rule of its own.

/** Why a datagram is not answered; index 0 (answer it) is never reported. */
export const DROP_REASONS = [
  null,
  'loop',
  'privileged source port',
  'unspecified source',
  'multicast source',
  'broadcast source',
  'loopback source',
  'ipv4-compatible source',
] as const;
export type DropReason = Exclude<(typeof DROP_REASONS)[number], null>;

/** The table's layout, which dgram.c repeats: a byte per port, then RULES rules of 16 address bytes, a prefix length and a reason. */
const PORTS = 65536;
const RULE_BYTES = 18;
const RULES = 8;
const GUARD_BYTES = PORTS + RULES * RULE_BYTES;

const reason = (r: DropReason | null): number => DROP_REASONS.indexOf(r);
/** The 16 bytes of ::ffff:a.0.0.0. */
const v4 = (a: number): number[] => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, 0, 0, 0];
const v6 = (...head: number[]): number[] => [...head, ...new Array<number>(16 - head.length).fill(0)];

/** The address rules, in order; a loopback source is answered when `allowLoopback`. */
function rules(allowLoopback: boolean): Array<[bytes: number[], bits: number, why: DropReason | null]> {
  const loopback = allowLoopback ? null : 'loopback source';
  return [
    [v4(0), 96 + 8, 'unspecified source'],
    [v4(224), 96 + 4, 'multicast source'],
    [v4(255), 96 + 8, 'broadcast source'],
    [v4(127), 96 + 8, loopback],
    [v6(0xff), 8, 'multicast source'],
    [v6(), 128, 'unspecified source'],
    [v6(...new Array<number>(15).fill(0), 1), 128, loopback],
    // IPv4-compatible (deprecated) addresses, ::a.b.c.d, carry no real IPv6 peer.
    [v6(), 96, 'ipv4-compatible source'],
  ];
}

/**
 * Writes the table into `into` (GUARD_BYTES; rewritten in place, so that every reader sees the
 * new ports at once) and returns it. Two internal services answering each other would
 * ping-pong forever; privileged ports belong to servers, whom a reply could only feed.
 */
export function guardTable(internalPorts: Iterable<number>, allowLoopback: boolean, into: Buffer = Buffer.alloc(GUARD_BYTES)): Buffer {
  into.fill(reason('privileged source port'), 0, 1024);
  into.fill(0, 1024, PORTS);
  for (const port of internalPorts) into[port] = reason('loop');
  rules(allowLoopback).forEach(([bytes, bits, why], i) => {
    const at = PORTS + i * RULE_BYTES;
    into.set(bytes, at);
    into[at + 16] = bits;
    into[at + 17] = reason(why);
  });
  return into;
}

/** Adds one internal port to a table already made (a service bound after it was). */
export function guardPort(table: Buffer, port: number): void {
  table[port] = reason('loop');
}

/** Byte `i` of the sender's address as IPv6: an IPv4 address (4 bytes) is read as ::ffff:a.b.c.d. */
function byteAt(addr: Uint8Array, i: number): number {
  if (addr.length === 16) return addr[i]!;
  return i < 10 ? 0 : i < 12 ? 0xff : addr[i - 12]!;
}

/** Why the table says a datagram from `addr` (4 or 16 bytes) port `port` must be dropped, or null to answer it. */
export function dropReason(table: Uint8Array, addr: Uint8Array, port: number): DropReason | null {
  const byPort = table[port]!;
  if (byPort !== 0) return DROP_REASONS[byPort] ?? 'loop';
  for (let r = 0; r < RULES; r++) {
    const at = PORTS + r * RULE_BYTES;
    const bits = table[at + 16]!;
    let i = 0;
    for (; i < bits >> 3; i++) if (byteAt(addr, i) !== table[at + i]) break;
    if (i < bits >> 3) continue;
    const rest = bits & 7;
    if (rest && (byteAt(addr, i) ^ table[at + i]!) >> (8 - rest)) continue;
    const why = table[at + 17]!;
    return why === 0 ? null : (DROP_REASONS[why] ?? 'loop');
  }
  return null;
}
