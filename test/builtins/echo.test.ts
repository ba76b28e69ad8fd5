import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { echo } from '../../src/builtins/echo.js';
import { exchange } from '../helpers/client.js';
import { serve, until, within } from './serve.js';

describe('echo.dgram', () => {
  it.each([
    { what: 'an empty', msg: Buffer.alloc(0) },
    { what: 'a short', msg: Buffer.from('hello\r\n') },
    { what: 'a 65507-byte', msg: randomBytes(65507) },
  ])('answers $what datagram with the same bytes', ({ msg }) => {
    expect(echo.dgram(msg, () => new Date())).toEqual(msg);
  });

  it('answers with the datagram itself, which the caller sends before reading into its buffer again', () => {
    const msg = Buffer.from('abc');
    expect(echo.dgram(msg, () => new Date())).toBe(msg);
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

  it('holds at most one chunk for a client that sends without reading, and sends it all once it reads', async () => {
    const srv = await serve(echo);
    try {
      const data = randomBytes(32 * 1024 * 1024);
      const client = net.connect(srv.port, '127.0.0.1');
      client.on('error', () => {});
      client.pause();
      await within(new Promise((r) => client.once('connect', r)), 'connect');
      client.write(data);
      client.end();
      // The client's receive buffer fills up, then ours: the pump waits for the client to read.
      await until(async () => (await srv.info(0))?.waiting === 'write', 'echo waiting for the client');
      const info = (await srv.info(0))!;
      expect(info.bytesIn - info.bytesOut).toBeLessThanOrEqual(16384);
      expect(info.bytesIn).toBeLessThan(data.length);
      const chunks: Buffer[] = [];
      client.on('data', (c: Buffer) => chunks.push(c));
      client.resume();
      await within(new Promise((r) => client.once('close', r)), 'echo to end');
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
      expect(await srv.ended()).toEqual({ reason: 'eof', bytesIn: data.length, bytesOut: data.length });
    } finally {
      await srv.close();
    }
  });

  it('closes a connection where nothing moved for the idle time', async () => {
    const srv = await serve(echo, () => new Date(), 50);
    try {
      const client = net.connect(srv.port, '127.0.0.1');
      client.on('error', () => {});
      const closedByServer = within(new Promise((r) => client.once('end', r)), 'server close');
      client.write('x');
      client.resume();
      expect((await srv.ended()).reason).toBe('idle');
      await closedByServer;
      client.destroy();
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
      await srv.info(0);
      client.write(randomBytes(64 * 1024));
      client.resetAndDestroy();
      // Ended quietly: the end says why, and nothing was thrown.
      expect((await srv.ended()).reason).toMatch(/^(ECONNRESET|EPIPE|eof)$/);
    } finally {
      await srv.close();
    }
  });
});
