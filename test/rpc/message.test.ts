import { describe, expect, it } from 'vitest';
import { decodeReply, encodeCall, recordMark, RecordReader } from '../../src/rpc/message.js';
import { XdrError } from '../../src/rpc/xdr.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('encodeCall', () => {
  it('writes the RFC 5531 call header with AUTH_NONE, then the arguments', () => {
    const call = encodeCall({ xid: 0x01020304, program: 100000, version: 4, procedure: 1, args: h('00000007') });
    expect(call.toString('hex')).toBe(
      [
        '01020304', // xid
        '00000000', // CALL
        '00000002', // rpcvers 2
        '000186a0', // program 100000
        '00000004', // version
        '00000001', // procedure
        '00000000 00000000', // credential AUTH_NONE, empty
        '00000000 00000000', // verifier AUTH_NONE, empty
        '00000007', // arguments
      ]
        .join('')
        .replace(/\s+/g, ''),
    );
  });
});

/** A reply header up to the accept status: xid 9, REPLY, MSG_ACCEPTED, AUTH_NONE verifier. */
const ACCEPTED = '00000009 00000001 00000000 00000000 00000000';

describe('decodeReply', () => {
  it.each([
    ['success with a true bool', `${ACCEPTED} 00000000 00000001`, { xid: 9, kind: 'success' }],
    ['prog_unavail', `${ACCEPTED} 00000001`, { xid: 9, kind: 'prog_unavail' }],
    ['prog_mismatch with the versions served', `${ACCEPTED} 00000002 00000002 00000003`, { xid: 9, kind: 'prog_mismatch', low: 2, high: 3 }],
    ['proc_unavail', `${ACCEPTED} 00000003`, { xid: 9, kind: 'proc_unavail' }],
    ['garbage_args', `${ACCEPTED} 00000004`, { xid: 9, kind: 'garbage_args' }],
    ['system_err', `${ACCEPTED} 00000005`, { xid: 9, kind: 'system_err' }],
    ['a verifier with a body', '00000009 00000001 00000000 00000001 00000004 aabbccdd 00000001', { xid: 9, kind: 'prog_unavail' }],
    ['rpc_mismatch', '00000009 00000001 00000001 00000000 00000002 00000002', { xid: 9, kind: 'rpc_mismatch', low: 2, high: 2 }],
    ['auth_error AUTH_TOOWEAK', '00000009 00000001 00000001 00000001 00000005', { xid: 9, kind: 'auth_error', stat: 5 }],
  ])('reads %s', (_what, bytes, want) => {
    expect(decodeReply(h(bytes))).toMatchObject(want);
  });

  it('leaves the results of a successful call to be read', () => {
    const r = decodeReply(h(`${ACCEPTED} 00000000 00000001`));
    expect(r.kind === 'success' && r.results.bool()).toBe(true);
  });

  it.each([
    ['a call', '00000009 00000000 00000002'],
    ['a reply status of 2', '00000009 00000001 00000002'],
    ['an accept status of 6', `${ACCEPTED} 00000006`],
    ['a reject status of 2', '00000009 00000001 00000001 00000002'],
    ['a truncated header', '00000009 000000'],
    ['a verifier longer than 400 bytes', '00000009 00000001 00000000 00000000 00000194'],
  ])('refuses %s', (_what, bytes) => {
    expect(() => decodeReply(h(bytes))).toThrow(XdrError);
  });
});

describe('record marking', () => {
  it('marks a message as one last fragment', () => {
    expect(recordMark(h('00000001 00000002')).toString('hex')).toBe('800000080000000100000002');
  });

  it('reassembles records split anywhere, and several records in one read', () => {
    const stream = Buffer.concat([recordMark(h('0000000a')), recordMark(h('0000000b 0000000c'))]);
    for (let cut = 0; cut <= stream.length; cut += 1) {
      const reader = new RecordReader();
      const records = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(records.map((r) => r.toString('hex'))).toEqual(['0000000a', '0000000b0000000c']);
    }
  });

  it('joins the fragments of one record', () => {
    const reader = new RecordReader();
    const records = reader.push(h('00000004 0000000a 80000004 0000000b'));
    expect(records.map((r) => r.toString('hex'))).toEqual(['0000000a0000000b']);
  });

  it('refuses a record over its limit, even before it has arrived', () => {
    expect(() => new RecordReader(16).push(h('80000020'))).toThrow(XdrError);
    const reader = new RecordReader(16);
    reader.push(h('0000000c 000000000000000000000000'));
    expect(() => reader.push(h('80000008'))).toThrow(XdrError);
  });
});
