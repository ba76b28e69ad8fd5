// The PROXY protocol step of a nowait stream service whose plan asks for it, between accept and
// admission. A connection from one of the service's load balancers (`proxy_from`) must start
// with a header, read within a short time and without reading one byte of the client's own data
// (that belongs to the handler); the client the header names then takes the balancer's place
// for admission, logs and the handler, and the balancer is remembered beside it. A connection
// from anywhere else is refused, or with `proxy_direct` served as itself: it is never trusted to
// say who it is. While the header is read the connection holds one of the service's places, as
// a name lookup does. It parses nothing itself (net/proxy.ts) and admits nobody (admission.ts).
import { matchIp } from '../access/address.js';
import { peerFields, proxiedClient, type ClientAddress } from '../addr/client.js';
import * as native from '../native/index.js';
import { parseProxyHeader, PROXY_FAULTS, proxyEnv, proxyProgress, type ProxyFault, type ProxyHeader, type ProxyProgress } from '../net/proxy.js';
import type { ServiceCore } from './core.js';

/**
 * How long the whole header may take, from accept: longer than a TCP retransmission (the spec
 * asks for at least 3 s), short enough that a stuck balancer holds few places. A total, not an
 * idle time, so a sender cannot stretch it byte by byte.
 */
export const HEADER_TIMEOUT_MS = 5000;

/** What the nowait mode does once the header step is over. */
export interface AfterHeader {
  /** Admits and serves the connection for `client`. */
  serve(client: ClientAddress): void;
  /** Refuses the connection of `sender` for `rule` (banner_fail, close, log, count). */
  refuse(sender: ClientAddress, rule: string): void;
}

/** Reads the header on the accepted connection `fd` from `sender`, then hands the client it names to `next`. */
export function readProxyHeader(svc: ServiceCore, fd: number, sender: ClientAddress, next: AfterHeader): void {
  const plan = svc.plan.proxy!;
  const addr = sender.addr;
  if (!addr || !plan.from.some((p) => matchIp(p, addr))) {
    if (plan.direct) return next.serve(sender);
    return next.refuse(sender, `${svc.plan.section} proxy_from`);
  }
  const hold = svc.slot(null);
  let have = Buffer.alloc(0);
  let over = false;
  const stop = (): void => {
    over = true;
    svc.host.timers.clear(timer);
    poller.close();
    hold.release();
  };
  const fail = (fault: ProxyFault): void => {
    stop();
    // At once, without reading the rest: the balancer sees the connection fail (the spec asks so).
    native.close(fd);
    svc.counters.proxyErrors += 1;
    svc.log.warn({ peer: sender.text, code: 'ERR_PROXY_HEADER', reason: fault }, `bad proxy header: ${PROXY_FAULTS[fault]}`);
  };
  const finish = (): void => {
    const header = parseProxyHeader(have);
    if (header.kind === 'fault') return fail(header.fault);
    stop();
    if (svc.stateName() === 'closed') return native.close(fd);
    // The Poller made the socket non-blocking; what serves it expects it as accept gave it.
    native.setNonBlocking(fd, false);
    const client = clientOf(header, sender);
    svc.log.debug({ ...peerFields(client), version: header.version, command: header.kind }, 'proxy header');
    next.serve(client);
  };
  const gone = (): void => {
    // Closed without sending a byte: a balancer's port check (an NLB's, HAProxy's without a
    // header), not a bad header. Said at debug only, as every check would say it.
    if (have.length > 0) return fail('truncated');
    stop();
    native.close(fd);
    svc.log.debug({ peer: sender.text }, 'closed before sending a header');
  };
  /** Takes what has arrived; `last`: the sender is gone (reset or hung up), so this is all there is. */
  const readable = (last: boolean): void => {
    // Bounded: each pass takes at least one byte or returns, and a header has at most V2_MAX.
    for (;;) {
      const p = proxyProgress(have, plan.versions);
      if (p.kind === 'fault') return fail(p.fault);
      if (p.kind === 'done') return finish();
      let got: Buffer | null;
      try {
        got = take(fd, p, svc.scratch());
      } catch {
        return gone(); // reset by the sender, after whatever it sent was read
      }
      if (!got) return last ? gone() : undefined; // the rest has not arrived yet
      if (got.length === 0) return gone();
      have = Buffer.concat([have, got]);
    }
  };
  // An error report (POLLERR: the sender reset) can come with the header still queued, as
  // HAProxy's health checks send a LOCAL header and reset at once: read it first.
  const poller = svc.host.poller(fd, (err) => {
    if (!over) readable(err !== null);
  });
  const timer = svc.host.timers.set(() => fail('timeout'), HEADER_TIMEOUT_MS);
  poller.start();
}

/**
 * Reads at most `p.max` header bytes; with `p.peek` it looks first and takes only up to the
 * first LF, so the bytes after a v1 line stay queued. Null when nothing is queued; an empty
 * buffer when the sender closed.
 */
function take(fd: number, p: Extract<ProxyProgress, { kind: 'more' }>, scratch: Buffer): Buffer | null {
  let want = p.max;
  if (p.peek) {
    const seen = native.recvfrom(fd, scratch.subarray(0, p.max), true);
    if (!seen) return null;
    if (seen.bytes === 0) return Buffer.alloc(0);
    const lf = scratch.subarray(0, seen.bytes).indexOf(0x0a);
    want = lf >= 0 ? lf + 1 : seen.bytes;
  }
  const r = native.recvfrom(fd, scratch.subarray(0, want));
  if (!r) return null;
  return Buffer.from(scratch.subarray(0, r.bytes));
}

/** The client a valid header names: its source, or for LOCAL and unspecified headers the balancer itself. */
function clientOf(header: Exclude<ProxyHeader, { kind: 'fault' }>, sender: ClientAddress): ClientAddress {
  const env = proxyEnv(sender, header.tlvs);
  if (header.kind === 'proxy') return proxiedClient(header.source, { balancer: sender, destination: header.destination, env });
  return { ...sender, proxy: { balancer: sender, destination: null, env } };
}
