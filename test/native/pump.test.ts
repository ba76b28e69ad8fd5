// pump.c: the byte pump of in-process stream services: it owns and closes the fds it is given,
// reports each end once with its reason and counts, close() ends all without calling back, and
// bad arguments throw.
import { describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';
import { acceptedPair, thrown, WAIT_MS } from '../helpers/native.js';

const { echo, discard, generate } = native.PUMP_MODES;

/** A pump whose ends resolve promises, in order. */
function pumpWithEnds(idleMs = 0, pattern = Buffer.from('0123456789')) {
  const ends: Array<[number, string, number, number]> = [];
  let wake: (() => void) | null = null;
  const pump = new native.Pump((...e) => (ends.push(e), wake?.()), idleMs, 65536, pattern);
  const next = (n: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no end')), WAIT_MS);
      const check = (): void => (ends.length >= n ? (clearTimeout(timer), resolve()) : void (wake = check));
      check();
    });
  return { pump, ends, next };
}

describe('Pump', () => {
  it('echoes, reports the end once with its counts, and closes the fd it was given', async () => {
    const { pump, ends, next } = pumpWithEnds();
    const { fd, client } = await acceptedPair();
    const id = pump.serve(fd, echo);
    expect(pump.size).toBe(1);
    expect(pump.info(id)).toEqual({ bytesIn: 0, bytesOut: 0, waiting: 'read' });
    const got: Buffer[] = [];
    client.on('data', (c: Buffer) => got.push(c));
    client.end('hello');
    await next(1);
    expect(ends).toEqual([[id, 'eof', 5, 5]]);
    expect(pump.size).toBe(0);
    expect(pump.info(id)).toBeNull();
    // The client sees the end of the stream: the pump closed the fd (its number may be reused
    // already, so it is not looked at).
    await new Promise((r) => client.once('close', r));
    expect(Buffer.concat(got).toString()).toBe('hello');
    pump.close();
  });

  it('discards, and generates its pattern from where the last send stopped', async () => {
    const { pump, ends, next } = pumpWithEnds();
    const d = await acceptedPair();
    pump.serve(d.fd, discard);
    d.client.end('x'.repeat(100_000));
    await next(1);
    expect(ends[0]!.slice(1)).toEqual(['eof', 100_000, 0]);
    const g = await acceptedPair();
    pump.serve(g.fd, generate);
    const got: Buffer[] = [];
    let size = 0;
    await new Promise<void>((r) =>
      g.client.on('data', (c: Buffer) => {
        got.push(c);
        size += c.length;
        if (size > 300_000) r();
      }),
    );
    g.client.pause();
    const all = Buffer.concat(got).toString();
    expect(all).toBe('0123456789'.repeat(Math.ceil(all.length / 10)).slice(0, all.length));
    g.client.destroy();
    await next(2);
    pump.close();
  });

  it('ends a connection where nothing moved for idleMs with reason idle', async () => {
    const { pump, ends, next } = pumpWithEnds(20);
    const { fd, client } = await acceptedPair();
    const id = pump.serve(fd, echo);
    await next(1);
    expect(ends).toEqual([[id, 'idle', 0, 0]]);
    client.destroy();
    pump.close();
  });

  it('close() ends every connection without calling back, and closes their fds', async () => {
    const { pump, ends } = pumpWithEnds();
    const a = await acceptedPair();
    const b = await acceptedPair();
    pump.serve(a.fd, echo);
    pump.serve(b.fd, generate);
    const closedA = new Promise((r) => a.client.once('close', r));
    a.client.resume();
    pump.close();
    pump.close();
    expect(pump.size).toBe(0);
    await closedA;
    expect(ends).toEqual([]);
    expect(thrown(() => pump.serve(a.fd, echo)).code).toBe('EBADF');
    b.client.destroy();
  });

  it('refuses a bad mode, budget or pattern, leaving the fd to the caller', async () => {
    const { pump } = pumpWithEnds();
    const { fd, client } = await acceptedPair();
    expect(() => pump.serve(fd, 7 as never)).toThrow(RangeError);
    expect(native.getsockname(fd).family).toBe('IPv4');
    native.close(fd);
    client.destroy();
    expect(() => new native.Pump(() => {}, 0, 0, Buffer.from('x'))).toThrow(RangeError);
    expect(() => new native.Pump(() => {}, 0, 1024, Buffer.alloc(0))).toThrow(RangeError);
    pump.close();
  });
});
