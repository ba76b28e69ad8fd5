// Address patterns for access control: read a pattern once, then test client addresses against
// it. Both families: IPv4 and IPv6 literals (IPv6 also in brackets), CIDR `a.b.c.d/n` and
// `[v6]/n`, tcp_wrappers `net/mask` and tcp_wrappers prefixes (`192.168.` is 192.168.0.0/16).
// A v4-mapped IPv6 client (`::ffff:1.2.3.4`, what a dual-stack socket reports for an IPv4
// peer) is the IPv4 address it carries, so one IPv4 rule covers both kinds of socket.
//
// Pure: addresses are bigints, nothing is resolved. Host names, domains and the hosts_access
// keywords (ALL, LOCAL, …) are not address patterns; hosts-access.ts handles them. Unlike
// xinetd, trailing zeros are not wildcards: `10.0.0.0` is that one address, `10.0.0.0/8` the net.
import { isIPv4, isIPv6 } from 'node:net';
import { ipv6Text } from '../net/sockaddr.js';

/** An IP address as a number: 32 bits for family 4, 128 for 6; a v4-mapped IPv6 is family 4. */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** The addresses of `family` whose `value & mask` equals `network`; `text` is the pattern as written. */
export interface AddressPattern {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly mask: bigint;
  readonly text: string;
}

/** Width of an address of each family, in bits. */
const BITS = { 4: 32, 6: 128 } as const;

/** The ::ffff:0:0/96 prefix of v4-mapped IPv6 addresses, shifted down past the IPv4 part. */
const MAPPED_PREFIX = 0xffffn;

/** All accepted forms, for "expected …" hints. */
const FORMS =
  'expected an ipv4 or ipv6 address, a.b.c.d/len, a.b.c.d/m.m.m.m, [v6], [v6]/len or a prefix such as 192.168.';

/** A mask of `bits` leading ones in an address of `family`. */
function prefixMask(family: 4 | 6, bits: number): bigint {
  const width = BITS[family];
  return ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
}

/** Dotted quad → 32-bit value; null unless `text` is a strict IPv4 literal. */
function v4Value(text: string): bigint | null {
  if (!isIPv4(text)) return null;
  return text.split('.').reduce((v, octet) => (v << 8n) | BigInt(Number(octet)), 0n);
}

/** IPv6 literal (no zone, no brackets) → 128-bit value; null unless isIPv6 accepts it. */
export function v6Value(text: string): bigint | null {
  if (!isIPv6(text) || text.includes('%')) return null;
  let hex = text;
  // An embedded dotted quad (`::ffff:1.2.3.4`) stands for the last two 16-bit groups.
  const dot = hex.lastIndexOf(':');
  const tail = hex.slice(dot + 1);
  if (tail.includes('.')) {
    const v4 = v4Value(tail);
    if (v4 === null) return null;
    hex = `${hex.slice(0, dot + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = hex.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((v, g) => (v << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** A 128-bit value as family 4 when it is v4-mapped, else as family 6. */
function unmap(value: bigint): IpAddress {
  return value >> 32n === MAPPED_PREFIX ? { family: 4, value: value & 0xffffffffn } : { family: 6, value };
}

/**
 * Reads a client address as a socket reports it: dotted quad or IPv6 (a `%zone` suffix is
 * ignored; the zone does not change who the peer is). v4-mapped IPv6 becomes IPv4. Null when
 * `text` is not an address (a unix peer, `unknown`).
 */
export function parseIp(text: string): IpAddress | null {
  const v4 = v4Value(text);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = v6Value(text.replace(/%.*$/, ''));
  return v6 === null ? null : unmap(v6);
}

/** `value/bits` of `family`, folded to IPv4 when it lies inside ::ffff:0:0/96. */
function network(family: 4 | 6, value: bigint, bits: number, text: string): AddressPattern {
  if (family === 6 && bits >= 96 && value >> 32n === MAPPED_PREFIX) {
    return { family: 4, network: value & 0xffffffffn, mask: prefixMask(4, bits - 96), text };
  }
  return { family, network: value, mask: prefixMask(family, bits), text };
}

/** A decimal prefix length of at most `max`, without leading zeros; null otherwise. */
function prefixLength(text: string, max: number): number | null {
  if (!/^(0|[1-9]\d{0,2})$/.test(text)) return null;
  const n = Number(text);
  return n <= max ? n : null;
}

/** Dotted quad of a 32-bit value, for hints. */
function dotted(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
}

/** Builds a pattern from an address and a mask, refusing address bits the mask drops. */
function masked(family: 4 | 6, value: bigint, mask: bigint, text: string, bits: number | null): AddressPattern | string {
  if ((value & ~mask & prefixMask(family, BITS[family])) !== 0n) {
    // `10.0.0.1/8` never matches in tcp_wrappers and is likely a typo for the net: say which.
    const net = value & mask;
    const shown = family === 4 ? dotted(net) : `[${v6Text(net)}]`;
    const suffix = bits === null ? text.slice(text.indexOf('/')) : `/${bits}`;
    return `expected ${shown}${suffix}: bits are set outside the mask`;
  }
  return bits === null ? { family, network: value, mask, text } : network(family, value, bits, text);
}

/** A compressed lowercase IPv6 text of a 128-bit value, for hints. */
function v6Text(value: bigint): string {
  return ipv6Text(Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn)));
}

/** Reads a pattern, or says (as an "expected …" hint) why `text` is not one. */
function readAddressPattern(text: string): AddressPattern | string {
  // tcp_wrappers prefix: whole leading octets, each written as the address would print it.
  if (/^[\d.]+\.$/.test(text)) {
    const octets = text.slice(0, -1).split('.');
    if (octets.length > 3 || !octets.every((o) => /^(0|[1-9]\d{0,2})$/.test(o) && Number(o) <= 255)) {
      return 'expected a prefix of one to three whole octets ending in a dot, such as 192.168.';
    }
    const value = octets.reduce((v, o) => (v << 8n) | BigInt(Number(o)), 0n) << BigInt(8 * (4 - octets.length));
    return network(4, value, 8 * octets.length, text);
  }
  let addr = text;
  let len: string | null = null;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return 'expected a closing "]"';
    addr = text.slice(1, close);
    const after = text.slice(close + 1);
    if (after !== '' && !after.startsWith('/')) return 'expected [v6] or [v6]/len';
    if (after !== '') len = after.slice(1);
    if (v6Value(addr) === null) return addr.includes('%') ? 'expected an ipv6 address without a zone index' : 'expected an ipv6 address inside the brackets';
  } else {
    const slash = text.indexOf('/');
    if (slash >= 0) {
      addr = text.slice(0, slash);
      len = text.slice(slash + 1);
    }
  }
  const v4 = v4Value(addr);
  if (v4 !== null) {
    if (len === null) return network(4, v4, 32, text);
    const bits = prefixLength(len, 32);
    if (bits !== null) return masked(4, v4, prefixMask(4, bits), text, bits);
    const mask = v4Value(len);
    if (mask === null) return 'expected a prefix length from 0 to 32 or a dotted netmask after "/"';
    return masked(4, v4, mask, text, null);
  }
  const v6 = v6Value(addr);
  if (v6 !== null) {
    if (len === null) return network(6, v6, 128, text);
    const bits = prefixLength(len, 128);
    if (bits === null) return 'expected a prefix length from 0 to 128 after "/"';
    return masked(6, v6, prefixMask(6, bits), text, bits);
  }
  if (addr.includes('%')) return 'expected an ipv6 address without a zone index';
  if (/^\d+(\.\d+){1,2}$/.test(text)) return `expected a full address, or a prefix ending in a dot such as ${text}.`;
  return FORMS;
}

/** Parses an address pattern; null when `text` is not one (see addressPatternProblem for why). */
export function parseAddressPattern(text: string): AddressPattern | null {
  const p = readAddressPattern(text);
  return typeof p === 'string' ? null : p;
}

/** Why `text` is not an address pattern, as an "expected …" hint; null when it is one. */
export function addressPatternProblem(text: string): string | null {
  const p = readAddressPattern(text);
  return typeof p === 'string' ? p : null;
}

/** True when the already parsed `ip` is one of the pattern's addresses. */
export function matchIp(pattern: AddressPattern, ip: IpAddress): boolean {
  return ip.family === pattern.family && (ip.value & pattern.mask) === pattern.network;
}

/** True when `clientIp` (as a socket reports it) is one of the pattern's addresses. */
export function matchAddress(pattern: AddressPattern, clientIp: string): boolean {
  const ip = parseIp(clientIp);
  return ip !== null && matchIp(pattern, ip);
}

/**
 * Parses an xinetd-style list (`only_from = 127.0.0.1 10.0.0.0/8 [::1]`): patterns separated
 * by blanks and/or commas. Words that are not address patterns (host names included: nothing
 * is resolved) are returned in `bad`, in order, for the caller to report.
 */
export function parseAddressList(text: string): { patterns: AddressPattern[]; bad: string[] } {
  const patterns: AddressPattern[] = [];
  const bad: string[] = [];
  for (const word of text.split(/[\s,]+/)) {
    if (word === '') continue;
    const p = parseAddressPattern(word);
    if (p) patterns.push(p);
    else bad.push(word);
  }
  return { patterns, bad };
}
