// Test harness for builtins: a real TCP server on 127.0.0.1 port 0 whose connection handler
// gives each accepted socket to a builtin's stream(), as dispatch does with an adopted fd.
import net from 'node:net';
import type { Builtin } from '../../src/builtins/table.js';

/** A listening server serving one builtin. */
export interface Served {
  port: number;
  /** Resolves with the server side of the next (or first, if already there) connection. */
  accepted(): Promise<net.Socket>;
  /** Destroys every connection and closes the server. */
  close(): Promise<void>;
}

/** Serves `builtin` with the clock `now`; `before` sees each server-side socket first (to spy on it). */
export async function serve(builtin: Builtin, now: () => Date = () => new Date(), before?: (sock: net.Socket) => void): Promise<Served> {
  const sockets: net.Socket[] = [];
  const waiting: ((s: net.Socket) => void)[] = [];
  let taken = 0;
  const server = net.createServer((sock) => {
    sockets.push(sock);
    before?.(sock);
    builtin.stream(sock, now);
    waiting.shift()?.(sock);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    accepted: () => {
      const i = taken++;
      return sockets[i] ? Promise.resolve(sockets[i]) : within(new Promise((r) => waiting.push(r)), 'connection accepted');
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Resolves when `sock` has closed (at once if it already has). */
export function closed(sock: net.Socket): Promise<void> {
  return within(new Promise((r) => (sock.closed ? r() : sock.once('close', () => r()))), 'socket closed');
}

/** Rejects if `p` has not settled within `ms`; keeps every wait in these tests bounded. */
export function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
