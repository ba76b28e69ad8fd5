// streams.ts: the daemon-wide set of pumped connections: the default cap, the cap's
// notifications, and ends handed back once, on real loopback sockets.
import { describe, expect, it } from 'vitest';
import { CHARGEN_CYCLE } from '../../src/builtins/chargen.js';
import { defaultStreamMax, Streams, type StreamEnd } from '../../src/dispatch/streams.js';
import * as native from '../../src/native/index.js';
import { within } from '../builtins/serve.js';
import { acceptedPair } from '../helpers/native.js';

describe('defaultStreamMax', () => {
  it.each([
    [64, 16],
    [1024, 256],
    [65536, 4096],
    [1048576, 4096],
    [2, 1],
  ])('with %i descriptors is %i', (nofile, max) => {
    expect(defaultStreamMax(nofile)).toBe(max);
  });
});

describe('Streams', () => {
  it('is full at its cap, says so once each way, and hands each end back once', async () => {
    const streams = new Streams({ idleMs: 0, max: 2 });
    const changes: boolean[] = [];
    streams.watch(() => changes.push(streams.full));
    const a = await acceptedPair();
    const b = await acceptedPair();
    try {
      const ends: StreamEnd[] = [];
      const ended = new Promise<void>((r) => {
        streams.serve(a.fd, { kind: 'echo' }, (e) => (ends.push(e), r()));
      });
      expect(streams.full).toBe(false);
      streams.serve(b.fd, { kind: 'generate', pattern: CHARGEN_CYCLE }, (e) => ends.push(e));
      expect(streams.full).toBe(true);
      expect(streams.size).toBe(2);
      a.client.end('bye');
      await within(ended, 'echo end');
      expect(ends).toEqual([{ reason: 'eof', bytesIn: 3, bytesOut: 3 }]);
      expect(streams.full).toBe(false);
      expect(changes).toEqual([true, false]);
      streams.close();
      expect(ends.at(-1)).toEqual({ reason: 'closed', bytesIn: 0, bytesOut: 0 });
      expect(streams.size).toBe(0);
    } finally {
      a.client.destroy();
      b.client.destroy();
      streams.close();
    }
  });
});
