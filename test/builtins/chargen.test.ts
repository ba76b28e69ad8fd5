import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { CHARGEN_CYCLE, CHARGEN_LINE_BYTES, CHARGEN_LINES, chargen, chargenLine } from '../../src/builtins/chargen.js';
import { exchange } from '../helpers/client.js';
import { closed, serve, within } from './serve.js';

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
      await closed(await srv.accepted());
      client.destroy();
    } finally {
      await srv.close();
    }
  });

  it('waits for drain when the client does not read, and resumes when it does', async () => {
    // Spy on the server side's writes: a write while the socket asks for 'drain' is a violation.
    let writes = 0;
    let eagerWrites = 0;
    let blocked!: () => void;
    const full = new Promise<void>((r) => (blocked = r));
    const srv = await serve(chargen, () => new Date(), (sock) => {
      const write = sock.write.bind(sock) as (chunk: Buffer) => boolean;
      sock.write = ((chunk: Buffer) => {
        if (sock.writableNeedDrain) eagerWrites += 1;
        writes += 1;
        const ok = write(chunk);
        if (!ok) blocked();
        return ok;
      }) as typeof sock.write;
    });
    try {
      const client = net.connect(srv.port, '127.0.0.1');
      client.on('error', () => {});
      client.pause();
      await within(full, 'server socket full');
      const server = await srv.accepted();
      // Node's own buffer holds at most one write past its high-water mark.
      expect(server.writableLength).toBeLessThanOrEqual(server.writableHighWaterMark + CHARGEN_CYCLE.length);
      const writesWhenFull = writes;
      // Reading frees the socket buffers, 'drain' fires, and writing goes on.
      let read = 0;
      client.on('data', (c: Buffer) => (read += c.length));
      client.resume();
      await within(
        new Promise<void>((r) => {
          const check = (): void => (writes > writesWhenFull + 10 ? r() : void server.once('drain', () => setImmediate(check)));
          check();
        }),
        'writing to resume',
      );
      expect(read).toBeGreaterThan(0);
      client.destroy();
      await closed(server);
      expect(eagerWrites).toBe(0);
    } finally {
      await srv.close();
    }
  });
});
