// Reads the kernel's IPv4 or IPv6 sockaddr that recvmmsgRaw leaves in a buffer: family, port
// and address bytes, and the address as text only when someone asks (rules, logs). Pure; the
// buffer is reused for every batch, so nothing here is kept past the next receive.
import { endianness } from 'node:os';
import type { SockAddr } from '../native/index.js';

/** Bytes of one sender slot of recvmmsgRaw: sizeof(struct sockaddr_in6), the larger of the two. */
export const RAW_SOCKADDR_BYTES = 28;

/** Linux address family numbers (sa_family_t, host byte order). */
const AF_INET = 2;
const AF_INET6 = 10;
const LITTLE_ENDIAN = endianness() === 'LE';

/** One reusable sockaddr_in / sockaddr_in6 buffer (its own, or a slot of a larger one) and views of its fields. */
export class RawSockaddr {
  private readonly v4: Buffer;
  private readonly v6: Buffer;

  constructor(readonly buf: Buffer = Buffer.alloc(RAW_SOCKADDR_BYTES)) {
    this.v4 = buf.subarray(4, 8);
    this.v6 = buf.subarray(8, 24);
  }

  /** 4, 6, or 0 for any other family. */
  get family(): 4 | 6 | 0 {
    const f = LITTLE_ENDIAN ? this.buf.readUInt16LE(0) : this.buf.readUInt16BE(0);
    return f === AF_INET ? 4 : f === AF_INET6 ? 6 : 0;
  }

  get port(): number {
    return this.buf.readUInt16BE(2);
  }

  /** The address bytes: 4 for IPv4, 16 for IPv6 (a view into the buffer). */
  get addr(): Uint8Array {
    return this.family === 4 ? this.v4 : this.v6;
  }

  /** The address as inet_ntop writes it, v4-mapped IPv6 as `::ffff:a.b.c.d`; scope ids are left out. */
  text(): string {
    return addressText(this.family === 4 ? 4 : 6, this.addr);
  }

  /** The address in the shape the other socket calls report. */
  toSockAddr(): SockAddr {
    return { family: this.family === 4 ? 'IPv4' : 'IPv6', address: this.text(), port: this.port };
  }
}

/** Whether 16 address bytes are a v4-mapped IPv6 address (::ffff:a.b.c.d). */
export function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Text of an address given as bytes (4 or 16). */
export function addressText(family: 4 | 6, b: Uint8Array): string {
  if (family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (isV4Mapped(b)) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  return ipv6Text(Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!));
}

/** An IPv6 address from its eight 16-bit groups, lower-case, with the longest run of two or more zero groups compressed (RFC 5952). */
export function ipv6Text(groups: readonly number[]): string {
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}
