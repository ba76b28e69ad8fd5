// XDR (RFC 4506), the little of it the rpcbind protocol needs: unsigned and signed 32-bit
// integers, booleans, variable-length opaque data and strings, each padded to four bytes. Pure:
// buffers in, buffers out. It does not know RPC messages (message.ts) or rpcbind (rpcbind.ts).
//
// We carry our own instead of libtirpc through the addon: five primitives are less code than
// the binding, they are table-tested byte for byte, and the supervisor keeps no C library state
// (libtirpc's clients are blocking and keep global state, which the event loop must not wait on).

/** Malformed or truncated XDR data, or a value XDR cannot carry. */
export class XdrError extends Error {
  readonly code = 'ERR_XDR';
}

/** Largest unsigned 32-bit value. */
const MAX_U32 = 2 ** 32 - 1;

/** Bytes of padding after `n` bytes of opaque data. */
function padding(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Builds an XDR byte string item by item. */
export class XdrWriter {
  private readonly parts: Buffer[] = [];

  /** An unsigned int: 0 to 2^32-1. */
  u32(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > MAX_U32) throw new XdrError(`xdr: "${n}" is not an unsigned 32-bit integer`);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    this.parts.push(b);
    return this;
  }

  /** A signed int: -2^31 to 2^31-1. */
  i32(n: number): this {
    if (!Number.isInteger(n) || n < -(2 ** 31) || n > 2 ** 31 - 1) throw new XdrError(`xdr: "${n}" is not a signed 32-bit integer`);
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }

  /** A bool: an int, 1 or 0. */
  bool(v: boolean): this {
    return this.u32(v ? 1 : 0);
  }

  /** Variable-length opaque data: its length, the bytes, zero padding to four bytes. */
  opaque(data: Buffer): this {
    this.u32(data.length);
    this.parts.push(data, Buffer.alloc(padding(data.length)));
    return this;
  }

  /** A string, as opaque data in UTF-8 (rpcbind's strings are ASCII). */
  string(s: string): this {
    return this.opaque(Buffer.from(s, 'utf8'));
  }

  /** Bytes already encoded elsewhere, such as procedure arguments; must be a multiple of four. */
  raw(data: Buffer): this {
    if (data.length % 4 !== 0) throw new XdrError(`xdr: ${data.length} raw bytes are not a multiple of 4`);
    this.parts.push(data);
    return this;
  }

  /** Everything written so far. */
  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Reads XDR items from a buffer in order; every read checks the bytes are there. */
export class XdrReader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  private take(n: number, what: string): Buffer {
    if (this.pos + n > this.buf.length) {
      throw new XdrError(`xdr: ${what} needs ${n} bytes at offset ${this.pos}, ${this.buf.length - this.pos} left`);
    }
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** An unsigned int. */
  u32(): number {
    return this.take(4, 'unsigned int').readUInt32BE();
  }

  /** A signed int. */
  i32(): number {
    return this.take(4, 'int').readInt32BE();
  }

  /** A bool; anything but 0 or 1 is an error, as in RFC 4506. */
  bool(): boolean {
    const v = this.u32();
    if (v > 1) throw new XdrError(`xdr: bool is ${v} (expected 0 or 1)`);
    return v === 1;
  }

  /** Variable-length opaque data, at most `max` bytes; the padding is skipped. */
  opaque(max = MAX_U32): Buffer {
    const n = this.u32();
    if (n > max) throw new XdrError(`xdr: opaque length ${n} is over its limit of ${max}`);
    const data = this.take(n, 'opaque data');
    this.take(padding(n), 'padding');
    return Buffer.from(data);
  }

  /** A string of at most `max` bytes, decoded as UTF-8. */
  string(max = MAX_U32): string {
    return this.opaque(max).toString('utf8');
  }

  /** Bytes not read yet. */
  remaining(): number {
    return this.buf.length - this.pos;
  }
}
