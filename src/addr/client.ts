// The client of one connection or datagram, built once from the address the kernel gave (or, for
// a service behind load balancers, the address their PROXY header gave) and then used for
// everything: access rules, per-client limits, logs and the handler's environment. An IPv4 peer
// on a dual-stack socket (`::ffff:a.b.c.d`) is the IPv4 address it carries, everywhere. Pure; it
// resolves no names.
import { parseIp, type IpAddress } from '../access/address.js';
import type { SockAddr } from '../native/index.js';
import type { RawSockaddr } from '../net/sockaddr.js';

/** A connection's client. */
export interface ClientAddress {
  /** The address as the kernel reported it (UCSPI variables are written from it). */
  readonly sockaddr: SockAddr;
  /** Address text for rules and logs, v4-mapped IPv6 shown as IPv4; '' for a unix peer. */
  readonly ip: string;
  /** The address as a number, for address patterns; null for a unix peer. */
  readonly addr: IpAddress | null;
  /** Port; 0 for a unix peer. */
  readonly port: number;
  /** One key per address for per-client limits ('' for a unix peer, which has none). */
  readonly key: string;
  /** `192.0.2.1:51324`, `[2001:db8::1]:51324`, or the unix peer's path (`unix` when unnamed). */
  readonly text: string;
  /** The load balancer that relayed the connection with a PROXY header; absent for a direct one. */
  readonly proxy?: ProxyPath;
}

/** How a connection reached ninetd through a load balancer that sent a PROXY header. */
export interface ProxyPath {
  /** The balancer: the connection's TCP peer, which sent the header. */
  readonly balancer: ClientAddress;
  /** What the client connected to (the balancer's frontend), for TCPLOCALIP and TCPLOCALPORT; null when the header named none. */
  readonly destination: SockAddr | null;
  /** The handler's variables for it: PROXYREMOTEIP, PROXYREMOTEPORT and the TLVs' (net/proxy.ts). */
  readonly env: Readonly<Record<string, string>>;
}

/** An IPv4 address that reached a dual-stack socket, as plain IPv4; anything else unchanged. */
export function unmapAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** The key per-client limits count an address under: one per address, whatever its spelling. */
export function sourceKey(addr: IpAddress | null, ip: string): string {
  return addr ? `${addr.family}/${addr.value.toString(16)}` : ip;
}

/** The client of an accepted connection or a received datagram. */
export function clientAddress(a: SockAddr): ClientAddress {
  if (a.family === 'unix') return { sockaddr: a, ip: '', addr: null, port: 0, key: '', text: a.path || 'unix' };
  const ip = unmapAddress(a.address);
  const addr = parseIp(ip);
  const text = ip.includes(':') ? `[${ip}]:${a.port}` : `${ip}:${a.port}`;
  return { sockaddr: a, ip, addr, port: a.port, key: sourceKey(addr, ip), text };
}

/** The client a PROXY header named, which connected through `proxy.balancer`. */
export function proxiedClient(source: SockAddr, proxy: ProxyPath): ClientAddress {
  return { ...clientAddress(source), proxy };
}

/** The log keys that name a connection's client: `peer`, and `proxy` (the balancer) when it came through one. */
export function peerFields(c: ClientAddress | null): { peer: string; proxy?: string } {
  if (!c) return { peer: '' };
  return c.proxy ? { peer: c.text, proxy: c.proxy.balancer.text } : { peer: c.text };
}

/** The client of a datagram whose sender recvmmsgRaw left in `raw` (only built when needed). */
export function clientFromRaw(raw: RawSockaddr): ClientAddress {
  return clientAddress(raw.toSockAddr());
}
