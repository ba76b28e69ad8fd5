import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { discard } from '../../src/builtins/discard.js';
import { exchange } from '../helpers/client.js';
import { serve } from './serve.js';

describe('discard.dgram', () => {
  it.each([
    { what: 'an empty', msg: Buffer.alloc(0) },
    { what: 'a short', msg: Buffer.from('hello') },
    { what: 'a 1500-byte', msg: randomBytes(1500) },
  ])(
    'never answers $what datagram',
    ({ msg }) => {
      expect(discard.dgram(msg, () => new Date())).toBeNull();
    },
  );
});

describe('discard.stream', () => {
  it('reads everything, sends nothing, and closes once the client has closed', async () => {
    const srv = await serve(discard);
    try {
      const got = await exchange(srv.port, randomBytes(2 * 1024 * 1024));
      expect(got.length).toBe(0);
      expect(await srv.ended()).toEqual({ reason: 'eof', bytesIn: 2 * 1024 * 1024, bytesOut: 0 });
    } finally {
      await srv.close();
    }
  });
});
