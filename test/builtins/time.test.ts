import { describe, expect, it } from 'vitest';
import { EPOCH_OFFSET, time, timeBytes } from '../../src/builtins/time.js';
import { exchange } from '../helpers/client.js';
import { serve } from './serve.js';

const cases = [
  { at: '1900-01-01T00:00:00.000Z', hex: '00000000' },
  { at: '1899-12-31T23:59:59.000Z', hex: 'ffffffff' },
  { at: '1970-01-01T00:00:00.000Z', hex: '83aa7e80' },
  { at: '1970-01-01T00:00:00.999Z', hex: '83aa7e80' },
  { at: '2000-01-01T00:00:00.000Z', hex: 'bc17c200' },
  { at: '2026-11-22T05:47:05.000Z', hex: 'eead0059' },
  // RFC 868 era 0 ends here: the count wraps modulo 2^32.
  { at: '2036-02-07T06:28:15.000Z', hex: 'ffffffff' },
  { at: '2036-02-07T06:28:16.000Z', hex: '00000000' },
  { at: '2036-02-07T06:28:17.000Z', hex: '00000001' },
];

describe('timeBytes', () => {
  it.each(cases)('$at → $hex', ({ at, hex }) => {
    expect(timeBytes(new Date(at)).toString('hex')).toBe(hex);
  });

  it('counts from 1900-01-01 00:00 UTC', () => {
    expect(EPOCH_OFFSET).toBe(-Date.UTC(1900, 0, 1) / 1000);
  });
});

describe('time.dgram', () => {
  it('answers any datagram, empty or not, with the 4 bytes for now', () => {
    const now = new Date(cases[5]!.at);
    expect(time.dgram(Buffer.alloc(0), () => now)?.toString('hex')).toBe(cases[5]!.hex);
    expect(time.dgram(Buffer.from('x'), () => now)?.toString('hex')).toBe(cases[5]!.hex);
  });
});

describe('time.stream', () => {
  it('sends the 4 bytes on connect and closes without waiting for the client', async () => {
    const now = new Date(cases[7]!.at);
    const srv = await serve(time, () => now);
    try {
      const got = await exchange(srv.port, undefined, { end: false });
      expect(got.toString('hex')).toBe(cases[7]!.hex);
    } finally {
      await srv.close();
    }
  });
});
