// Decides whether an internal UDP service may answer a datagram: the reflection-loop defence of
// FreeBSD inetd (`check_loop`: the source is one of our own internal UDP ports) and OpenBSD inetd
// (`dg_badinput`: privileged source ports, broadcast, multicast, unspecified sources). Pure.
import type { SockAddr } from '../net/native.js';

/** Why a datagram from `from` must be dropped, or null to answer it. */
export function badDatagramSource(from: SockAddr, internalPorts: ReadonlySet<number>, allowLoopback: boolean): string | null {
  if (from.family === 'unix') return null;
  // Two internal services answering each other would ping-pong forever.
  if (internalPorts.has(from.port)) return 'loop';
  // Privileged ports belong to servers, not clients: a reply there can only feed another service.
  if (from.port < 1024) return 'privileged source port';
  let addr = from.address.toLowerCase();
  if (from.family === 'IPv6') {
    if (addr.startsWith('::ffff:') && addr.includes('.')) addr = addr.slice(7);
    else return badIPv6(addr, allowLoopback);
  }
  return badIPv4(addr, allowLoopback);
}

function badIPv4(addr: string, allowLoopback: boolean): string | null {
  const first = Number(addr.split('.')[0]);
  if (first === 0) return 'unspecified source';
  if (first >= 224 && first <= 239) return 'multicast source';
  if (first === 255) return 'broadcast source';
  if (first === 127 && !allowLoopback) return 'loopback source';
  return null;
}

function badIPv6(addr: string, allowLoopback: boolean): string | null {
  if (addr === '::') return 'unspecified source';
  if (addr.startsWith('ff')) return 'multicast source';
  if (addr === '::1' && !allowLoopback) return 'loopback source';
  // IPv4-compatible (deprecated) addresses carry no real IPv6 peer.
  if (/^::\d+\.\d+\.\d+\.\d+$/.test(addr)) return 'ipv4-compatible source';
  return null;
}
