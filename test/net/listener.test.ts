// Sockets as ninetd binds them: unix-domain services (stream, dgram, seqpacket) and IPv6.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { bindErrorMessage, bindService, closeService } from '../../src/net/listener.js';
import * as native from '../../src/native/index.js';
import { exchange } from '../helpers/client.js';
import { FIXTURE_BIN, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { planOf } from '../helpers/plan.js';
import { startSymlinkAttacker } from '../helpers/symlink-attacker.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-unix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const running: RunningDaemon[] = [];
async function daemon(config: string, services = '', noWait = false): Promise<RunningDaemon> {
  const d = await startDaemon(`${config}\n`, { services, noWait });
  running.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

/** Reads a unix stream socket's answer to EOF, sending nothing: the handlers here answer without
 * reading, and a write racing their exit could fail with EPIPE and lose the answer. */
function unixExchange(p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(p);
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (c) => (out += c));
    s.on('error', reject);
    s.on('close', () => resolve(out));
  });
}

/** Runs a python3 one-shot client (seqpacket and unix dgram have no node:net client). */
function py(code: string, ...args: string[]): string {
  return execFileSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8', timeout: 10_000 });
}

describe('unix-domain services', () => {
  it('serve a stream socket and tell the handler its peer credentials', async () => {
    const p = path.join(dir, 'report.sock');
    const d = await daemon(`${p} stream unix nowait - ${FIXTURE_BIN}/report report`);
    const out = await unixExchange(p);
    expect(out).toContain('env PROTO=IPC');
    expect(out).toContain(`env IPCLOCALPATH=${p}`);
    expect(out).toContain(`env IPCREMOTEPID=${process.pid}`);
    expect(out).toContain(`env IPCREMOTEEUID=${process.getuid?.()}`);
    await d.stop();
    running.length = 0;
    expect(existsSync(p)).toBe(false);
  });

  it('serve seqpacket sockets', async () => {
    const p = path.join(dir, 'cat.seq');
    await daemon(`${p} seqpacket unix nowait - /bin/cat cat`);
    const got = py(
      'import socket,sys\ns=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\ns.connect(sys.argv[1])\ns.send(b"one message")\nprint(s.recv(100).decode())',
      p,
    );
    expect(got.trim()).toBe('one message');
  });

  it('answer internal datagram services over a unix dgram socket', async () => {
    const p = path.join(dir, 'echo.dgram');
    const me = path.join(dir, 'client.dgram');
    await daemon(`${p} dgram unix wait - internal echo`);
    const got = py(
      'import socket,sys\ns=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind(sys.argv[2])\ns.settimeout(10)\ns.sendto(b"over unix", sys.argv[1])\nprint(s.recv(100).decode())',
      p,
      me,
    );
    expect(got.trim()).toBe('over unix');
  });

  it('replace a stale socket file but never steal a live one', async () => {
    const stale = path.join(dir, 'stale.sock');
    const fd = native.socket(native.constants.AF_UNIX, native.constants.SOCK_STREAM);
    native.bind(fd, stale, 0);
    native.close(fd); // the file stays behind, as after a crash
    const live = path.join(dir, 'live.sock');
    const server = net.createServer((s) => {
      s.on('error', () => {}); // our own liveness probe hangs up at once
      s.end('mine\n');
    });
    await new Promise<void>((r) => server.listen(live, r));
    try {
      const d = await daemon([`${stale} stream unix nowait - ${FIXTURE_BIN}/hello hello`, `${live} stream unix nowait - ${FIXTURE_BIN}/hello hello`].join('\n'));
      expect(await unixExchange(stale)).toBe('hello\n');
      expect(await unixExchange(live)).toBe('mine\n');
      expect(d.records.find((r) => r.code === 'ERR_BIND')).toMatchObject({ service: live });
    } finally {
      server.close();
    }
  });

  it('apply the owner and mode of the FreeBSD :user:group:mode: prefix', async () => {
    const p = path.join(dir, 'mode.sock');
    await daemon(`:root:root:600:${p} stream unix nowait - ${FIXTURE_BIN}/hello hello`);
    expect(statSync(p).mode & 0o777).toBe(0o600);
  });

  // The attack: a user who may write the socket's directory renames a symlink to a root-owned
  // file over the socket between bind and chown. With chmod/chown by path the victim became
  // 0660 nobody:nogroup within a few binds.
  it.skipIf(process.getuid?.() !== 0)('never give a file that replaced the socket its mode or owner, under a renaming attacker', async () => {
    // nobody may search the test's directory and write the socket's.
    chmodSync(dir, 0o755);
    const open = path.join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const victim = path.join(dir, 'victim');
    writeFileSync(victim, 'secret\n', { mode: 0o600 });
    const before = statSync(victim);
    const sock = path.join(open, 's.sock');
    const entry = planOf(`:nobody:nogroup:0660:${sock} stream unix nowait - /bin/cat cat`).entry;
    const attacker = await startSymlinkAttacker(sock, victim);
    const outcomes = new Set<string>();
    try {
      const deadline = Date.now() + 10_000;
      for (let i = 0; i < 300 && Date.now() < deadline; i++) {
        rmSync(sock, { force: true });
        try {
          closeService(entry, bindService(entry));
          outcomes.add('bound');
        } catch (err) {
          outcomes.add(((err as Error).cause as NodeJS.ErrnoException).code ?? '?');
        }
        expect(statSync(victim)).toMatchObject({ mode: before.mode, uid: before.uid, gid: before.gid });
      }
      expect(await attacker.stop()).toBeGreaterThan(0);
    } finally {
      attacker.kill();
    }
    expect(outcomes.has('bound')).toBe(true);
    expect(statSync(victim)).toMatchObject({ mode: before.mode, uid: before.uid, gid: before.gid });
  });
});

describe('IPv6', () => {
  const services = 't6 0/tcp\nt46 0/tcp\nt4 0/tcp\n';

  it('tcp6 binds IPv6 only and tells the handler IPv6 addresses', async () => {
    const d = await daemon(`[::1]:t6 stream tcp6 nowait - ${FIXTURE_BIN}/report report`, services);
    const out = (await exchange(d.port('t6'), undefined, { host: '::1' })).toString();
    expect(out).toContain('env TCPLOCALIP=::1');
    expect(out).toContain('env TCPREMOTEIP=::1');
  });

  it('tcp46 on every address answers IPv4 and IPv6 clients, with IPv4 shown plainly', async () => {
    const d = await daemon(`*:t46 stream tcp46 nowait - ${FIXTURE_BIN}/report report`, services);
    const port = d.port('t46');
    expect((await exchange(port, undefined, { host: '127.0.0.1' })).toString()).toContain('env TCPREMOTEIP=127.0.0.1\n');
    expect((await exchange(port, undefined, { host: '::1' })).toString()).toContain('env TCPREMOTEIP=::1\n');
  });

  it('tcp6 on every address does not take IPv4 connections (V6ONLY)', async () => {
    const d = await daemon(`*:t6 stream tcp6 nowait - ${FIXTURE_BIN}/hello hello`, services);
    const port = d.port('t6');
    expect((await exchange(port, undefined, { host: '::1' })).toString()).toBe('hello\n');
    await expect(exchange(port, undefined, { host: '127.0.0.1' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('plain tcp is IPv4', async () => {
    const d = await daemon(`t4 stream tcp nowait - ${FIXTURE_BIN}/hello hello`, services);
    const port = d.port('t4');
    expect((await exchange(port, undefined, { host: '127.0.0.1' })).toString()).toBe('hello\n');
    await expect(exchange(port, undefined, { host: '::1' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('accepts a scoped address literal', async () => {
    const d = await daemon(`[::1%lo]:t6 stream tcp6 nowait - ${FIXTURE_BIN}/hello hello`, services);
    expect((await exchange(d.port('t6'), undefined, { host: '::1' })).toString()).toBe('hello\n');
  });
});

describe('bindService', () => {
  /** The one entry of a config line, read as the daemon reads it. */
  async function entry(line: string) {
    const file = path.join(dir, `bind-${Math.random().toString(36).slice(2)}.conf`);
    writeFileSync(file, `# first line\n${line}\n`);
    const { entries, errors } = await loadConfig(file, { servicesFile: path.join(dir, 'no-services') });
    expect(errors).toEqual([]);
    return entries[0]!;
  }

  it('listens with the backlog it is given (-q)', async () => {
    const fd = bindService(await entry('127.0.0.1:0 stream tcp nowait - internal echo'), { backlog: 7 });
    try {
      const port = (native.getsockname(fd) as { port: number }).port;
      // ss shows a listening socket's backlog as its Send-Q.
      const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
      expect(line.split(/\s+/)[2]).toBe('7');
    } finally {
      native.close(fd);
    }
  });

  it('names the config line and the address in a bind error', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const e = await entry(`127.0.0.1:${port} stream tcp nowait - internal echo`);
      expect(() => bindService(e)).toThrow(expect.objectContaining({ code: 'ERR_BIND' }));
      expect(() => bindService(e)).toThrow(`${e.file}:2: ${port}/tcp on 127.0.0.1:${port}: bind: `);
    } finally {
      server.close();
    }
  });

  it.each([
    ['EACCES below 1024 says what it needs', '*', 7, 'EACCES', true],
    ['EACCES on a high port has no hint', '*', 8080, 'EACCES', false],
    ['other errors have no hint', '::1', 7, 'EADDRINUSE', false],
  ])('bindErrorMessage: %s', async (_what, host, port, code, hint) => {
    const e = { ...(await entry(`127.0.0.1:1 stream tcp nowait - internal echo`)), host, port };
    const err = Object.assign(new Error(`bind: ${code === 'EACCES' ? 'permission denied' : 'address already in use'}`), { code, syscall: 'bind' });
    const msg = bindErrorMessage(e, err);
    expect(msg.startsWith(`${e.file}:2: 1/tcp on ${host === '::1' ? '[::1]' : host}:${port}: bind: `)).toBe(true);
    expect(msg.includes('CAP_NET_BIND_SERVICE')).toBe(hint);
  });
});
