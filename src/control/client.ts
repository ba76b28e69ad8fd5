// The command side of the control socket: connect, send one request line, read one reply line,
// bounded in time and size. It reports a daemon that is not there in words an operator can act
// on. It does not print (commands.ts does).
import net from 'node:net';
import { encodeRequest, type Reply, type Request } from './protocol.js';

/** Largest reply accepted: a status of thousands of services fits many times over. */
const MAX_REPLY_BYTES = 64 * 2 ** 20;

/** Error when the daemon cannot be asked; `code` is stable. */
export class ControlClientError extends Error {
  constructor(
    readonly code: 'ERR_CONTROL_UNAVAILABLE' | 'ERR_CONTROL_REPLY',
    message: string,
  ) {
    super(message);
  }
}

/** Why connecting failed, for a person. */
function unavailable(socketPath: string, err: NodeJS.ErrnoException): ControlClientError {
  const why: Record<string, string> = {
    ENOENT: 'no ninetd is running (no control socket at that path)',
    ECONNREFUSED: 'no ninetd is running (the control socket is left from one that is gone)',
    EACCES: 'permission denied: only the user ninetd runs as may use its control socket',
  };
  return new ControlClientError('ERR_CONTROL_UNAVAILABLE', `${socketPath}: ${why[err.code ?? ''] ?? err.message}`);
}

/** Sends `req` to the daemon at `socketPath` and resolves with its reply; waits at most `timeoutMs`. */
export function ask(socketPath: string, req: Request, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    let done = false;
    const finish = (err: Error | null, reply?: Reply): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(
      () => finish(new ControlClientError('ERR_CONTROL_UNAVAILABLE', `${socketPath}: no answer within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    const tryLine = (): boolean => {
      const all = Buffer.concat(chunks);
      const nl = all.indexOf(0x0a);
      if (nl < 0) return false;
      try {
        finish(null, JSON.parse(all.subarray(0, nl).toString('utf8')) as Reply);
      } catch {
        finish(new ControlClientError('ERR_CONTROL_REPLY', `${socketPath}: the reply is not JSON`));
      }
      return true;
    };
    sock.on('connect', () => {
      connected = true;
      sock.write(encodeRequest(req));
    });
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (c.includes(0x0a) && tryLine()) return;
      if (size > MAX_REPLY_BYTES) finish(new ControlClientError('ERR_CONTROL_REPLY', `${socketPath}: reply too long`));
    });
    sock.on('end', () => {
      if (!tryLine()) finish(new ControlClientError('ERR_CONTROL_REPLY', `${socketPath}: the daemon closed the connection without a reply`));
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      // A reply may already be here when a write fails (the daemon closed after answering).
      if (tryLine()) return;
      finish(connected ? new ControlClientError('ERR_CONTROL_REPLY', `${socketPath}: ${err.message}`) : unavailable(socketPath, err));
    });
  });
}
