// The PROXY header: framing (how many bytes may be read without passing the header's end) and
// parsing, against the examples and limits of HAProxy's proxy-protocol.txt and a v2 header
// captured from HAProxy, plus every kind of malformed header.
import { describe, expect, it } from 'vitest';
import { crc32c, parseProxyHeader, proxyEnv, proxyProgress, V2_MAX, type ProxyFault, type ProxyVersions } from '../../src/net/proxy.js';

const SIG = '0d0a0d0a000d0a515549540a';
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A v2 header: version/command byte, family/transport byte, then `body` (its length is filled in). */
function v2(verCmd: number, fam: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = verCmd;
  head[1] = fam;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([hex(SIG), head, body]);
}
/** One TLV. */
function tlv(type: number, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value) : value;
  const h = Buffer.alloc(3);
  h[0] = type;
  h.writeUInt16BE(v.length, 1);
  return Buffer.concat([h, v]);
}
/** TCP over IPv4 addresses: 192.0.2.1:50000 → 198.51.100.2:443. */
const V4_BLOCK = hex('c0000201 c6336402 c350 01bb');
/** TCP over IPv6: 2001:db8::1:50000 → 2001:db8::2:443. */
const V6_BLOCK = hex('20010db8000000000000000000000001 20010db8000000000000000000000002 c350 01bb');
const F6 = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';

describe('parseProxyHeader, version 1', () => {
  it('has the line lengths the spec gives: 56, 104, 15 and 107 bytes', () => {
    const lines = [
      'PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n',
      `PROXY TCP6 ${F6} ${F6} 65535 65535\r\n`,
      'PROXY UNKNOWN\r\n',
      `PROXY UNKNOWN ${F6} ${F6} 65535 65535\r\n`,
    ];
    expect(lines.map((l) => l.length)).toEqual([56, 104, 15, 107]);
  });

  it.each([
    ['the spec example', 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n', ['192.168.0.1', 56324], ['192.168.0.11', 443]],
    ['the longest TCP4 line (56 bytes)', 'PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n', ['255.255.255.255', 65535], ['255.255.255.255', 65535]],
    ['the longest TCP6 line (104 bytes)', `PROXY TCP6 ${F6} ${F6} 65535 65535\r\n`, [F6, 65535], [F6, 65535]],
    ['zeros', 'PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n', ['0.0.0.0', 0], ['0.0.0.0', 0]],
    ['IPv6 in capitals and uncompressed, written back canonically', 'PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 1 2\r\n', ['2001:db8::1', 1], ['::1', 2]],
    ['a v4-mapped IPv6 source', 'PROXY TCP6 ::FFFF:192.0.2.7 ::1 1 2\r\n', ['::ffff:192.0.2.7', 1], ['::1', 2]],
  ])('reads %s', (_what, line, [sip, sport], [dip, dport]) => {
    const h = parseProxyHeader(ascii(line));
    expect(h).toMatchObject({ kind: 'proxy', version: 1, source: { address: sip, port: sport }, destination: { address: dip, port: dport } });
  });

  it.each([
    ['the short UNKNOWN line (15 bytes)', 'PROXY UNKNOWN\r\n'],
    ['the longest UNKNOWN line (107 bytes), ignoring what follows UNKNOWN', `PROXY UNKNOWN ${F6} ${F6} 65535 65535\r\n`],
    ['UNKNOWN followed by anything', 'PROXY UNKNOWN whatever it says\r\n'],
  ])('takes %s as unspecified (the real endpoints apply)', (_what, line) => {
    expect(parseProxyHeader(ascii(line))).toEqual({ kind: 'unspec', version: 1, tlvs: {} });
  });

  it.each<[string, string, ProxyFault]>([
    ['a bare LF', 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n', 'syntax'],
    ['a lone CR inside the line', 'PROXY TCP4 192.0.2.1\r192.0.2.2 1 2\r\n', 'syntax'],
    ['two spaces', 'PROXY TCP4  192.0.2.1 192.0.2.2 1 2\r\n', 'syntax'],
    ['a trailing space', 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2 \r\n', 'syntax'],
    ['a missing port', 'PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n', 'syntax'],
    ['an extra field', 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n', 'syntax'],
    ['a byte that is not US-ASCII', 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2\u00e9\r\n', 'syntax'],
    ['a protocol other than TCP4, TCP6 and UNKNOWN', 'PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n', 'family'],
    ['a lower-case protocol', 'PROXY tcp4 192.0.2.1 192.0.2.2 1 2\r\n', 'family'],
    ['an octet with a leading zero', 'PROXY TCP4 192.0.2.01 192.0.2.2 1 2\r\n', 'address'],
    ['an octet above 255', 'PROXY TCP4 192.0.2.256 192.0.2.2 1 2\r\n', 'address'],
    ['three octets', 'PROXY TCP4 192.0.2 192.0.2.2 1 2\r\n', 'address'],
    ['a host name', 'PROXY TCP4 localhost 192.0.2.2 1 2\r\n', 'address'],
    ['IPv6 under TCP4', 'PROXY TCP4 ::1 ::1 1 2\r\n', 'address'],
    ['IPv4 under TCP6', 'PROXY TCP6 192.0.2.1 ::1 1 2\r\n', 'address'],
    ['an IPv6 zone', 'PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', 'address'],
    ['two double colons', 'PROXY TCP6 1::2::3 ::1 1 2\r\n', 'address'],
    ['a port above 65535', 'PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n', 'address'],
    ['a port with a leading zero', 'PROXY TCP4 192.0.2.1 192.0.2.2 1 0443\r\n', 'address'],
    ['a negative port', 'PROXY TCP4 192.0.2.1 192.0.2.2 -1 2\r\n', 'address'],
    ['a line of 108 bytes', `PROXY UNKNOWN ${F6} ${F6} 65535 655355\r\n`, 'too-long'],
    ['another protocol altogether', 'GET / HTTP/1.0\r\n', 'signature'],
  ])('rejects %s', (_what, line, f) => {
    expect(parseProxyHeader(ascii(line))).toEqual({ kind: 'fault', fault: f });
  });
});

describe('parseProxyHeader, version 2', () => {
  it('reads the header HAProxy sent for a TCP over IPv4 connection (172.19.0.1:42578 to 172.19.0.3:80)', () => {
    const h = parseProxyHeader(hex(`${SIG} 21 11 000c ac130001 ac130003 a652 0050`));
    expect(h).toEqual({
      kind: 'proxy',
      version: 2,
      source: { family: 'IPv4', address: '172.19.0.1', port: 42578 },
      destination: { family: 'IPv4', address: '172.19.0.3', port: 80 },
      tlvs: {},
    });
  });

  it('reads TCP over IPv6', () => {
    expect(parseProxyHeader(v2(0x21, 0x21, V6_BLOCK))).toMatchObject({
      kind: 'proxy',
      source: { family: 'IPv6', address: '2001:db8::1', port: 50000 },
      destination: { family: 'IPv6', address: '2001:db8::2', port: 443 },
    });
  });

  it.each([
    ['LOCAL with no address (a health check)', v2(0x20, 0x00, Buffer.alloc(0))],
    ['LOCAL with addresses and a family it must ignore', v2(0x20, 0xff, Buffer.concat([V4_BLOCK, Buffer.from([1, 2, 3])]))],
  ])('takes %s as the balancer itself', (_what, buf) => {
    expect(parseProxyHeader(buf)).toEqual({ kind: 'local', version: 2, tlvs: {} });
  });

  it.each([
    ['AF_UNSPEC', v2(0x21, 0x00, Buffer.alloc(0))],
    ['an unspecified transport', v2(0x21, 0x10, V4_BLOCK)],
    ['UDP over IPv4', v2(0x21, 0x12, V4_BLOCK)],
    ['UDP over IPv6', v2(0x21, 0x22, V6_BLOCK)],
    ['a unix stream', v2(0x21, 0x31, Buffer.alloc(216))],
    ['a unix datagram', v2(0x21, 0x32, Buffer.alloc(216))],
  ])('falls back to the real endpoints for %s', (_what, buf) => {
    expect(parseProxyHeader(buf)).toMatchObject({ kind: 'unspec', version: 2 });
  });

  it('gives the authority, ALPN and SSL TLVs and skips the others', () => {
    const ssl = Buffer.concat([
      Buffer.from([0x07, 0, 0, 0, 0]),
      tlv(0x21, 'TLSv1.3'),
      tlv(0x22, 'client.example'),
      tlv(0x23, 'TLS_AES_256_GCM_SHA384'),
      tlv(0x24, 'RSA-SHA256'),
      tlv(0x25, 'RSA2048'),
    ]);
    const body = Buffer.concat([V4_BLOCK, tlv(0x04, Buffer.alloc(5)), tlv(0x02, 'www.example.org'), tlv(0x01, 'h2'), tlv(0x05, 'id-1'), tlv(0x20, ssl), tlv(0xe0, 'custom')]);
    const h = parseProxyHeader(v2(0x21, 0x11, body));
    expect(h).toMatchObject({
      kind: 'proxy',
      tlvs: {
        authority: 'www.example.org',
        alpn: 'h2',
        ssl: { tls: true, clientCert: true, verify: 0, version: 'TLSv1.3', cn: 'client.example', cipher: 'TLS_AES_256_GCM_SHA384', sigAlg: 'RSA-SHA256', keyAlg: 'RSA2048' },
      },
    });
  });

  it('leaves out a TLV value that is not text, without rejecting the header', () => {
    const h = parseProxyHeader(v2(0x21, 0x11, Buffer.concat([V4_BLOCK, tlv(0x02, Buffer.from('a\nb')), tlv(0x01, Buffer.from([0xff, 0xfe]))])));
    expect(h).toMatchObject({ kind: 'proxy', tlvs: {} });
  });

  it('checks a CRC32C TLV', () => {
    const body = Buffer.concat([V4_BLOCK, tlv(0x03, Buffer.alloc(4))]);
    const good = v2(0x21, 0x11, body);
    good.writeUInt32BE(crc32c(good), good.length - 4);
    expect(parseProxyHeader(good)).toMatchObject({ kind: 'proxy' });
    const bad = Buffer.from(good);
    bad[bad.length - 1]! ^= 1;
    expect(parseProxyHeader(bad)).toEqual({ kind: 'fault', fault: 'checksum' });
  });

  it.each<[string, Buffer, ProxyFault]>([
    ['version 1 in the binary format', v2(0x11, 0x11, V4_BLOCK), 'version'],
    ['version 3', v2(0x31, 0x11, V4_BLOCK), 'version'],
    ['an unassigned command', v2(0x22, 0x11, V4_BLOCK), 'command'],
    ['an unassigned family', v2(0x21, 0x41, V4_BLOCK), 'family'],
    ['an unassigned transport', v2(0x21, 0x13, V4_BLOCK), 'family'],
    ['a length shorter than two IPv4 addresses and ports', v2(0x21, 0x11, V4_BLOCK.subarray(0, 11)), 'length'],
    ['a length shorter than two IPv6 addresses and ports', v2(0x21, 0x21, V4_BLOCK), 'length'],
    ['a length shorter than two unix paths', v2(0x21, 0x31, Buffer.alloc(215)), 'length'],
    ['a TLV longer than what is left', v2(0x21, 0x11, Buffer.concat([V4_BLOCK, hex('02 0005 6162')])), 'tlv'],
    ['two stray bytes after the TLVs', v2(0x21, 0x11, Buffer.concat([V4_BLOCK, tlv(0x04, ''), hex('0200')])), 'tlv'],
    ['an SSL TLV without its client and verify fields', v2(0x21, 0x11, Buffer.concat([V4_BLOCK, tlv(0x20, hex('01 0000'))])), 'tlv'],
    ['an SSL sub-TLV that overruns the SSL TLV', v2(0x21, 0x11, Buffer.concat([V4_BLOCK, tlv(0x20, hex('01 00000000 21 0009 544c53'))])), 'tlv'],
    ['a CRC32C TLV that is not 4 bytes', v2(0x21, 0x11, Buffer.concat([V4_BLOCK, tlv(0x03, hex('000000'))])), 'tlv'],
    ['a header over the cap', v2(0x21, 0x11, Buffer.concat([V4_BLOCK, tlv(0x04, Buffer.alloc(V2_MAX))])), 'too-long'],
  ])('rejects %s', (_what, buf, f) => {
    expect(parseProxyHeader(buf)).toEqual({ kind: 'fault', fault: f });
  });
});

describe('crc32c', () => {
  it('gives the check value of RFC 4960 appendix B for "123456789"', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});

describe('proxyProgress', () => {
  it.each<[string, Buffer, ProxyVersions, ReturnType<typeof proxyProgress>]>([
    ['nothing yet, v2: the fixed 16 bytes', Buffer.alloc(0), 'v2', { kind: 'more', max: 16, peek: false }],
    ['nothing yet, v1: the shortest v1 line', Buffer.alloc(0), 'v1', { kind: 'more', max: 15, peek: false }],
    ['nothing yet, any: the shortest v1 line, which is shorter than any v2 header', Buffer.alloc(0), 'any', { kind: 'more', max: 15, peek: false }],
    ['part of the v2 signature', hex('0d0a0d0a00'), 'any', { kind: 'more', max: 11, peek: false }],
    ['the v2 fixed part: then its declared length', v2(0x21, 0x11, V4_BLOCK).subarray(0, 16), 'v2', { kind: 'more', max: 12, peek: false }],
    ['a whole v2 header', v2(0x21, 0x11, V4_BLOCK), 'any', { kind: 'done' }],
    ['15 bytes of a v1 line: peek for its LF', ascii('PROXY TCP4 192.'), 'any', { kind: 'more', max: 92, peek: true }],
    ['a v1 line up to its LF', ascii('PROXY UNKNOWN\r\n'), 'v1', { kind: 'done' }],
    ['the first byte of something else', ascii('G'), 'any', { kind: 'fault', fault: 'signature' }],
    ['a wrong byte inside "PROXY "', ascii('PROXZ'), 'any', { kind: 'fault', fault: 'signature' }],
    ['a wrong byte inside the v2 signature', hex('0d0a0d0a000d0a5155495420'), 'any', { kind: 'fault', fault: 'signature' }],
    ['TLS where a header should be', hex('160301'), 'any', { kind: 'fault', fault: 'signature' }],
    ['a v1 header on a v2 service', ascii('PROXY'), 'v2', { kind: 'fault', fault: 'signature' }],
    ['a v2 header on a v1 service', hex('0d0a'), 'v1', { kind: 'fault', fault: 'signature' }],
    ['a v2 version other than 2, as soon as its byte is read', v2(0x11, 0x11, V4_BLOCK).subarray(0, 16), 'any', { kind: 'fault', fault: 'version' }],
    ['a v2 length over the cap, before its bytes are read', v2(0x21, 0x11, Buffer.alloc(V2_MAX)).subarray(0, 16), 'any', { kind: 'fault', fault: 'too-long' }],
    ['107 bytes of a v1 line without an LF', ascii(`PROXY ${'x'.repeat(101)}`), 'v1', { kind: 'fault', fault: 'too-long' }],
    ['an LF inside the first 15 bytes (no v1 line is that short)', ascii('PROXY TCP4\r\nGET'), 'any', { kind: 'fault', fault: 'syntax' }],
  ])('%s', (_what, have, versions, want) => {
    expect(proxyProgress(have, versions)).toEqual(want);
  });

  /**
   * Reads a header the way dispatch/proxy.ts does, from a stream that arrives in `chunks`:
   * returns the header bytes taken and what is left unread.
   */
  function frame(stream: Buffer, chunks: number[], versions: ProxyVersions): { taken: Buffer; left: Buffer; last: string } {
    let arrived = 0;
    let consumed = 0;
    let have = Buffer.alloc(0);
    for (let step = 0; step < 10_000; step++) {
      const p = proxyProgress(have, versions);
      if (p.kind !== 'more') return { taken: have, left: stream.subarray(consumed), last: p.kind };
      if (arrived === consumed) arrived = Math.min(stream.length, arrived + (chunks[step % chunks.length] ?? 1));
      const queued = stream.subarray(consumed, arrived);
      let take = Math.min(p.max, queued.length);
      if (p.peek) {
        const lf = queued.subarray(0, take).indexOf(0x0a);
        if (lf >= 0) take = lf + 1;
      }
      have = Buffer.concat([have, queued.subarray(0, take)]);
      consumed += take;
    }
    throw new Error('no end');
  }

  const HEADERS: Array<[string, Buffer]> = [
    ['v1 TCP4', ascii('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n')],
    ['v1 TCP6 at its longest', ascii(`PROXY TCP6 ${F6} ${F6} 65535 65535\r\n`)],
    ['v1 UNKNOWN at its shortest', ascii('PROXY UNKNOWN\r\n')],
    ['v1 UNKNOWN at its longest', ascii(`PROXY UNKNOWN ${F6} ${F6} 65535 65535\r\n`)],
    ['v2 TCP4', v2(0x21, 0x11, V4_BLOCK)],
    ['v2 LOCAL', v2(0x20, 0x00, Buffer.alloc(0))],
    ['v2 with TLVs', v2(0x21, 0x21, Buffer.concat([V6_BLOCK, tlv(0x02, 'example.org'), tlv(0x04, Buffer.alloc(300))]))],
  ];
  const SPLITS: Array<[string, number[]]> = [
    ['at once', [100_000]],
    ['one byte at a time', [1]],
    ['in odd pieces', [3, 7, 2, 11]],
  ];

  it.each(HEADERS.flatMap(([what, h]) => SPLITS.map(([how, chunks]) => [what, how, h, chunks] as const)))(
    'takes exactly the %s header, arriving %s, and leaves every byte of the client',
    (_what, _how, header, chunks) => {
      // The client's data starts with an LF and a CR LF: bytes a careless v1 reader would take.
      const data = ascii('\n\r\nGET / HTTP/1.0\r\n');
      const r = frame(Buffer.concat([header, data]), chunks, 'any');
      expect(r.last).toBe('done');
      expect(r.taken.equals(header)).toBe(true);
      expect(r.left.equals(data)).toBe(true);
      expect(parseProxyHeader(r.taken).kind).not.toBe('fault');
    },
  );
});

describe('proxyEnv', () => {
  it("names the balancer and only the TLVs that were sent", () => {
    expect(proxyEnv({ ip: '127.0.0.1', port: 40000 }, { authority: 'example.org' })).toEqual({
      PROXYREMOTEIP: '127.0.0.1',
      PROXYREMOTEPORT: '40000',
      PROXYAUTHORITY: 'example.org',
    });
  });

  it('names every TLS detail', () => {
    const env = proxyEnv(
      { ip: '::1', port: 1 },
      { alpn: 'http/1.1', ssl: { tls: true, clientCert: false, verify: 1, version: 'TLSv1.2', cn: 'c', cipher: 'x', sigAlg: 's', keyAlg: 'k' } },
    );
    expect(env).toEqual({
      PROXYREMOTEIP: '::1',
      PROXYREMOTEPORT: '1',
      PROXYALPN: 'http/1.1',
      PROXYSSL: '1',
      PROXYSSLCERT: '0',
      PROXYSSLVERIFY: '1',
      PROXYSSLVERSION: 'TLSv1.2',
      PROXYSSLCN: 'c',
      PROXYSSLCIPHER: 'x',
      PROXYSSLSIGALG: 's',
      PROXYSSLKEYALG: 'k',
    });
  });
});
