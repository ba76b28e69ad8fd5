import { describe, expect, it } from 'vitest';
import { v6Value } from '../../src/access/address.js';
import { dropReason, guardPort, guardTable } from '../../src/dispatch/dgram-guard.js';
import { addressText } from '../../src/net/sockaddr.js';

const ports = new Set([7, 13, 19, 37, 7007]);

/** The bytes of an IPv4 or IPv6 literal, as the kernel's sockaddr holds them. */
function bytes(text: string): { family: 4 | 6; addr: Uint8Array } {
  if (!text.includes(':')) return { family: 4, addr: Uint8Array.from(text.split('.').map(Number)) };
  const value = v6Value(text)!;
  return { family: 6, addr: Uint8Array.from({ length: 16 }, (_, i) => Number((value >> BigInt(120 - 8 * i)) & 0xffn)) };
}

describe('dropReason on the guard table', () => {
  it.each([
    { from: '192.0.2.1', port: 40000, loop: true, want: null },
    { from: '127.0.0.1', port: 40000, loop: true, want: null },
    { from: '127.0.0.1', port: 40000, loop: false, want: 'loopback source' },
    { from: '192.0.2.1', port: 7007, loop: true, want: 'loop' },
    { from: '192.0.2.1', port: 19, loop: true, want: 'loop' },
    { from: '192.0.2.1', port: 53, loop: true, want: 'privileged source port' },
    { from: '192.0.2.1', port: 0, loop: true, want: 'privileged source port' },
    { from: '224.0.0.1', port: 40000, loop: true, want: 'multicast source' },
    { from: '239.255.255.250', port: 40000, loop: true, want: 'multicast source' },
    { from: '255.255.255.255', port: 40000, loop: true, want: 'broadcast source' },
    { from: '0.0.0.0', port: 40000, loop: true, want: 'unspecified source' },
    { from: '2001:db8::1', port: 40000, loop: true, want: null },
    { from: '::1', port: 40000, loop: true, want: null },
    { from: '::1', port: 40000, loop: false, want: 'loopback source' },
    { from: '::', port: 40000, loop: true, want: 'unspecified source' },
    { from: 'ff02::1', port: 40000, loop: true, want: 'multicast source' },
    { from: '::ffff:224.0.0.9', port: 40000, loop: true, want: 'multicast source' },
    { from: '::ffff:127.0.0.1', port: 40000, loop: false, want: 'loopback source' },
    { from: '::ffff:192.0.2.1', port: 40000, loop: true, want: null },
    { from: '::192.0.2.1', port: 40000, loop: true, want: 'ipv4-compatible source' },
    { from: '::2', port: 40000, loop: true, want: 'ipv4-compatible source' },
    { from: '::1:0:0:1', port: 40000, loop: true, want: null },
    { from: '223.255.255.255', port: 40000, loop: true, want: null },
    { from: '240.0.0.1', port: 40000, loop: true, want: null },
    { from: '254.255.255.255', port: 40000, loop: true, want: null },
    { from: '0.1.2.3', port: 40000, loop: true, want: 'unspecified source' },
    { from: '126.255.255.255', port: 40000, loop: false, want: null },
    { from: '128.0.0.1', port: 40000, loop: false, want: null },
    { from: '::ffff:255.1.2.3', port: 40000, loop: true, want: 'broadcast source' },
    { from: '::ffff:0.0.0.0', port: 40000, loop: true, want: 'unspecified source' },
    { from: '::ffff:127.0.0.1', port: 40000, loop: true, want: null },
    { from: '::0.0.1.0', port: 40000, loop: true, want: 'ipv4-compatible source' },
    { from: '::1:0:0', port: 40000, loop: true, want: null },
    { from: 'fe80::1', port: 40000, loop: false, want: null },
    { from: 'fe00::1', port: 40000, loop: true, want: null },
    { from: '192.0.2.1', port: 1023, loop: true, want: 'privileged source port' },
    { from: '192.0.2.1', port: 1024, loop: true, want: null },
    { from: '192.0.2.1', port: 65535, loop: true, want: null },
  ])('$from port $port (loopback allowed: $loop) → $want', ({ from, port, loop, want }) => {
    const { addr } = bytes(from);
    expect(dropReason(guardTable(ports, loop), addr, port)).toBe(want);
  });

  it('a table rewritten in place forgets the ports it had', () => {
    const table = guardTable([7007], true);
    const addr = bytes('192.0.2.1').addr;
    expect(dropReason(table, addr, 7007)).toBe('loop');
    expect(guardTable([7008], false, table)).toBe(table);
    expect(dropReason(table, addr, 7007)).toBe(null);
    expect(dropReason(table, addr, 7008)).toBe('loop');
    expect(dropReason(table, bytes('127.0.0.1').addr, 40000)).toBe('loopback source');
    guardPort(table, 40000);
    expect(dropReason(table, addr, 40000)).toBe('loop');
  });
});

describe('addressText', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['::1', '::1'],
    ['::', '::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80::abcd', 'fe80::abcd'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
  ])('%s is written %s, as inet_ntop writes it', (literal, want) => {
    const { family, addr } = bytes(literal);
    expect(addressText(family, addr)).toBe(want);
  });
});
