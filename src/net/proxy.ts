// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a load balancer
// puts in front of a relayed connection to say who the client is. Two pure steps: `proxyProgress`
// says how many more bytes may be read without reading past the header (so the client's own
// bytes stay in the socket for the handler), and `parseProxyHeader` reads a complete header into
// the client's and the destination's addresses and the TLVs that handlers are told about. It
// reads no socket and decides nothing about trust (dispatch/proxy.ts does both).
import { isIPv6 } from 'node:net';
import { v6Value } from '../access/address.js';
import { addressText } from './sockaddr.js';

/** Which header versions a service accepts. */
export type ProxyVersions = 'any' | 'v1' | 'v2';

/** Why a header was rejected, with the text logs and docs give. Sorted. */
export const PROXY_FAULTS = {
  address: 'an address or port is not valid text for its family',
  checksum: 'the CRC32C TLV does not match the header',
  command: 'the v2 command is neither LOCAL nor PROXY',
  family: 'the address family or transport is not one the protocol defines',
  length: 'the v2 length is shorter than the addresses it announces',
  signature: 'the connection does not start with a PROXY header of an accepted version',
  syntax: 'the v1 line is not "PROXY" and its fields, separated by single spaces and ended by CRLF',
  timeout: 'the whole header did not arrive in time',
  tlv: 'a TLV runs past the end of the header',
  'too-long': 'the header is longer than the protocol allows (v1: 107 bytes; v2: 4096 bytes here)',
  truncated: 'the sender closed the connection before the end of the header',
  version: 'the v2 version is not 2',
} as const;

/** A reason of PROXY_FAULTS. */
export type ProxyFault = keyof typeof PROXY_FAULTS;

/** Longest v1 line, CRLF included (`PROXY UNKNOWN` with two full IPv6 addresses and ports). */
export const V1_MAX = 107;
/** Shortest valid v1 line (`PROXY UNKNOWN\r\n`): reading this much never passes a v1 header's end. */
const V1_MIN = 15;
/** Fixed part of a v2 header: signature, version and command, family and transport, length. */
const V2_FIXED = 16;
/**
 * Longest v2 header accepted. The protocol allows 16 + 65535 bytes; what balancers send (two
 * addresses, the authority, ALPN, SSL details, a unique id of at most 128 bytes, cloud TLVs)
 * fits in a few hundred.
 */
export const V2_MAX = 4096;

/** The v2 signature, the first 12 bytes of every v2 header. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Every v1 header starts so. */
const V1_PREFIX = Buffer.from('PROXY ');

/** What the reader does next with the header bytes it has read so far. */
export type ProxyProgress =
  /** Read at most `max` more bytes; with `peek`, look first and take only up to the first LF. */
  | { readonly kind: 'more'; readonly max: number; readonly peek: boolean }
  /** `have` is one whole header: parse it. */
  | { readonly kind: 'done' }
  | { readonly kind: 'fault'; readonly fault: ProxyFault };

/** Whether the bytes so far agree with `prefix` as far as both go. */
function agrees(have: Buffer, prefix: Buffer): boolean {
  const n = Math.min(have.length, prefix.length);
  return have.subarray(0, n).equals(prefix.subarray(0, n));
}

/**
 * What to do with `have`, the bytes read so far (never more than the header). v2 is read by
 * count: 16 bytes, then the declared length. v1 has no length: after its first 15 bytes the
 * reader peeks and takes bytes only up to the first LF.
 */
export function proxyProgress(have: Buffer, versions: ProxyVersions): ProxyProgress {
  if (have.length === 0) return { kind: 'more', max: versions === 'v2' ? V2_FIXED : V1_MIN, peek: false };
  const v2 = have[0] === V2_SIGNATURE[0];
  if (v2 ? versions === 'v1' || !agrees(have, V2_SIGNATURE) : versions === 'v2' || !agrees(have, V1_PREFIX)) {
    return { kind: 'fault', fault: 'signature' };
  }
  if (v2) {
    if (have.length < V2_FIXED) return { kind: 'more', max: V2_FIXED - have.length, peek: false };
    if (have[12]! >> 4 !== 2) return { kind: 'fault', fault: 'version' };
    const total = V2_FIXED + have.readUInt16BE(14);
    if (total > V2_MAX) return { kind: 'fault', fault: 'too-long' };
    return have.length < total ? { kind: 'more', max: total - have.length, peek: false } : { kind: 'done' };
  }
  const lf = have.indexOf(0x0a);
  // Only the first read can hold an LF before its last byte, and a line that short is never valid.
  if (lf >= 0) return lf === have.length - 1 ? { kind: 'done' } : { kind: 'fault', fault: 'syntax' };
  if (have.length >= V1_MAX) return { kind: 'fault', fault: 'too-long' };
  return have.length < V1_MIN ? { kind: 'more', max: V1_MIN - have.length, peek: false } : { kind: 'more', max: V1_MAX - have.length, peek: true };
}

/** An IPv4 or IPv6 endpoint, shaped as the socket calls report one. */
export interface InetAddr {
  readonly family: 'IPv4' | 'IPv6';
  readonly address: string;
  readonly port: number;
}

/** The TLS details of a v2 SSL TLV. */
export interface ProxySsl {
  /** The client connected over TLS (PP2_CLIENT_SSL). */
  readonly tls: boolean;
  /** The client presented a certificate, on this connection or in its TLS session. */
  readonly clientCert: boolean;
  /** The verify field: 0 when the client's certificate was presented and verified. */
  readonly verify: number;
  readonly version?: string;
  readonly cn?: string;
  readonly cipher?: string;
  readonly sigAlg?: string;
  readonly keyAlg?: string;
}

/** The TLVs passed on to handlers; each only when present and readable as text. */
export interface ProxyTlvs {
  readonly alpn?: string;
  readonly authority?: string;
  readonly ssl?: ProxySsl;
}

/** A parsed header, or why it was rejected. */
export type ProxyHeader =
  /** Relayed for `source`, which connected to `destination` (the balancer's frontend). */
  | { readonly kind: 'proxy'; readonly version: 1 | 2; readonly source: InetAddr; readonly destination: InetAddr; readonly tlvs: ProxyTlvs }
  /** v2 LOCAL: the balancer's own connection (a health check); the real endpoints apply. */
  | { readonly kind: 'local'; readonly version: 2; readonly tlvs: ProxyTlvs }
  /** v1 UNKNOWN, or v2 PROXY without addresses ninetd uses (unspecified, unix, datagram): the real endpoints apply. */
  | { readonly kind: 'unspec'; readonly version: 1 | 2; readonly tlvs: ProxyTlvs }
  | { readonly kind: 'fault'; readonly fault: ProxyFault };

/** Parses one whole header, as `proxyProgress` delimited it. */
export function parseProxyHeader(buf: Buffer): ProxyHeader {
  if (buf.length >= V2_FIXED && buf.subarray(0, 12).equals(V2_SIGNATURE)) return parseV2(buf);
  if (agrees(buf, V1_PREFIX) && buf.length >= V1_PREFIX.length) return parseV1(buf);
  return fault('signature');
}

function fault(f: ProxyFault): ProxyHeader {
  return { kind: 'fault', fault: f };
}

// ---- version 1 ----

/** A decimal number without leading zeros, as v1 writes ports and IPv4 octets. */
const DECIMAL = /^(0|[1-9][0-9]{0,4})$/;

/** v1 protocol names → family. Sorted. */
const V1_FAMILIES = { TCP4: 'IPv4', TCP6: 'IPv6' } as const;

function parseV1(buf: Buffer): ProxyHeader {
  if (buf.length > V1_MAX) return fault('too-long');
  if (buf.length < 2 || buf[buf.length - 2] !== 0x0d || buf[buf.length - 1] !== 0x0a) return fault('syntax');
  const body = buf.subarray(0, -2);
  // US-ASCII only, and no other CR or LF: a lone one must not end or split the line.
  if (body.some((b) => b < 0x20 || b > 0x7e)) return fault('syntax');
  const fields = body.toString('latin1').split(' ');
  const proto = fields[1] ?? '';
  // UNKNOWN: whatever follows it on the line is ignored, as the spec asks.
  if (proto === 'UNKNOWN') return { kind: 'unspec', version: 1, tlvs: {} };
  if (fields.some((f) => f === '')) return fault('syntax');
  if (!Object.hasOwn(V1_FAMILIES, proto)) return fault('family');
  const family = V1_FAMILIES[proto as keyof typeof V1_FAMILIES];
  if (fields.length !== 6) return fault('syntax');
  const [, , src, dst, sport, dport] = fields as [string, string, string, string, string, string];
  const source = v1Address(family, src, sport);
  const destination = v1Address(family, dst, dport);
  if (!source || !destination) return fault('address');
  return { kind: 'proxy', version: 1, source, destination, tlvs: {} };
}

/** An endpoint from v1 text, or null when the address or port is not valid for `family`. */
function v1Address(family: 'IPv4' | 'IPv6', address: string, port: string): InetAddr | null {
  if (!DECIMAL.test(port) || Number(port) > 65535) return null;
  if (family === 'IPv4') {
    const octets = address.split('.');
    if (octets.length !== 4 || !octets.every((o) => DECIMAL.test(o) && Number(o) <= 255)) return null;
    return { family, address, port: Number(port) };
  }
  const value = isIPv6(address) && !address.includes('%') ? v6Value(address) : null;
  if (value === null) return null;
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number((value >> BigInt(120 - 8 * i)) & 0xffn);
  return { family, address: addressText(6, bytes), port: Number(port) };
}

// ---- version 2 ----

/** Bytes of the two addresses and two ports, indexed by the v2 address family (high nibble of byte 14). */
const V2_ADDRESS_BYTES = [0, 12, 36, 216] as const;
const AF_INET = 1;
const AF_INET6 = 2;
const STREAM = 1;
/** Highest defined transport (DGRAM). */
const LAST_TRANSPORT = 2;

/** TLV types handlers are told about, and the checksum. Sorted. */
const TLV = { alpn: 0x01, authority: 0x02, crc32c: 0x03, ssl: 0x20 } as const;
/** Sub-TLVs of the SSL TLV → ProxySsl fields. In the spec's order (by type). */
const SSL_SUBTYPES = { version: 0x21, cn: 0x22, cipher: 0x23, sigAlg: 0x24, keyAlg: 0x25 } as const;
/** Bits of the SSL TLV's client field. */
const PP2_CLIENT_SSL = 0x01;
const PP2_CLIENT_CERT_CONN = 0x02;
const PP2_CLIENT_CERT_SESS = 0x04;

function parseV2(buf: Buffer): ProxyHeader {
  if (buf[12]! >> 4 !== 2) return fault('version');
  const command = buf[12]! & 0x0f;
  if (command > 1) return fault('command');
  const total = V2_FIXED + buf.readUInt16BE(14);
  if (total > V2_MAX) return fault('too-long');
  if (buf.length !== total) return fault('length');
  // LOCAL: the whole block, family included, is ignored (the spec says so).
  if (command === 0) return { kind: 'local', version: 2, tlvs: {} };
  const family = buf[13]! >> 4;
  const transport = buf[13]! & 0x0f;
  if (family >= V2_ADDRESS_BYTES.length || transport > LAST_TRANSPORT) return fault('family');
  // Unspecified family or transport: no address to read, nor any way to tell addresses from TLVs.
  if (family === 0 || transport === 0) return { kind: 'unspec', version: 2, tlvs: {} };
  const addrEnd = V2_FIXED + V2_ADDRESS_BYTES[family as 1 | 2 | 3];
  if (total < addrEnd) return fault('length');
  const tlvs = readTlvs(buf, addrEnd);
  if ('fault' in tlvs) return fault(tlvs.fault);
  // Unix and datagram endpoints are valid but not what a TCP service's client is: fall back to
  // the real endpoints, as the spec asks of a receiver that does not implement them.
  if (transport !== STREAM || (family !== AF_INET && family !== AF_INET6)) return { kind: 'unspec', version: 2, tlvs };
  const width = family === AF_INET ? 4 : 16;
  const at = (i: number): InetAddr => ({
    family: family === AF_INET ? 'IPv4' : 'IPv6',
    address: addressText(family === AF_INET ? 4 : 6, buf.subarray(V2_FIXED + i * width, V2_FIXED + (i + 1) * width)),
    port: buf.readUInt16BE(V2_FIXED + 2 * width + 2 * i),
  });
  return { kind: 'proxy', version: 2, source: at(0), destination: at(1), tlvs };
}

/** One TLV: type and value (a view into the header). */
interface Tlv {
  type: number;
  value: Buffer;
}

/** Splits `buf` from `start` to its end into TLVs; null when one runs past the end. */
function splitTlvs(buf: Buffer, start: number): Tlv[] | null {
  const out: Tlv[] = [];
  for (let at = start; at < buf.length; ) {
    if (buf.length - at < 3) return null;
    const len = buf.readUInt16BE(at + 1);
    if (at + 3 + len > buf.length) return null;
    out.push({ type: buf[at]!, value: buf.subarray(at + 3, at + 3 + len) });
    at += 3 + len;
  }
  return out;
}

/** The TLVs handlers are told about, after checking that every TLV fits and the checksum (if any) matches. */
function readTlvs(buf: Buffer, start: number): ProxyTlvs | { fault: ProxyFault } {
  const all = splitTlvs(buf, start);
  if (!all) return { fault: 'tlv' };
  const first = (type: number): Buffer | undefined => all.find((t) => t.type === type)?.value;
  const crc = all.find((t) => t.type === TLV.crc32c);
  if (crc) {
    if (crc.value.length !== 4) return { fault: 'tlv' };
    const copy = Buffer.from(buf);
    copy.fill(0, crc.value.byteOffset - buf.byteOffset, crc.value.byteOffset - buf.byteOffset + 4);
    if (crc32c(copy) !== crc.value.readUInt32BE(0)) return { fault: 'checksum' };
  }
  const out: { alpn?: string; authority?: string; ssl?: ProxySsl } = {};
  const alpn = text(first(TLV.alpn));
  const authority = text(first(TLV.authority));
  if (alpn !== undefined) out.alpn = alpn;
  if (authority !== undefined) out.authority = authority;
  const ssl = first(TLV.ssl);
  if (ssl) {
    if (ssl.length < 5) return { fault: 'tlv' };
    const subs = splitTlvs(ssl, 5);
    if (!subs) return { fault: 'tlv' };
    const client = ssl[0]!;
    const s: { -readonly [K in keyof ProxySsl]: ProxySsl[K] } = {
      tls: (client & PP2_CLIENT_SSL) !== 0,
      clientCert: (client & (PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS)) !== 0,
      verify: ssl.readUInt32BE(1),
    };
    for (const [name, type] of Object.entries(SSL_SUBTYPES) as Array<[keyof typeof SSL_SUBTYPES, number]>) {
      const v = text(subs.find((t) => t.type === type)?.value);
      if (v !== undefined) s[name] = v;
    }
    out.ssl = s;
  }
  return out;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A TLV value as text for an environment variable; undefined when absent, not UTF-8, or holding control characters. */
function text(value: Buffer | undefined): string | undefined {
  if (!value) return undefined;
  let s: string;
  try {
    s = UTF8.decode(value);
  } catch {
    return undefined;
  }
  return /[\u0000-\u001f\u007f]/.test(s) ? undefined : s;
}

/** The CRC32C (Castagnoli) lookup table, reflected polynomial 0x82F63B78. */
const CRC32C_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});

/** CRC32C of `buf` (RFC 4960 appendix B), as the PP2_TYPE_CRC32C TLV carries it. */
export function crc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---- what handlers are told ----

/** Environment variables for the TLVs a handler is told about. Sorted by variable. */
const TLV_VARIABLES = {
  PROXYALPN: (t) => t.alpn,
  PROXYAUTHORITY: (t) => t.authority,
  PROXYSSL: (t) => (t.ssl ? (t.ssl.tls ? '1' : '0') : undefined),
  PROXYSSLCERT: (t) => (t.ssl ? (t.ssl.clientCert ? '1' : '0') : undefined),
  PROXYSSLCIPHER: (t) => t.ssl?.cipher,
  PROXYSSLCN: (t) => t.ssl?.cn,
  PROXYSSLKEYALG: (t) => t.ssl?.keyAlg,
  PROXYSSLSIGALG: (t) => t.ssl?.sigAlg,
  PROXYSSLVERIFY: (t) => (t.ssl ? String(t.ssl.verify) : undefined),
  PROXYSSLVERSION: (t) => t.ssl?.version,
} as const satisfies Record<string, (t: ProxyTlvs) => string | undefined>;

/**
 * The variables a handler gets for a connection that came with a header: the balancer's address
 * and port (`PROXYREMOTEIP`, `PROXYREMOTEPORT`; the TCP peer, whose place the header's client
 * took) and the TLVs that were present.
 */
export function proxyEnv(balancer: { ip: string; port: number }, tlvs: ProxyTlvs): Record<string, string> {
  const env: Record<string, string> = { PROXYREMOTEIP: balancer.ip, PROXYREMOTEPORT: String(balancer.port) };
  for (const [name, get] of Object.entries(TLV_VARIABLES)) {
    const v = get(tlvs);
    if (v !== undefined) env[name] = v;
  }
  return env;
}
