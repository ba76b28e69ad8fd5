// Minimal clients for tests: connect, optionally send, read until the server closes.
import net from 'node:net';

/** Connects to 127.0.0.1:port (or host), sends `send`, half-closes if asked, and resolves with every byte read until close. */
export function exchange(
  port: number,
  send?: string | Buffer,
  opts: { host?: string; from?: string; end?: boolean; ms?: number; max?: number } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: opts.host ?? '127.0.0.1', ...(opts.from ? { localAddress: opts.from } : {}) });
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timed out talking to port ${port}`));
    }, opts.ms ?? 10_000);
    sock.on('connect', () => {
      if (send !== undefined) sock.write(send);
      if (opts.end ?? true) sock.end();
    });
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (opts.max && size >= opts.max) sock.destroy();
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** Number of open fds of a process. */
export async function fdCount(pid: number): Promise<number> {
  const { readdirSync } = await import('node:fs');
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Pids of the zombie children of `ppid`. */
export async function zombies(ppid: number): Promise<number[]> {
  const { readdirSync, readFileSync } = await import('node:fs');
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid ...; comm may hold spaces, so split after the last ')'.
    const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z' && Number(parent) === ppid) out.push(Number(name));
  }
  return out;
}

/** Opens a connection and resolves once it is established; data is collected in `.received`. */
export function open(port: number, host = '127.0.0.1', from?: string): Promise<net.Socket & { received: () => string; nextData: () => Promise<string> }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host, ...(from ? { localAddress: from } : {}) }) as net.Socket & { received: () => string; nextData: () => Promise<string> };
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => (buf += c));
    sock.received = () => buf;
    sock.nextData = () =>
      buf ? Promise.resolve(buf) : new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error('no data')), 10_000);
        sock.once('data', () => (clearTimeout(t), res(buf)));
      });
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}
