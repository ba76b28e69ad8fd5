// Decides whether an internal UDP service may answer a datagram: the reflection-loop defence of
// FreeBSD inetd (`check_loop`: the source is one of our own internal UDP ports) and OpenBSD inetd
// (`dg_badinput`: privileged source ports, broadcast, multicast, unspecified sources). Pure, and
// on the address bytes the kernel gave, since it runs for every datagram.
import { isV4Mapped } from '../net/sockaddr.js';

/** Why a datagram from `addr` (4 or 16 bytes) port `port` must be dropped, or null to answer it. */
export function badDatagramSource(family: 4 | 6, addr: Uint8Array, port: number, internalPorts: ReadonlySet<number>, allowLoopback: boolean): string | null {
  // Two internal services answering each other would ping-pong forever.
  if (internalPorts.has(port)) return 'loop';
  // Privileged ports belong to servers, not clients: a reply there can only feed another service.
  if (port < 1024) return 'privileged source port';
  if (family === 4) return badIPv4(addr[0]!, allowLoopback);
  if (isV4Mapped(addr)) return badIPv4(addr[12]!, allowLoopback);
  return badIPv6(addr, allowLoopback);
}

function badIPv4(first: number, allowLoopback: boolean): string | null {
  if (first === 0) return 'unspecified source';
  if (first >= 224 && first <= 239) return 'multicast source';
  if (first === 255) return 'broadcast source';
  if (first === 127 && !allowLoopback) return 'loopback source';
  return null;
}

function badIPv6(b: Uint8Array, allowLoopback: boolean): string | null {
  if (b[0] === 0xff) return 'multicast source';
  let zeros = 0; // leading zero bytes
  while (zeros < 16 && b[zeros] === 0) zeros += 1;
  if (zeros === 16) return 'unspecified source';
  if (zeros === 15 && b[15] === 1) return allowLoopback ? null : 'loopback source';
  // IPv4-compatible (deprecated) addresses, ::a.b.c.d, carry no real IPv6 peer.
  if (zeros >= 12) return 'ipv4-compatible source';
  return null;
}
