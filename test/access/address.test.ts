import { describe, expect, it } from 'vitest';
import {
  addressPatternProblem,
  matchAddress,
  parseAddressList,
  parseAddressPattern,
  parseIp,
  type AddressPattern,
} from '../../src/access/address.js';

/** Parses a pattern the test expects to be valid. */
function pattern(text: string): AddressPattern {
  const p = parseAddressPattern(text);
  if (!p) throw new Error(`test pattern "${text}" does not parse: ${addressPatternProblem(text)}`);
  return p;
}

describe('parseIp', () => {
  it.each([
    { what: 'reads a dotted quad', text: '192.0.2.1', family: 4, value: 0xc0000201n },
    { what: 'reads the zero address', text: '0.0.0.0', family: 4, value: 0n },
    { what: 'reads a compressed ipv6 address', text: '2001:db8::1', family: 6, value: 0x20010db8000000000000000000000001n },
    { what: 'reads the ipv6 loopback', text: '::1', family: 6, value: 1n },
    { what: 'reads ipv6 in upper case', text: '2001:DB8::A', family: 6, value: 0x20010db800000000000000000000000an },
    { what: 'reads a full ipv6 address', text: '1:2:3:4:5:6:7:8', family: 6, value: 0x00010002000300040005000600070008n },
    { what: 'reads a v4-mapped address as ipv4', text: '::ffff:192.0.2.1', family: 4, value: 0xc0000201n },
    { what: 'reads a v4-mapped address in hex as ipv4', text: '::ffff:c000:201', family: 4, value: 0xc0000201n },
    { what: 'keeps an ipv4-compatible address as ipv6', text: '::192.0.2.1', family: 6, value: 0xc0000201n },
    { what: 'ignores a zone index', text: 'fe80::1%eth0', family: 6, value: 0xfe800000000000000000000000000001n },
  ])('$what', ({ text, family, value }) => {
    expect(parseIp(text)).toEqual({ family, value });
  });

  it.each(['', 'unknown', '256.0.0.1', '01.2.3.4', '1.2.3', '[::1]', '1::2::3', 'localhost', '/run/x.sock'])(
    'refuses %j',
    (text) => {
      expect(parseIp(text)).toBeNull();
    },
  );
});

describe('matchAddress', () => {
  it.each([
    // IPv4 literals
    { what: 'an ipv4 literal matches itself', pattern: '192.0.2.1', ip: '192.0.2.1', match: true },
    { what: 'an ipv4 literal does not match its neighbour', pattern: '192.0.2.1', ip: '192.0.2.2', match: false },
    { what: 'an ipv4 literal with a zero last octet is one address, not a net', pattern: '10.0.0.0', ip: '10.0.0.1', match: false },
    // CIDR
    { what: 'a /24 matches inside', pattern: '192.0.2.0/24', ip: '192.0.2.200', match: true },
    { what: 'a /24 does not match outside', pattern: '192.0.2.0/24', ip: '192.0.3.1', match: false },
    { what: 'a /0 matches every ipv4 address', pattern: '0.0.0.0/0', ip: '203.0.113.9', match: true },
    { what: 'a /0 does not match ipv6', pattern: '0.0.0.0/0', ip: '2001:db8::1', match: false },
    { what: 'a /32 matches only itself', pattern: '10.1.2.3/32', ip: '10.1.2.4', match: false },
    { what: 'an odd prefix length splits an octet', pattern: '10.0.0.0/9', ip: '10.127.255.255', match: true },
    { what: 'an odd prefix length excludes the other half', pattern: '10.0.0.0/9', ip: '10.128.0.0', match: false },
    // tcp_wrappers net/mask
    { what: 'net/mask matches inside', pattern: '192.168.0.0/255.255.0.0', ip: '192.168.77.1', match: true },
    { what: 'net/mask does not match outside', pattern: '192.168.0.0/255.255.0.0', ip: '192.169.0.1', match: false },
    { what: 'a non-contiguous net/mask works as tcpd computes it', pattern: '10.0.0.1/255.0.0.255', ip: '10.9.9.1', match: true },
    // tcp_wrappers prefixes
    { what: 'a two-octet prefix matches inside', pattern: '192.168.', ip: '192.168.4.5', match: true },
    { what: 'a two-octet prefix does not match a longer octet', pattern: '192.168.', ip: '192.16.8.1', match: false },
    { what: 'a one-octet prefix matches its /8', pattern: '10.', ip: '10.200.1.1', match: true },
    { what: 'a one-octet prefix does not match 100/8', pattern: '10.', ip: '100.0.0.1', match: false },
    { what: 'a three-octet prefix matches its /24', pattern: '192.0.2.', ip: '192.0.2.77', match: true },
    // IPv6
    { what: 'an ipv6 literal matches itself', pattern: '::1', ip: '::1', match: true },
    { what: 'an ipv6 literal in brackets matches itself', pattern: '[::1]', ip: '::1', match: true },
    { what: 'an ipv6 literal matches another spelling of itself', pattern: '[2001:db8:0:0::1]', ip: '2001:DB8::1', match: true },
    { what: 'an ipv6 net in brackets matches inside', pattern: '[2001:db8::]/32', ip: '2001:db8:ffff::1', match: true },
    { what: 'an ipv6 net in brackets does not match outside', pattern: '[2001:db8::]/32', ip: '2001:db9::1', match: false },
    { what: 'a bare ipv6 net matches inside', pattern: 'fe80::/10', ip: 'fe80::1%eth0', match: true },
    { what: 'an ipv6 pattern never matches ipv4', pattern: '[::]/0', ip: '192.0.2.1', match: false },
    // v4-mapped clients and patterns
    { what: 'an ipv4 literal matches its v4-mapped client', pattern: '192.0.2.1', ip: '::ffff:192.0.2.1', match: true },
    { what: 'an ipv4 net matches a v4-mapped client', pattern: '10.0.0.0/8', ip: '::ffff:10.9.8.7', match: true },
    { what: 'an ipv4 prefix matches a v4-mapped client', pattern: '192.168.', ip: '::FFFF:192.168.1.1', match: true },
    { what: 'an ipv4 net does not match a v4-mapped client outside it', pattern: '10.0.0.0/8', ip: '::ffff:11.0.0.1', match: false },
    { what: 'a v4-mapped pattern matches the plain ipv4 client', pattern: '[::ffff:10.0.0.0]/104', ip: '10.1.1.1', match: true },
    { what: 'a v4-mapped literal pattern matches the plain ipv4 client', pattern: '[::ffff:192.0.2.1]', ip: '192.0.2.1', match: true },
    { what: 'an ipv4-compatible client is not ipv4', pattern: '192.0.2.1', ip: '::192.0.2.1', match: false },
    // clients that are not addresses
    { what: 'a client that is not an address matches nothing', pattern: '0.0.0.0/0', ip: 'unknown', match: false },
  ])('$what', ({ pattern: text, ip, match }) => {
    expect(matchAddress(pattern(text), ip)).toBe(match);
  });
});

describe('parseAddressPattern', () => {
  it.each([
    { what: 'an ipv4 literal is a /32', text: '192.0.2.1', family: 4, network: 0xc0000201n, mask: 0xffffffffn },
    { what: 'a cidr keeps its prefix as a mask', text: '10.0.0.0/8', family: 4, network: 0x0a000000n, mask: 0xff000000n },
    { what: 'a net/mask keeps the mask', text: '10.0.0.0/255.255.0.0', family: 4, network: 0x0a000000n, mask: 0xffff0000n },
    { what: 'a prefix is a whole-octet net', text: '172.16.', family: 4, network: 0xac100000n, mask: 0xffff0000n },
    { what: 'an ipv6 net in brackets keeps its prefix', text: '[2001:db8::]/32', family: 6, network: 0x20010db8n << 96n, mask: 0xffffffffn << 96n },
    { what: 'a v4-mapped net is folded to ipv4', text: '[::ffff:0:0]/96', family: 4, network: 0n, mask: 0n },
  ])('$what', ({ text, family, network, mask }) => {
    expect(parseAddressPattern(text)).toEqual({ family, network, mask, text });
  });

  it.each([
    { what: 'an empty word', text: '' },
    { what: 'a host name', text: 'localhost' },
    { what: 'an octet above 255', text: '10.0.0.256' },
    { what: 'three octets without the trailing dot', text: '192.168.1' },
    { what: 'four octets with a trailing dot', text: '1.2.3.4.' },
    { what: 'a prefix with a leading zero', text: '010.' },
    { what: 'a prefix length above 32', text: '10.0.0.0/33' },
    { what: 'a prefix length with a leading zero', text: '10.0.0.0/08' },
    { what: 'host bits after the prefix length', text: '10.0.0.1/8' },
    { what: 'host bits outside a net/mask', text: '10.1.0.0/255.0.0.0' },
    { what: 'a bad netmask', text: '10.0.0.0/255.255.0' },
    { what: 'an ipv6 prefix length above 128', text: '[::]/129' },
    { what: 'ipv6 host bits after the prefix length', text: '[2001:db8::1]/32' },
    { what: 'ipv4 in brackets', text: '[192.0.2.1]' },
    { what: 'an unclosed bracket', text: '[::1' },
    { what: 'text after the bracket', text: '[::1]x' },
    { what: 'a zone index', text: '[fe80::1%eth0]' },
    { what: 'a double double colon', text: '1::2::3' },
    { what: 'a missing prefix length', text: '10.0.0.0/' },
  ])('refuses $what and says why', ({ text }) => {
    expect(parseAddressPattern(text)).toBeNull();
    expect(addressPatternProblem(text)).toMatch(/^expected /);
  });

  it('names the net a pattern with host bits probably meant', () => {
    expect(addressPatternProblem('10.0.0.1/8')).toContain('10.0.0.0/8');
    expect(addressPatternProblem('[2001:db8::1]/32')).toContain('[2001:db8::]/32');
  });

  it('has no problem with a valid pattern', () => {
    expect(addressPatternProblem('10.0.0.0/8')).toBeNull();
  });
});

describe('parseAddressList', () => {
  it.each([
    { what: 'reads blank-separated patterns', text: '127.0.0.1 10.0.0.0/8 [::1]', good: ['127.0.0.1', '10.0.0.0/8', '[::1]'], bad: [] },
    { what: 'reads comma-separated patterns', text: '127.0.0.1,10.0.0.0/8, ::1', good: ['127.0.0.1', '10.0.0.0/8', '::1'], bad: [] },
    { what: 'ignores surrounding and repeated separators', text: '  ,192.168.  ,,\t', good: ['192.168.'], bad: [] },
    { what: 'returns the words that are not addresses, in order', text: 'example.org 10.0.0.1 10.0.0.1/8 ALL', good: ['10.0.0.1'], bad: ['example.org', '10.0.0.1/8', 'ALL'] },
    { what: 'returns nothing for an empty list', text: '', good: [], bad: [] },
  ])('$what', ({ text, good, bad }) => {
    const list = parseAddressList(text);
    expect(list.patterns.map((p) => p.text)).toEqual(good);
    expect(list.bad).toEqual(bad);
  });

  it('yields patterns that match', () => {
    const { patterns } = parseAddressList('127.0.0.1 10.0.0.0/8 [::1]');
    const allowed = (ip: string): boolean => patterns.some((p) => matchAddress(p, ip));
    expect(['127.0.0.1', '10.2.3.4', '::1', '::ffff:10.0.0.1', '192.0.2.1', '::2'].map(allowed)).toEqual([true, true, true, true, false, false]);
  });
});
