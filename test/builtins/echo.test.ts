import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { echo } from '../../src/builtins/echo.js';
import { exchange } from '../helpers/client.js';
import { closed, serve, within } from './serve.js';

describe('echo.dgram', () => {
  it.each([
    { what: 'an empty', msg: Buffer.alloc(0) },
    { what: 'a short', msg: Buffer.from('hello\r\n') },
    { what: 'a 65507-byte', msg: randomBytes(65507) },
  ])('answers $what datagram with the same bytes', ({ msg }) => {
    expect(echo.dgram(msg, () => new Date())).toEqual(msg);
  });

  it('returns a copy, so the caller may reuse its receive buffer', () => {
    const msg = Buffer.from('abc');
    const reply = echo.dgram(msg, () => new Date())!;
    msg.fill(0);
    expect(reply.toString()).toBe('abc');
  });
});

describe('echo.stream', () => {
  it('sends back every byte, in order, then closes after the client does', async () => {
    const srv = await serve(echo);
    try {
      // Larger than every socket buffer on the way, so the write side must apply backpressure.
      const data = randomBytes(4 * 1024 * 1024);
      expect((await exchange(srv.port, data)).equals(data)).toBe(true);
    } finally {
      await srv.close();
    }
  });

  it('sends nothing back to a client that sends nothing', async () => {
    const srv = await serve(echo);
    try {
      expect((await exchange(srv.port)).length).toBe(0);
    } finally {
      await srv.close();
    }
  });

  it('ends the connection quietly when the client resets it', async () => {
    const srv = await serve(echo);
    try {
      const client = net.connect(srv.port, '127.0.0.1');
      client.on('error', () => {});
      await within(new Promise((r) => client.once('connect', r)), 'connect');
      const server = await srv.accepted();
      client.write(randomBytes(64 * 1024));
      client.resetAndDestroy();
      await closed(server);
    } finally {
      await srv.close();
    }
  });
});
