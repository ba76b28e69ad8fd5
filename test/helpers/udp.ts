// A UDP client for tests: send a datagram, wait for the reply, bounded in time.
import dgram from 'node:dgram';

/** Sends `msg` to host:port from a fresh socket (bound to `from` when given) and resolves with the first reply. */
export async function udpAsk(port: number, msg: string | Buffer, opts: { host?: string; ms?: number; from?: { host: string; port: number } } = {}): Promise<Buffer> {
  const host = opts.host ?? '127.0.0.1';
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    if (opts.from) await bound(sock, opts.from.host, opts.from.port);
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply from ${host}:${port}`)), opts.ms ?? 10_000);
      sock.once('message', (m) => (clearTimeout(timer), resolve(m)));
      sock.once('error', (e) => (clearTimeout(timer), reject(e)));
      sock.send(msg, port, host);
    });
  } finally {
    sock.close();
  }
}

/** Sends one datagram from `bindHost:bindPort` and closes; for tests of dropped datagrams. */
export async function udpSendFrom(bindHost: string, bindPort: number, port: number, host: string, msg: string): Promise<void> {
  const sock = dgram.createSocket(bindHost.includes(':') ? 'udp6' : 'udp4');
  try {
    await bound(sock, bindHost, bindPort);
    await new Promise<void>((resolve, reject) => sock.send(msg, port, host, (err) => (err ? reject(err) : resolve())));
  } finally {
    sock.close();
  }
}

function bound(sock: dgram.Socket, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => (sock.off('error', reject), resolve()));
  });
}

/**
 * A loopback address of the test's own (127.a.b.c, not 127.0.0.1) to send from a fixed port,
 * such as a privileged one: another test run on this machine that binds the same port does so,
 * if at all, on another address.
 */
export function ownLoopback(): string {
  const pick = (n: number): number => 1 + Math.floor(Math.random() * n);
  return `127.${pick(254)}.${pick(254)}.${pick(254)}`;
}
