// The example handlers in services/, compiled to dist/services/ (`npm run build:ts`), each run
// the way ninetd runs a nowait handler: a real connected TCP socket as fds 0, 1 and 2, the UCSPI
// environment, and the server's own copy of the socket closed right after the spawn.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exchange } from '../helpers/client.js';

const DIST = path.resolve(import.meta.dirname, '..', '..', 'dist', 'services');
const handler = (name: string): string => path.join(DIST, `${name}.js`);

/** A server on 127.0.0.1 port 0 that runs `file` for each connection. */
interface HandlerServer {
  port: number;
  /** Resolves with the exit code of the handler of the next connection. */
  exited(): Promise<number | null>;
  close(): Promise<void>;
}

const running: HandlerServer[] = [];

async function serveHandler(file: string, extraEnv: Record<string, string> = {}, ucspi = true): Promise<HandlerServer> {
  const children: ChildProcess[] = [];
  const exits: Promise<number | null>[] = [];
  let taken = 0;
  // pauseOnConnect: like ninetd, the server never reads a byte meant for the handler.
  const server = net.createServer({ pauseOnConnect: true }, (sock) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...extraEnv };
    if (ucspi) {
      Object.assign(env, {
        PROTO: 'TCP',
        TCPREMOTEIP: sock.remoteAddress ?? '',
        TCPREMOTEPORT: String(sock.remotePort),
        TCPLOCALIP: sock.localAddress ?? '',
        TCPLOCALPORT: String(sock.localPort),
      });
    }
    const child = spawn(process.execPath, [file], { stdio: [sock, sock, sock], env, cwd: '/' });
    children.push(child);
    const exit = new Promise<number | null>((resolve) => {
      child.once('error', () => resolve(null));
      child.once('exit', (code) => resolve(code));
    });
    exits.push(exit);
    server.emit('spawned');
    // The child has its own copy now (spawn returns after exec); ours would keep the
    // connection open after the handler exits.
    sock.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const srv: HandlerServer = {
    port: (server.address() as net.AddressInfo).port,
    exited: () => {
      const i = taken++;
      const exit = new Promise<number | null>((resolve) => {
        const take = (): void => void (exits[i] ? exits[i].then(resolve) : server.once('spawned', take));
        take();
      });
      return bounded(exit, 'handler exit');
    },
    close: async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(exits);
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  running.push(srv);
  return srv;
}

function bounded<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

beforeAll(() => {
  for (const name of ['daytime', 'uptime', 'upper']) {
    if (!existsSync(handler(name))) throw new Error(`${handler(name)} is missing: run \`npm run build:ts\` first`);
  }
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

const CTIME_LINE = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d\d:\d\d:\d\d \d{4}\r\n$/;

describe('services/daytime', () => {
  it('sends one ctime line and hangs up', async () => {
    const srv = await serveHandler(handler('daytime'));
    const got = await exchange(srv.port, undefined, { end: false });
    expect(got.toString('latin1')).toMatch(CTIME_LINE);
    expect(await srv.exited()).toBe(0);
  });

  it('logs the peer to DAYTIME_LOG, not to the client', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-daytime-'));
    try {
      const log = path.join(dir, 'daytime.log');
      const srv = await serveHandler(handler('daytime'), { DAYTIME_LOG: log });
      const got = await exchange(srv.port, undefined, { end: false });
      expect(got.toString('latin1')).toMatch(CTIME_LINE);
      expect(await srv.exited()).toBe(0);
      expect(readFileSync(log, 'utf8')).toMatch(/connection from 127\.0\.0\.1, port \d+\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the peer "unknown" without the UCSPI variables', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-daytime-'));
    try {
      const log = path.join(dir, 'daytime.log');
      const srv = await serveHandler(handler('daytime'), { DAYTIME_LOG: log }, false);
      await exchange(srv.port, undefined, { end: false });
      expect(await srv.exited()).toBe(0);
      expect(readFileSync(log, 'utf8')).toMatch(/connection from unknown, port unknown\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('services/uptime', () => {
  it('sends one non-empty line about uptime and load', async () => {
    const srv = await serveHandler(handler('uptime'));
    const text = (await exchange(srv.port, undefined, { end: false })).toString('utf8');
    expect(text).toMatch(/^[^\r\n]+\r\n$/);
    expect(text).toMatch(/load average|up/);
    expect(await srv.exited()).toBe(0);
  });
});

describe('services/upper', () => {
  it.each([
    { what: 'LF and CR LF lines, each with its own ending', send: 'hello world\nsecond Line\r\n', want: 'HELLO WORLD\nSECOND LINE\r\n' },
    { what: 'a last line without an ending', send: 'one\r\ntwo', want: 'ONE\r\nTWO' },
    { what: 'UTF-8 text', send: 'grüße\n', want: 'GRÜSSE\n' },
    { what: 'nothing', send: '', want: '' },
  ])('answers $what in upper case, then exits when the client closes', async ({ send, want }) => {
    const srv = await serveHandler(handler('upper'));
    const got = await exchange(srv.port, send);
    expect(got.toString('utf8')).toBe(want);
    expect(await srv.exited()).toBe(0);
  });

  it('answers lines as they come, before the client closes', async () => {
    const srv = await serveHandler(handler('upper'));
    const client = net.connect(srv.port, '127.0.0.1');
    try {
      client.setEncoding('utf8');
      let got = '';
      const nextLine = (): Promise<string> =>
        bounded(
          new Promise<string>((resolve) => {
            const onData = (c: string): void => {
              got += c;
              const nl = got.indexOf('\n');
              if (nl === -1) return;
              client.off('data', onData);
              resolve(got.slice(0, nl + 1));
              got = got.slice(nl + 1);
            };
            client.on('data', onData);
          }),
          'an answer',
        );
      client.write('first\r\n');
      expect(await nextLine()).toBe('FIRST\r\n');
      client.write('second\n');
      expect(await nextLine()).toBe('SECOND\n');
      client.end();
      expect(await srv.exited()).toBe(0);
    } finally {
      client.destroy();
    }
  });

  it('stops after 1 MiB of input even while the client keeps the connection open', async () => {
    const srv = await serveHandler(handler('upper'));
    const client = net.connect(srv.port, '127.0.0.1');
    try {
      client.on('error', () => {}); // the handler may reset the connection: our unread bytes
      let answered = 0;
      client.on('data', (c: Buffer) => (answered += c.length));
      // 2 MiB of 16-byte lines, and no end(): only the limit can make the handler stop.
      client.write(Buffer.from('abcdefghijklmno\n'.repeat(128 * 1024)));
      expect(await srv.exited()).toBe(0);
      expect(answered).toBeLessThanOrEqual(1024 * 1024);
    } finally {
      client.destroy();
    }
  });
});
