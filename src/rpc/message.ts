// ONC RPC messages (RFC 5531): the call header with AUTH_NONE, the reply's accept and reject
// cases, and record marking for stream transports. Pure: a call is encoded to bytes and a
// reply decoded from bytes; sockets are client.ts's business. It does not know any program's
// procedures (rpcbind.ts does).
import { XdrError, XdrReader, XdrWriter } from './xdr.js';

/** RPC protocol version of every message (RFC 5531). */
const RPC_VERSION = 2;
/** msg_type. */
const CALL = 0;
const REPLY = 1;
/** reply_stat. */
const MSG_ACCEPTED = 0;
const MSG_DENIED = 1;
/** auth_flavor AUTH_NONE: rpcbind learns who we are from the socket (SO_PEERCRED), not from a credential. */
const AUTH_NONE = 0;

/** accept_stat values → how a reply was accepted. Sorted by value. */
const ACCEPT_STATS = ['success', 'prog_unavail', 'prog_mismatch', 'proc_unavail', 'garbage_args', 'system_err'] as const;
/** reject_stat values. */
const REJECT_STATS = ['rpc_mismatch', 'auth_error'] as const;

/** One call: which procedure of which program version, and its XDR-encoded arguments. */
export interface Call {
  xid: number;
  program: number;
  version: number;
  procedure: number;
  args: Buffer;
}

/** A decoded reply. `results` reads the procedure's results of a successful call. */
export type Reply =
  | { xid: number; kind: 'success'; results: XdrReader }
  | { xid: number; kind: 'prog_mismatch' | 'rpc_mismatch'; low: number; high: number }
  | { xid: number; kind: 'prog_unavail' | 'proc_unavail' | 'garbage_args' | 'system_err' }
  | { xid: number; kind: 'auth_error'; stat: number };

/** The bytes of a call message (without record marking). */
export function encodeCall(c: Call): Buffer {
  return new XdrWriter()
    .u32(c.xid)
    .u32(CALL)
    .u32(RPC_VERSION)
    .u32(c.program)
    .u32(c.version)
    .u32(c.procedure)
    .u32(AUTH_NONE)
    .opaque(Buffer.alloc(0)) // credential
    .u32(AUTH_NONE)
    .opaque(Buffer.alloc(0)) // verifier
    .raw(c.args)
    .toBuffer();
}

/** Decodes a reply message; throws XdrError when it is not a well-formed reply. */
export function decodeReply(buf: Buffer): Reply {
  const r = new XdrReader(buf);
  const xid = r.u32();
  const type = r.u32();
  if (type !== REPLY) throw new XdrError(`rpc: message type ${type} is not a reply`);
  const stat = r.u32();
  if (stat === MSG_ACCEPTED) {
    r.u32(); // verifier flavor
    r.opaque(400); // verifier body, at most 400 bytes (RFC 5531)
    const accept = ACCEPT_STATS[r.u32()];
    if (accept === undefined) throw new XdrError('rpc: unknown accept status');
    if (accept === 'success') return { xid, kind: accept, results: r };
    if (accept === 'prog_mismatch') return { xid, kind: accept, low: r.u32(), high: r.u32() };
    return { xid, kind: accept };
  }
  if (stat === MSG_DENIED) {
    const reject = REJECT_STATS[r.u32()];
    if (reject === undefined) throw new XdrError('rpc: unknown reject status');
    if (reject === 'rpc_mismatch') return { xid, kind: reject, low: r.u32(), high: r.u32() };
    return { xid, kind: reject, stat: r.u32() };
  }
  throw new XdrError(`rpc: reply status ${stat} is neither accepted nor denied`);
}

/** Bit of a record-marking header that says "last fragment of the record". */
const LAST_FRAGMENT = 0x80000000;

/** One message as a single-fragment record, as stream transports carry it. */
export function recordMark(message: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE((LAST_FRAGMENT | message.length) >>> 0);
  return Buffer.concat([header, message]);
}

/** Reassembles records from a byte stream, fragment by fragment, refusing records over a size limit. */
export class RecordReader {
  private pending: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxRecord = 65536) {}

  /** Adds bytes read from the stream; returns the records they completed. Throws XdrError on an oversized record. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const done: Buffer[] = [];
    while (this.pending.length >= 4) {
      const header = this.pending.readUInt32BE(0);
      const length = header & 0x7fffffff;
      if (this.size + length > this.maxRecord) throw new XdrError(`rpc: record of more than ${this.maxRecord} bytes`);
      if (this.pending.length < 4 + length) break;
      this.fragments.push(this.pending.subarray(4, 4 + length));
      this.size += length;
      this.pending = this.pending.subarray(4 + length);
      if ((header & LAST_FRAGMENT) !== 0) {
        done.push(Buffer.concat(this.fragments));
        this.fragments = [];
        this.size = 0;
      }
    }
    return done;
  }
}
