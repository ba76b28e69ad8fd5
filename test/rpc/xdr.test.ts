import { describe, expect, it } from 'vitest';
import { XdrError, XdrReader, XdrWriter } from '../../src/rpc/xdr.js';

const hex = (b: Buffer) => b.toString('hex');

describe('XdrWriter', () => {
  it.each([
    ['u32 0', (w: XdrWriter) => w.u32(0), '00000000'],
    ['u32 100000', (w: XdrWriter) => w.u32(100000), '000186a0'],
    ['u32 2^32-1', (w: XdrWriter) => w.u32(2 ** 32 - 1), 'ffffffff'],
    ['i32 -1', (w: XdrWriter) => w.i32(-1), 'ffffffff'],
    ['i32 -2^31', (w: XdrWriter) => w.i32(-(2 ** 31)), '80000000'],
    ['bool true', (w: XdrWriter) => w.bool(true), '00000001'],
    ['bool false', (w: XdrWriter) => w.bool(false), '00000000'],
    ['empty opaque', (w: XdrWriter) => w.opaque(Buffer.alloc(0)), '00000000'],
    ['opaque of 1 byte, 3 of padding', (w: XdrWriter) => w.opaque(Buffer.from([0xab])), '00000001ab000000'],
    ['opaque of 4 bytes, no padding', (w: XdrWriter) => w.opaque(Buffer.from('abcd')), '0000000461626364'],
    ['string "udp"', (w: XdrWriter) => w.string('udp'), '0000000375647000'],
    ['string "0.0.0.0.3.232"', (w: XdrWriter) => w.string('0.0.0.0.3.232'), '0000000d302e302e302e302e332e323332000000'],
    ['raw bytes', (w: XdrWriter) => w.raw(Buffer.from('00000001', 'hex')), '00000001'],
    ['items in order', (w: XdrWriter) => w.u32(1).string('a').bool(true), '00000001000000016100000000000001'],
  ])('encodes %s', (_what, write, want) => {
    expect(hex(write(new XdrWriter()).toBuffer())).toBe(want);
  });

  it.each([
    ['a negative u32', (w: XdrWriter) => w.u32(-1)],
    ['a u32 of 2^32', (w: XdrWriter) => w.u32(2 ** 32)],
    ['a fraction', (w: XdrWriter) => w.u32(1.5)],
    ['NaN', (w: XdrWriter) => w.u32(Number.NaN)],
    ['an i32 of 2^31', (w: XdrWriter) => w.i32(2 ** 31)],
    ['raw bytes not a multiple of 4', (w: XdrWriter) => w.raw(Buffer.from([1, 2, 3]))],
  ])('refuses %s', (_what, write) => {
    expect(() => write(new XdrWriter())).toThrow(XdrError);
  });
});

describe('XdrReader', () => {
  it('reads back what the writer wrote', () => {
    const buf = new XdrWriter().u32(100001).i32(-5).bool(true).string('udp6').opaque(Buffer.from([1, 2, 3, 4, 5])).u32(7).toBuffer();
    const r = new XdrReader(buf);
    expect([r.u32(), r.i32(), r.bool(), r.string(), [...r.opaque()], r.u32(), r.remaining()]).toEqual([100001, -5, true, 'udp6', [1, 2, 3, 4, 5], 7, 0]);
  });

  it.each([
    ['a u32 from 3 bytes', '000000', (r: XdrReader) => r.u32()],
    ['a bool of 2', '00000002', (r: XdrReader) => r.bool()],
    ['an opaque longer than the data', '0000000861626364', (r: XdrReader) => r.opaque()],
    ['an opaque without its padding', '0000000161', (r: XdrReader) => r.opaque()],
    ['an opaque over its limit', '000000056162636465000000', (r: XdrReader) => r.opaque(4)],
    ['a string length of 2^32-1', 'ffffffff', (r: XdrReader) => r.string()],
    ['anything from nothing', '', (r: XdrReader) => r.i32()],
  ])('throws XdrError for %s', (_what, data, read) => {
    expect(() => read(new XdrReader(Buffer.from(data, 'hex')))).toThrow(XdrError);
  });

  it('gives errors the code ERR_XDR', () => {
    try {
      new XdrReader(Buffer.alloc(0)).u32();
    } catch (err) {
      expect((err as XdrError).code).toBe('ERR_XDR');
      return;
    }
    expect.unreachable();
  });
});
