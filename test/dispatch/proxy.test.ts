// The PROXY header step of nowait services built directly on a test Host: real connections on
// 127.0.0.1 (and 127.0.0.2 for a sender that is not a balancer), the test's poller, timers and
// spawn. A good header makes its client the client for everything; a hostile one starts nothing,
// is counted and logged with the sender's address, and holds up nobody else.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAddressList } from '../../src/access/address.js';
import type { ServiceSettings } from '../../src/config/settings.js';
import { HEADER_TIMEOUT_MS } from '../../src/dispatch/proxy.js';
import { Service } from '../../src/dispatch/service.js';
import * as native from '../../src/native/index.js';
import { NO_PEERS, testHost, type ManualPoller, type TestHost } from '../helpers/host.js';
import { planOf } from '../helpers/plan.js';
import { until } from '../helpers/wait.js';

const SIG = '0d0a0d0a000d0a515549540a';
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
/** v2 PROXY, TCP over IPv4: 192.0.2.7:50000 → 198.51.100.2:443, then `tlvs`. */
const v2 = (tlvs = ''): Buffer => {
  const body = hex(`c0000207 c6336402 c350 01bb ${tlvs}`);
  return Buffer.concat([hex(`${SIG} 21 11`), Buffer.from([body.length >> 8, body.length & 0xff]), body]);
};
const V1 = 'PROXY TCP4 192.0.2.7 198.51.100.2 50000 443\r\n';

const open: Service[] = [];
const clients: net.Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  for (const c of clients.splice(0)) c.destroy();
});

/** A started service for `line` whose section has `section` (proxy_from 127.0.0.1 unless given). */
function service(t: TestHost, line: string, section: ServiceSettings = {}): Service {
  const name = `${line.split(/\s+/)[0]!.replace(/^.*:/, '')}/tcp`;
  const own: ServiceSettings = { proxy_protocol: 'any', proxy_from: parseAddressList('127.0.0.1').patterns, ...section };
  const svc = new Service(planOf(line, { sections: { [name]: own } }), t.host, NO_PEERS);
  open.push(svc);
  expect(svc.start()).toBe(true);
  return svc;
}

/** A connected client; `data` collects what it receives, `gone` resolves when the server closes, `source` is its address and port. */
type Client = net.Socket & { data: () => string; gone: Promise<void>; source: string };

/** Connects a client from `from`. */
async function connect(port: number, from = '127.0.0.1'): Promise<Client> {
  const c = net.connect({ port, host: '127.0.0.1', localAddress: from }) as Client;
  clients.push(c);
  let buf = '';
  c.on('data', (d: Buffer) => (buf += d.toString('latin1')));
  c.on('error', () => {});
  c.data = () => buf;
  c.gone = new Promise((resolve) => c.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', resolve);
    c.once('error', reject);
  });
  c.source = `${from}:${c.localPort}`;
  return c;
}

/** Accepts what is pending on the service, and returns the poller the header step put on the new connection. */
function acceptOne(t: TestHost, svc: Service): ManualPoller {
  const before = t.pollers.length;
  t.poller(svc.fd).fire();
  expect(t.pollers.length).toBe(before + 1);
  return t.pollers.at(-1)!;
}

/** Waits until `n` bytes are queued on the server side of the connection `p` watches. */
async function queued(p: ManualPoller, n: number): Promise<void> {
  const buf = Buffer.alloc(n + 1);
  await until(() => (native.recvfrom(p.fd, buf, true)?.bytes ?? 0) >= n, `${n} bytes queued`);
}

/** Sends `bytes` and fires the connection's poller once they have arrived (the step takes every byte it is given). */
async function send(c: net.Socket, p: ManualPoller, bytes: Buffer | string): Promise<void> {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  c.write(b);
  await queued(p, b.length);
  p.fire();
}

const env = (t: TestHost, i = 0): Record<string, string> => t.children[i]!.req.env as Record<string, string>;

describe('a good header', () => {
  it.each([
    ['v1', Buffer.from(V1, 'latin1')],
    ['v2', v2()],
  ])('(%s) makes its client the client of the handler, its destination the local address, and the balancer PROXYREMOTEIP', async (_v, header) => {
    const t = testHost({ logConnections: true });
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    const c = await connect(svc.port);
    const p = acceptOne(t, svc);
    await send(c, p, header);
    expect(t.children).toHaveLength(1);
    expect(env(t)).toMatchObject({
      TCPREMOTEIP: '192.0.2.7',
      TCPREMOTEPORT: '50000',
      TCPLOCALIP: '198.51.100.2',
      TCPLOCALPORT: '443',
      REMOTE_HOST: '192.0.2.7',
      PROXYREMOTEIP: '127.0.0.1',
      PROXYREMOTEPORT: String(c.localPort),
    });
    expect(p.closed).toBe(true);
    t.children[0]!.end({ code: 0, signal: null });
    expect(t.records.find((r) => r.msg === 'connection')).toMatchObject({ peer: '192.0.2.7:50000', proxy: c.source });
  });

  it('passes the authority, ALPN and SSL TLVs to the handler', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    const c = await connect(svc.port);
    const p = acceptOne(t, svc);
    // authority "example.org", ALPN "h2", SSL: client over TLS, verified, version TLSv1.3.
    await send(c, p, v2('02000b 6578616d706c652e6f7267 010002 6832 20000f 01 00000000 210007 544c5376312e33'));
    expect(env(t)).toMatchObject({ PROXYAUTHORITY: 'example.org', PROXYALPN: 'h2', PROXYSSL: '1', PROXYSSLCERT: '0', PROXYSSLVERIFY: '0', PROXYSSLVERSION: 'TLSv1.3' });
  });

  it('leaves every byte after the header to the service, even in the same segment', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - internal echo', { proxy_protocol: 'v1', proxy_from: parseAddressList('127.0.0.1').patterns });
    const c = await connect(svc.port);
    const p = acceptOne(t, svc);
    // What follows starts with the bytes a careless line reader would take.
    await send(c, p, `${V1}\n\r\nhello`);
    await until(() => c.data() === '\n\r\nhello', 'the echo of every byte after the header');
  });

  it('reads a header split across many small writes', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    const c = await connect(svc.port);
    const p = acceptOne(t, svc);
    const header = v2('02000b 6578616d706c652e6f7267');
    for (let i = 0; i < header.length; i++) {
      expect(t.children).toHaveLength(0);
      await send(c, p, header.subarray(i, i + 1));
    }
    expect(env(t)).toMatchObject({ TCPREMOTEIP: '192.0.2.7', PROXYAUTHORITY: 'example.org' });
  });

  it('takes a v2 LOCAL connection (a health check) as coming from the balancer itself', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat', { only_from: parseAddressList('127.0.0.1').patterns });
    const c = await connect(svc.port);
    const p = acceptOne(t, svc);
    await send(c, p, hex(`${SIG} 20 00 0000`));
    expect(env(t)).toMatchObject({ TCPREMOTEIP: '127.0.0.1', TCPREMOTEPORT: String(c.localPort), TCPLOCALIP: '127.0.0.1', PROXYREMOTEIP: '127.0.0.1' });
  });

  it('reads a LOCAL header that a reset follows at once (HAProxy health checks), though the poller reports an error', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    const c = await connect(svc.port);
    const p = acceptOne(t, svc);
    c.write(hex(`${SIG} 20 00 0000`));
    await queued(p, 16);
    c.resetAndDestroy();
    p.cb(Object.assign(new Error('bad file descriptor'), { code: 'EBADF', errno: -9, syscall: 'uv_poll' }), 0);
    expect(t.children).toHaveLength(1);
    expect(svc.snapshot().proxyErrors).toBe(0);
  });

  it('takes v1 UNKNOWN as coming from the balancer itself', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    const c = await connect(svc.port);
    const p = acceptOne(t, svc);
    await send(c, p, 'PROXY UNKNOWN\r\n');
    expect(env(t)).toMatchObject({ TCPREMOTEIP: '127.0.0.1', PROXYREMOTEIP: '127.0.0.1' });
  });
});

describe("the header's client for access rules and limits", () => {
  it('refuses by the header\'s client, not the balancer, and logs both', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat', { no_access: parseAddressList('192.0.2.0/24').patterns });
    const c = await connect(svc.port);
    const p = acceptOne(t, svc);
    await send(c, p, V1);
    await c.gone;
    expect(t.children).toHaveLength(0);
    expect(svc.snapshot()).toMatchObject({ refused: 1, proxyErrors: 0 });
    expect(t.records.find((r) => r.msg === 'refused')).toMatchObject({ peer: '192.0.2.7:50000', proxy: c.source, rule: '[service:0/tcp] no_access' });
  });

  it('counts per_source by the header\'s client: one balancer, several clients', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat', { per_source: 1 });
    const header = (ip: string): string => `PROXY TCP4 ${ip} 198.51.100.2 50000 443\r\n`;
    for (const ip of ['192.0.2.7', '192.0.2.8', '192.0.2.7']) {
      const c = await connect(svc.port);
      await send(c, acceptOne(t, svc), header(ip));
    }
    expect(t.children.map((ch) => (ch.req.env as Record<string, string>).TCPREMOTEIP)).toEqual(['192.0.2.7', '192.0.2.8']);
    expect(t.records.find((r) => r.msg === 'refused')).toMatchObject({ peer: '192.0.2.7:50000', rule: '[service:0/tcp] per_source' });
  });
});

describe('a sender outside proxy_from', () => {
  it('is refused and never read, by default', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    const before = t.pollers.length;
    const c = await connect(svc.port, '127.0.0.2');
    c.write(V1);
    t.poller(svc.fd).fire();
    await c.gone;
    expect(t.pollers.length).toBe(before);
    expect(t.children).toHaveLength(0);
    expect(svc.snapshot()).toMatchObject({ refused: 1 });
    expect(t.records.find((r) => r.msg === 'refused')).toMatchObject({ peer: c.source, rule: '[service:0/tcp] proxy_from' });
  });

  it('is served as a direct connection with proxy_direct, its own address the client', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat', { proxy_direct: true });
    const c = await connect(svc.port, '127.0.0.2');
    t.poller(svc.fd).fire();
    expect(env(t)).toMatchObject({ TCPREMOTEIP: '127.0.0.2', TCPREMOTEPORT: String(c.localPort) });
    expect(env(t).PROXYREMOTEIP).toBeUndefined();
  });
});

describe('a hostile header', () => {
  const cases: Array<[string, Array<Buffer | string>, string, ServiceSettings?]> = [
    ['truncated: the sender closes in the middle', ['PROXY TCP4 192.0.2.7 '], 'truncated'],
    ['oversized v1: no CRLF in 107 bytes', [`PROXY TCP4 ${'1'.repeat(120)}`], 'too-long'],
    ['oversized v2: a declared length over the cap', [hex(`${SIG} 21 11 ffff`)], 'too-long'],
    ['a bad signature', ['GET / HTTP/1.0\r\n\r\n'], 'signature'],
    ['a TLS hello where the header should be', [hex('16030100a5010000a10303')], 'signature'],
    ['v1 on a v2 service', [V1], 'signature', { proxy_protocol: 'v2' }],
    ['a bad version', [hex(`${SIG} 31 11 000c c0000207 c6336402 c350 01bb`)], 'version'],
    ['a bad command', [hex(`${SIG} 2f 11 000c c0000207 c6336402 c350 01bb`)], 'command'],
    ['a bad length', [hex(`${SIG} 21 11 000b c0000207 c6336402 c350 01`)], 'length'],
    ['a TLV past the end', [hex(`${SIG} 21 11 000f c0000207 c6336402 c350 01bb 02 0009`)], 'tlv'],
    ['bad address text', ['PROXY TCP4 192.0.2.300 198.51.100.2 50000 443\r\n'], 'address'],
    ['a bare LF', ['PROXY TCP4 192.0.2.7 198.51.100.2 50000 443\n'], 'syntax'],
  ];

  it.each(cases)('%s: closes, starts nothing, counts it and logs the sender', async (_what, parts, reason, section) => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait/1 - /bin/cat cat', section);
    const c = await connect(svc.port);
    const p = acceptOne(t, svc);
    expect(svc.stateName()).toBe('full'); // the header holds the service's one place
    for (const part of parts) await send(c, p, part);
    if (reason === 'truncated') {
      c.end();
      await until(() => native.recvfrom(p.fd, Buffer.alloc(1), true)?.bytes === 0, 'the end of the stream');
      p.fire();
    }
    await c.gone;
    expect(t.children).toHaveLength(0);
    expect(svc.snapshot()).toMatchObject({ proxyErrors: 1, refused: 0, state: 'listening' });
    expect(t.records.find((r) => r.msg.startsWith('bad proxy header'))).toMatchObject({ level: 40, peer: c.source, code: 'ERR_PROXY_HEADER', reason });
    expect(t.timers.pending.size).toBe(0);
  });

  it('gives up on a slow sender when the time is over, and serves others meanwhile', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    const slow = await connect(svc.port);
    const p = acceptOne(t, svc);
    for (const part of ['PR', 'OX', 'Y ']) {
      await send(slow, p, part);
      t.timers.advance(HEADER_TIMEOUT_MS / 4);
    }
    // Another client of the same service is served while the slow one is still being read.
    const quick = await connect(svc.port);
    await send(quick, acceptOne(t, svc), V1);
    expect(t.children).toHaveLength(1);
    t.timers.advance(HEADER_TIMEOUT_MS / 4);
    await slow.gone;
    expect(t.children).toHaveLength(1);
    expect(svc.snapshot()).toMatchObject({ proxyErrors: 1 });
    expect(t.records.find((r) => r.msg.startsWith('bad proxy header'))).toMatchObject({ peer: slow.source, reason: 'timeout' });
  });

  it('closes quietly a connection that ends before its first byte (a port check), without counting it', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    const c = await connect(svc.port);
    const p = acceptOne(t, svc);
    c.end();
    await until(() => native.recvfrom(p.fd, Buffer.alloc(1), true)?.bytes === 0, 'the end of the stream');
    p.fire();
    await c.gone;
    expect(svc.snapshot()).toMatchObject({ proxyErrors: 0, children: 0, refused: 0 });
    expect(t.records.find((r) => r.msg === 'closed before sending a header')).toMatchObject({ level: 20, peer: c.source });
    expect(t.timers.pending.size).toBe(0);
  });

  it('gives up on a sender that sends nothing', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    const c = await connect(svc.port);
    acceptOne(t, svc);
    t.timers.advance(HEADER_TIMEOUT_MS - 1);
    expect(svc.snapshot().proxyErrors).toBe(0);
    t.timers.advance(1);
    await c.gone;
    expect(svc.snapshot()).toMatchObject({ proxyErrors: 1, children: 0 });
  });
});
