import { describe, expect, it } from 'vitest';
import { badDatagramSource } from '../../src/dispatch/dgram-guard.js';
import { addressText } from '../../src/net/sockaddr.js';

const ports = new Set([7, 13, 19, 37, 7007]);

/** The bytes of an IPv4 or IPv6 literal, as the kernel's sockaddr holds them. */
function bytes(text: string): { family: 4 | 6; addr: Uint8Array } {
  if (!text.includes(':')) return { family: 4, addr: Uint8Array.from(text.split('.').map(Number)) };
  let t = text;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(t);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    t = `${t.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined];
  const words = (s: string | undefined) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const tl = words(tail);
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - tl.length).fill(0), ...tl];
  const addr = new Uint8Array(16);
  groups.forEach((g, i) => {
    addr[2 * i] = g >> 8;
    addr[2 * i + 1] = g & 0xff;
  });
  return { family: 6, addr };
}

describe('badDatagramSource', () => {
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
  ])('$from port $port (loopback allowed: $loop) → $want', ({ from, port, loop, want }) => {
    const { family, addr } = bytes(from);
    expect(badDatagramSource(family, addr, port, ports, loop)).toBe(want);
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
