import { describe, expect, it } from 'vitest';
import { clientAddress, clientFromRaw, peerFields, proxiedClient, unmapAddress } from '../../src/addr/client.js';
import type { SockAddr } from '../../src/native/index.js';
import { RawSockaddr } from '../../src/net/sockaddr.js';

describe('unmapAddress', () => {
  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:7f00:1', '::ffff:7f00:1'],
    ['::1', '::1'],
    ['10.0.0.1', '10.0.0.1'],
  ])('unmapAddress(%s) is %s', (a, want) => expect(unmapAddress(a)).toBe(want));
});

describe('clientAddress', () => {
  it.each<[string, SockAddr, { ip: string; port: number; text: string; family: 4 | 6 | null }]>([
    ['an IPv4 peer', { family: 'IPv4', address: '192.0.2.1', port: 51324 }, { ip: '192.0.2.1', port: 51324, text: '192.0.2.1:51324', family: 4 }],
    ['an IPv4 peer on a dual-stack socket', { family: 'IPv6', address: '::ffff:192.0.2.1', port: 7 }, { ip: '192.0.2.1', port: 7, text: '192.0.2.1:7', family: 4 }],
    ['an IPv6 peer', { family: 'IPv6', address: '2001:db8::1', port: 80 }, { ip: '2001:db8::1', port: 80, text: '[2001:db8::1]:80', family: 6 }],
    ['a named unix peer', { family: 'unix', path: '/run/c.sock' }, { ip: '', port: 0, text: '/run/c.sock', family: null }],
    ['an unnamed unix peer', { family: 'unix', path: '' }, { ip: '', port: 0, text: 'unix', family: null }],
  ])('reads %s once for rules, limits and logs', (_what, a, want) => {
    const c = clientAddress(a);
    expect({ ip: c.ip, port: c.port, text: c.text, family: c.addr?.family ?? null }).toEqual(want);
    expect(c.sockaddr).toBe(a);
  });

  it('gives one per-client key to every spelling of one address, and none to a unix peer', () => {
    const key = (address: string): string => clientAddress({ family: address.includes(':') ? 'IPv6' : 'IPv4', address, port: 1 }).key;
    expect(key('::ffff:192.0.2.1')).toBe(key('192.0.2.1'));
    expect(key('2001:DB8:0:0::0001')).toBe(key('2001:db8::1'));
    expect(key('::192.0.2.1')).not.toBe(key('192.0.2.1'));
    expect(clientAddress({ family: 'unix', path: '/x' }).key).toBe('');
  });

  it('reads the kernel sockaddr of a datagram sender the same way', () => {
    const raw = new RawSockaddr();
    raw.buf.writeUInt16LE(10, 0); // AF_INET6, little-endian hosts
    raw.buf.writeUInt16BE(5353, 2);
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7]).copy(raw.buf, 8);
    expect(clientFromRaw(raw)).toMatchObject({ ip: '198.51.100.7', port: 5353, text: '198.51.100.7:5353' });
  });
});

describe('proxiedClient and peerFields', () => {
  const balancer = clientAddress({ family: 'IPv4', address: '10.0.1.2', port: 40110 });
  const path = { balancer, destination: { family: 'IPv4' as const, address: '198.51.100.2', port: 25 }, env: { PROXYREMOTEIP: '10.0.1.2' } };

  it("makes the header's source the client for rules, limits and logs, and keeps the balancer beside it", () => {
    const c = proxiedClient({ family: 'IPv6', address: '::ffff:192.0.2.7', port: 50000 }, path);
    expect({ ip: c.ip, text: c.text, key: c.key }).toEqual({ ip: '192.0.2.7', text: '192.0.2.7:50000', key: clientAddress({ family: 'IPv4', address: '192.0.2.7', port: 1 }).key });
    expect(c.proxy?.balancer).toBe(balancer);
    expect(peerFields(c)).toEqual({ peer: '192.0.2.7:50000', proxy: '10.0.1.2:40110' });
  });

  it('names only the peer of a direct connection, and nobody for a wait handler', () => {
    expect(peerFields(balancer)).toEqual({ peer: '10.0.1.2:40110' });
    expect(peerFields(null)).toEqual({ peer: '' });
  });
});
