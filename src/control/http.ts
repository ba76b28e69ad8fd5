// The metrics listener: `GET /metrics` over HTTP on `metrics_listen`, for Prometheus to scrape,
// from the addresses of `metrics_from` only (loopback unless told otherwise). A client from
// elsewhere is closed as soon as it connects, before a byte of HTTP is read. Headers and
// requests are bounded in time and connections in number, so a slow scraper holds up nobody.
// It does not make the text (metrics.ts does).
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { parseAddressList, parseIp, matchIp, type AddressPattern } from '../access/address.js';
import type { ListenAddress } from '../config/settings.js';
import type { Logger } from '../log/logger.js';
import { CONTENT_TYPE } from './metrics.js';

/** Who may scrape when `metrics_from` is not set: this host only. */
export const DEFAULT_METRICS_FROM: readonly AddressPattern[] = parseAddressList('127.0.0.1 [::1]').patterns;

/** Open connections at once; more wait in the kernel's backlog. */
const MAX_CONNECTIONS = 16;
/** How long a client may take to send its request headers, and its whole request. */
const HEADERS_MS = 5_000;
const REQUEST_MS = 10_000;

/** Error that keeps the metrics listener from starting; `cause` is the OS error. */
export class MetricsListenError extends Error {
  readonly code = 'ERR_METRICS_LISTEN';
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
  }
}

/** Whether a connection from `remote` (as the socket reports it) may scrape. */
export function scrapeAllowed(remote: string | undefined, allow: readonly AddressPattern[]): boolean {
  const ip = remote ? parseIp(remote) : null;
  return ip !== null && allow.some((p) => matchIp(p, ip));
}

/** The /metrics server of a daemon. */
export class MetricsListener {
  private constructor(
    private readonly server: Server,
    /** The port bound (the kernel's choice for port 0). */
    readonly port: number,
  ) {}

  /** Listens on `where`; resolves once bound, or rejects with MetricsListenError. */
  static async open(where: ListenAddress, allow: readonly AddressPattern[], logger: Logger, render: () => string): Promise<MetricsListener> {
    const server = createServer((req, res) => {
      const url = (req.url ?? '').split('?', 1)[0];
      if (url !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      const body = render();
      res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    server.headersTimeout = HEADERS_MS;
    server.requestTimeout = REQUEST_MS;
    server.keepAliveTimeout = HEADERS_MS;
    server.maxConnections = MAX_CONNECTIONS;
    server.on('connection', (sock: Socket) => {
      if (scrapeAllowed(sock.remoteAddress, allow)) return;
      logger.info({ peer: `${sock.remoteAddress}:${sock.remotePort}`, rule: '[daemon] metrics_from' }, 'metrics: refused');
      sock.destroy();
    });
    server.on('clientError', (_err, sock: Socket) => sock.destroy());
    const host = where.host === '*' ? undefined : where.host;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: where.port, host, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new MetricsListenError(`metrics ${where.host}:${where.port}: ${e.syscall ?? 'listen'}: ${e.message.replace(/^\w+ /, '')}`, { cause: err });
    }
    server.on('error', (err) => logger.error({ err }, 'metrics listener failed'));
    const port = (server.address() as { port: number }).port;
    logger.info({ addr: where.host, port }, 'metrics listening');
    return new MetricsListener(server, port);
  }

  /** Stops listening and drops every connection. */
  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }
}
