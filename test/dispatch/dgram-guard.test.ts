import { describe, expect, it } from 'vitest';
import { badDatagramSource } from '../../src/dispatch/dgram-guard.js';

const ports = new Set([7, 13, 19, 37, 7007]);
const v4 = (address: string, port: number) => ({ family: 'IPv4' as const, address, port });
const v6 = (address: string, port: number) => ({ family: 'IPv6' as const, address, port });

describe('badDatagramSource', () => {
  it.each([
    { from: v4('192.0.2.1', 40000), loop: true, want: null },
    { from: v4('127.0.0.1', 40000), loop: true, want: null },
    { from: v4('127.0.0.1', 40000), loop: false, want: 'loopback source' },
    { from: v4('192.0.2.1', 7007), loop: true, want: 'loop' },
    { from: v4('192.0.2.1', 19), loop: true, want: 'loop' },
    { from: v4('192.0.2.1', 53), loop: true, want: 'privileged source port' },
    { from: v4('192.0.2.1', 0), loop: true, want: 'privileged source port' },
    { from: v4('224.0.0.1', 40000), loop: true, want: 'multicast source' },
    { from: v4('239.255.255.250', 40000), loop: true, want: 'multicast source' },
    { from: v4('255.255.255.255', 40000), loop: true, want: 'broadcast source' },
    { from: v4('0.0.0.0', 40000), loop: true, want: 'unspecified source' },
    { from: v6('2001:db8::1', 40000), loop: true, want: null },
    { from: v6('::1', 40000), loop: false, want: 'loopback source' },
    { from: v6('::', 40000), loop: true, want: 'unspecified source' },
    { from: v6('ff02::1', 40000), loop: true, want: 'multicast source' },
    { from: v6('::ffff:224.0.0.9', 40000), loop: true, want: 'multicast source' },
    { from: v6('::ffff:192.0.2.1', 40000), loop: true, want: null },
    { from: v6('::192.0.2.1', 40000), loop: true, want: 'ipv4-compatible source' },
    { from: { family: 'unix' as const, path: '/x' }, loop: true, want: null },
  ])('$from.address:$from.port (loopback allowed: $loop) → $want', ({ from, loop, want }) => {
    expect(badDatagramSource(from, ports, loop)).toBe(want);
  });
});
