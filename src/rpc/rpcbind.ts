// The rpcbind protocol (RFC 1833) as ninetd speaks it: the SET and UNSET procedures of rpcbind
// versions 3/4 (an `rpcb` record with netid and universal address) and of portmapper version 2
// (a `mapping` with protocol number and port), and universal addresses. Pure: values in, XDR out.
// It does not open sockets (client.ts) or decide what to register (registry.ts).
import type { RpcNetid } from '../config/types.js';
import { XdrWriter, type XdrReader } from './xdr.js';

/** rpcbind's program, port and the procedures we call. SET and UNSET have the same numbers in all versions. */
export const RPCBIND = {
  program: 100000,
  port: 111,
  /** rpcbind versions spoken on the local socket, newest first: 4, then 3 on PROG_MISMATCH. */
  versions: [4, 3],
  /** Portmapper version of the UDP fallback. */
  portmapVersion: 2,
  set: 1,
  unset: 2,
} as const;

/** IP protocol number of a portmapper `mapping`; v2 knows only IPv4 tcp and udp. Sorted. */
export const PORTMAP_PROTOCOLS = { tcp: 6, udp: 17 } as const satisfies Partial<Record<RpcNetid, number>>;

/** One registration: program version `version` reachable over `netid` at the universal address `address`. */
export interface Registration {
  program: number;
  version: number;
  netid: RpcNetid;
  address: string;
}

/** Arguments of rpcbind v3/v4 SET and UNSET: `struct rpcb` (UNSET ignores the address). */
export function encodeRpcb(r: Registration, owner: string): Buffer {
  return new XdrWriter().u32(r.program).u32(r.version).string(r.netid).string(r.address).string(owner).toBuffer();
}

/** Arguments of portmapper v2 SET and UNSET: `struct mapping` (UNSET ignores protocol and port). */
export function encodeMapping(program: number, version: number, protocol: number, port: number): Buffer {
  return new XdrWriter().u32(program).u32(version).u32(protocol).u32(port).toBuffer();
}

/** The result of SET and UNSET: a bool in v3/v4, an int used as one in v2 (any non-zero is true). */
export function decodeSetResult(r: XdrReader): boolean {
  return r.u32() !== 0;
}

/** Host and port of a universal address (RFC 1833 §2.1): `h1.h2.h3.h4.p1.p2`, or the IPv6 text followed by `.p1.p2`. */
export function universalAddress(host: string, port: number): string {
  // A scope (`fe80::1%eth0`) has no place in a universal address.
  const bare = host.replace(/%.*$/, '');
  return `${bare}.${port >> 8}.${port & 0xff}`;
}

/**
 * The address to register for a socket bound to `host` (`*` for any address) of `family`, as
 * seen through `netid`: the wildcard of the netid's family for `*`, and for a dual-stack socket
 * bound to `::` the IPv4 wildcard under the IPv4 netid.
 */
export function registeredHost(host: string, netid: RpcNetid): string {
  const v6 = netid.endsWith('6');
  if (host === '*' || (host === '::' && !v6)) return v6 ? '::' : '0.0.0.0';
  return host;
}

