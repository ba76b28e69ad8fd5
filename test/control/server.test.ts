// The control socket under attack and in use: born 0600, refuses other uids (SO_PEERCRED) and
// too many clients, and a client that sends 10 MiB without a newline, half a line and then
// nothing, or invalid JSON gets an error reply or a close while every other client is answered.
// The server runs in this process, so "not stalled" means this event loop keeps answering.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ControlServer, type ControlHandler, type ControlServerOptions } from '../../src/control/server.js';
import type { Reply } from '../../src/control/protocol.js';
import * as native from '../../src/native/index.js';
import { until } from '../helpers/wait.js';

const base = mkdtempSync(path.join(tmpdir(), 'ninetd-control-'));
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
const servers: ControlServer[] = [];
const clients: net.Socket[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A status answer the handler gives, small and recognisable. */
const PONG = { ok: true, status: { pid: 1 } } as unknown as Reply;

function server(opts: Partial<ControlServerOptions> = {}): { srv: ControlServer; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug', base: null }, { write: (s: string) => void records.push(JSON.parse(s) as Record<string, unknown>) });
  const handle: ControlHandler = () => PONG;
  const srv = ControlServer.open({ path: path.join(base, `c${n++}.sock`), logger, handle, ...opts });
  servers.push(srv);
  return { srv, records };
}

/** Connects, sends `data` (all of it, or nothing), and resolves with every reply line until the server closes. */
function talk(file: string, data: string | Buffer, opts: { end?: boolean } = {}): { sock: net.Socket; lines: Promise<Array<Record<string, unknown>>> } {
  const sock = net.connect(file);
  clients.push(sock);
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (c: string) => (buf += c));
  sock.on('error', () => {});
  sock.on('connect', () => {
    if (data.length > 0) sock.write(data);
    if (opts.end ?? true) sock.end();
  });
  // Not events.once: that rejects on 'error', and a cut-off client sees EPIPE or ECONNRESET.
  const lines = new Promise<void>((resolve) => sock.once('close', () => resolve())).then(() =>
    buf.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  );
  return { sock, lines };
}

/** Sends one request line and resolves with the first reply line, leaving the connection open. */
function ask(file: string, line: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(file);
    clients.push(sock);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(line));
    sock.on('data', (c: string) => {
      buf += c;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
    });
    sock.on('error', reject);
  });
}

describe('control socket', () => {
  it('is born a socket of mode 0600 owned by us, and is removed at close', () => {
    const { srv } = server();
    const st = lstatSync(srv.path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.geteuid!());
    srv.close();
    expect(existsSync(srv.path)).toBe(false);
  });

  it('answers one JSON request per line, in order, on one connection', async () => {
    const { srv, records } = server();
    const { lines } = talk(srv.path, '{"cmd":"status"}\n{"cmd":"status"}\n');
    expect(await lines).toEqual([PONG, PONG]);
    expect(records.filter((r) => r.msg === 'control request')).toEqual([
      expect.objectContaining({ level: 20, cmd: 'status', uid: process.geteuid!() }),
      expect.objectContaining({ level: 20, cmd: 'status', uid: process.geteuid!() }),
    ]);
  });

  it('answers invalid JSON, a non-object and an unknown command with ERR_CONTROL_REQUEST, and goes on', async () => {
    const { srv } = server();
    const { lines } = talk(srv.path, 'not json\n[1]\n{"cmd":"rm -rf"}\n{"cmd":"status","x":1}\n{"cmd":"status"}\n');
    const got = await lines;
    expect(got.slice(0, 4).map((r) => (r.error as { code: string }).code)).toEqual(Array(4).fill('ERR_CONTROL_REQUEST'));
    expect(got[4]).toEqual(PONG);
  });

  it('closes on 10 MiB without a newline with ERR_CONTROL_TOO_LONG, answering another client meanwhile', async () => {
    const { srv } = server();
    const flood = talk(srv.path, Buffer.alloc(10 * 2 ** 20, 0x61), { end: false });
    expect(await ask(srv.path, '{"cmd":"status"}\n')).toEqual(PONG);
    const got = await flood.lines;
    expect(got).toEqual([expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'ERR_CONTROL_TOO_LONG' }) })]);
  });

  it('answers others while a client sends half a line and stalls, then closes it with ERR_CONTROL_TIMEOUT', async () => {
    const { srv } = server({ timeoutMs: 300 });
    const stalled = talk(srv.path, '{"cmd":"sta', { end: false });
    await once(stalled.sock, 'connect');
    for (let i = 0; i < 3; i++) expect(await ask(srv.path, '{"cmd":"status"}\n')).toEqual(PONG);
    expect(await stalled.lines).toEqual([expect.objectContaining({ error: expect.objectContaining({ code: 'ERR_CONTROL_TIMEOUT' }) })]);
  });

  it('answers status while a slow request (a reload) of another client is still running', async () => {
    let finishReload!: (r: Reply) => void;
    const { srv } = server({ handle: (req) => (req.cmd === 'reload' ? new Promise<Reply>((r) => (finishReload = r)) : PONG) });
    const slow = talk(srv.path, '{"cmd":"reload"}\n');
    expect(await ask(srv.path, '{"cmd":"status"}\n')).toEqual(PONG);
    finishReload(PONG);
    expect(await slow.lines).toEqual([PONG]);
  });

  it('cuts off a client that keeps asking and never reads its replies, answering others meanwhile', async () => {
    const big = { ok: true, status: { pad: 'x'.repeat(3 * 2 ** 20) } } as unknown as Reply;
    const { srv, records } = server({ handle: () => big });
    const greedy = net.connect(srv.path);
    clients.push(greedy);
    greedy.on('error', () => {});
    greedy.pause();
    greedy.on('connect', () => greedy.write('{"cmd":"status"}\n'.repeat(8)));
    await until(() => records.some((r) => r.msg === 'control client does not read its replies; closed'), 'the greedy client to be cut off');
    const other = net.connect(srv.path);
    clients.push(other);
    let got = '';
    other.on('data', (c: Buffer) => (got += c.toString()));
    other.on('connect', () => other.end('{"cmd":"status"}\n'));
    await new Promise((r) => other.once('close', r));
    expect(JSON.parse(got)).toEqual(big);
  });

  it('turns away clients beyond its limit with ERR_CONTROL_BUSY', async () => {
    const { srv } = server({ maxClients: 2 });
    const held = [talk(srv.path, '', { end: false }), talk(srv.path, '', { end: false })];
    await Promise.all(held.map((h) => once(h.sock, 'connect')));
    // The two held connections are admitted in order; wait until the server has them.
    expect(await ask(srv.path, '{"cmd":"status"}\n').catch((e: Error) => e)).toMatchObject({ ok: false, error: { code: 'ERR_CONTROL_BUSY' } });
    held[0]!.sock.destroy();
    await held[0]!.lines;
  });

  it('refuses a client whose uid is not its owner, by SO_PEERCRED, even when the file mode would let it in', async () => {
    const { srv, records } = server();
    // A misconfigured mode: the file lets anyone connect; the uid check still says no.
    chmodSync(srv.path, 0o666);
    const script = `
      const s = require('net').connect(process.argv[1]);
      let b = ''; s.on('data', (c) => (b += c)); s.on('connect', () => s.end('{"cmd":"status"}\\n'));
      s.on('close', () => process.stdout.write(b)); s.on('error', (e) => process.stdout.write(JSON.stringify({ connectError: e.code })));`;
    const child = spawn(process.execPath, ['-e', script, srv.path], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await once(child, 'close');
    expect(JSON.parse(out.trim())).toMatchObject({ ok: false, error: { code: 'ERR_CONTROL_PEER' } });
    expect(records).toContainEqual(expect.objectContaining({ level: 40, uid: 65534, msg: 'control socket: refused a client that is not its owner' }));
  });

  it('cannot be reached by another user at all with its own mode 0600', async () => {
    const { srv } = server();
    const script = `require('net').connect(process.argv[1]).on('error', (e) => { process.stdout.write(e.code); process.exit(0); }).on('connect', () => { process.stdout.write('connected'); process.exit(0); });`;
    const child = spawn(process.execPath, ['-e', script, srv.path], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await once(child, 'close');
    expect(out).toBe('EACCES');
  });

  it('replaces a socket file left by a dead process, and refuses a live socket, a file or a symlink at its path', async () => {
    const live = path.join(base, 'live.sock');
    const other = net.createServer().listen(live);
    await once(other, 'listening');
    expect(() => server({ path: live })).toThrow(expect.objectContaining({ code: 'ERR_CONTROL_SOCKET' }));
    other.close();
    // A socket file that nobody listens on any more, as a crashed process leaves it.
    const stale = path.join(base, 'stale.sock');
    const fd = native.socket(native.constants.AF_UNIX, native.constants.SOCK_STREAM);
    native.bindUnix(fd, stale, 0o600);
    native.close(fd);
    const { srv } = server({ path: stale });
    expect(await ask(srv.path, '{"cmd":"status"}\n')).toEqual(PONG);
    const plain = path.join(base, 'plain');
    writeFileSync(plain, 'keep me');
    expect(() => server({ path: plain })).toThrow(expect.objectContaining({ code: 'ERR_CONTROL_SOCKET' }));
    const link = path.join(base, 'link.sock');
    symlinkSync(plain, link);
    expect(() => server({ path: link })).toThrow(expect.objectContaining({ code: 'ERR_CONTROL_SOCKET' }));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(plain, 'utf8')).toBe('keep me');
  });

  it('at close leaves alone a file that replaced its socket', () => {
    const { srv } = server();
    unlinkSync(srv.path);
    writeFileSync(srv.path, 'not ours');
    srv.close();
    expect(existsSync(srv.path)).toBe(true);
  });
});
