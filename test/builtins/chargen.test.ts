import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { CHARGEN_CYCLE, CHARGEN_LINE_BYTES, CHARGEN_LINES, chargen, chargenLine } from '../../src/builtins/chargen.js';
import { exchange } from '../helpers/client.js';
import { serve, until, within } from './serve.js';

const LINE0 = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n';

describe('chargenLine', () => {
  it.each([
    { i: 0, line: LINE0 },
    { i: 1, line: '!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n' },
    { i: 94, line: '~ !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdef\r\n' },
    { i: 95, line: LINE0 },
    { i: -1, line: '~ !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdef\r\n' },
  ])('line $i is the ring from character $i, 72 wide, then CR LF', ({ i, line }) => {
    expect(chargenLine(i).toString('latin1')).toBe(line);
  });

  it('makes every line 74 bytes of printable ASCII and CR LF', () => {
    for (let i = 0; i < CHARGEN_LINES; i++) {
      const line = chargenLine(i);
      expect(line.length).toBe(CHARGEN_LINE_BYTES);
      expect(line.toString('latin1')).toMatch(/^[\x20-\x7e]{72}\r\n$/);
    }
  });
});

describe('CHARGEN_CYCLE', () => {
  it('is the 95 lines of one cycle, in order', () => {
    expect(CHARGEN_LINES).toBe(95);
    expect(CHARGEN_CYCLE.length).toBe(95 * 74);
    expect(CHARGEN_CYCLE.equals(Buffer.concat(Array.from({ length: 95 }, (_, i) => chargenLine(i))))).toBe(true);
  });
});

describe('chargen.dgram', () => {
  it.each([
    { what: 'an empty', msg: Buffer.alloc(0) },
    { what: 'a 600-byte', msg: Buffer.from('x'.repeat(600)) },
  ])(
    'answers $what datagram with exactly the first line',
    ({ msg }) => {
      expect(chargen.dgram(msg, () => new Date())?.toString('latin1')).toBe(LINE0);
    },
  );
});

describe('chargen.stream', () => {
  it('sends the pattern unbroken across cycles', async () => {
    const srv = await serve(chargen);
    try {
      const want = 3 * CHARGEN_CYCLE.length + 1000;
      const got = await exchange(srv.port, undefined, { end: false, max: want });
      expect(got.length).toBeGreaterThanOrEqual(want);
      const expected = Buffer.concat([CHARGEN_CYCLE, CHARGEN_CYCLE, CHARGEN_CYCLE, CHARGEN_CYCLE]);
      expect(got.subarray(0, want).equals(expected.subarray(0, want))).toBe(true);
    } finally {
      await srv.close();
    }
  });

  it('stops when the client closes, even when the client sends data', async () => {
    const srv = await serve(chargen);
    try {
      const client = net.connect(srv.port, '127.0.0.1');
      client.on('error', () => {});
      await within(new Promise((r) => client.once('data', r)), 'first bytes');
      client.end('ignored input\r\n');
      client.resume();
      expect((await srv.ended()).reason).toBe('eof');
      client.destroy();
    } finally {
      await srv.close();
    }
  });

  it('sends only while the client reads, and goes on with the pattern unbroken when it reads again', async () => {
    const srv = await serve(chargen);
    try {
      const client = net.connect(srv.port, '127.0.0.1');
      client.on('error', () => {});
      client.pause();
      // The socket buffers on both sides fill up; the pump then waits for the client to read.
      await until(async () => (await srv.info(0))?.waiting === 'write', 'chargen waiting for the client');
      const blocked = (await srv.info(0))!.bytesOut;
      // What was sent sits in the kernel's buffers; the pump itself holds nothing.
      expect(blocked).toBeLessThan(64 * 1024 * 1024);
      const want = blocked + 3 * CHARGEN_CYCLE.length;
      const chunks: Buffer[] = [];
      let read = 0;
      await within(
        new Promise<void>((r) => {
          client.on('data', (c: Buffer) => {
            chunks.push(c);
            read += c.length;
            if (read >= want) r();
          });
          client.resume();
        }),
        'the pattern past the blocked point',
      );
      const got = Buffer.concat(chunks);
      for (let off = 0; off < want; off += CHARGEN_CYCLE.length) {
        const n = Math.min(CHARGEN_CYCLE.length, want - off);
        expect(got.subarray(off, off + n).equals(CHARGEN_CYCLE.subarray(0, n))).toBe(true);
      }
      client.destroy();
      expect((await srv.ended()).reason).toMatch(/^(ECONNRESET|EPIPE|eof)$/);
    } finally {
      await srv.close();
    }
  });
});
