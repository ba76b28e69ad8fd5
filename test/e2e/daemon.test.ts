// Daemon lifecycle through the real process: reload on SIGHUP, stop on SIGTERM.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exchange, open } from '../helpers/client.js';
import { CLI, FIXTURES, FIXTURE_BIN, startDaemon, type LogRecord, type RunningDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/ports.js';
import { unixDgramSink } from '../helpers/unix-dgram.js';
import { until } from '../helpers/wait.js';

const SERVICES = ['t-hello', 't-hang', 't-accept', 't-other', 'echo', 'daytime'].map((n) => `${n} 0/tcp`).join('\n');
const running: RunningDaemon[] = [];
async function daemon(config: string, args: string[] = []): Promise<RunningDaemon> {
  const d = await startDaemon(config, { services: SERVICES, args });
  running.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

/** Sends SIGHUP and resolves with the reload's outcome record. */
async function reload(d: RunningDaemon): Promise<LogRecord> {
  const from = d.records.length;
  process.kill(d.pid, 'SIGHUP');
  return d.waitFor(
    (r) => d.records.indexOf(r) >= from && (r.msg === 'reloaded' || String(r.msg).startsWith('reload rejected')),
    'reload outcome',
  );
}

const HELLO = `127.0.0.1:t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`;
const ECHO = '127.0.0.1:echo stream tcp nowait - internal';

describe('reload (SIGHUP)', () => {
  it('keeps unchanged services on their socket, adds new ones and closes removed ones', async () => {
    const d = await daemon(`${HELLO}\n${ECHO}\n`);
    const hello = d.port('t-hello');
    const echo = d.port('echo');
    d.writeConfig(`${HELLO}\n127.0.0.1:daytime stream tcp nowait - internal\n`);
    expect(await reload(d)).toMatchObject({ msg: 'reloaded', added: 1, removed: 1, unchanged: 1 });
    expect(d.records.filter((r) => r.msg === 'listening' && r.service === 't-hello')).toHaveLength(1);
    expect((await exchange(hello)).toString()).toBe('hello\n');
    expect((await exchange(d.port('daytime'))).length).toBeGreaterThan(0);
    await expect(exchange(echo, 'x')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects a configuration with any error and keeps every running service', async () => {
    const d = await daemon(`${HELLO}\n${ECHO}\n`);
    d.writeConfig(`${HELLO}\nfoo strem tcp nowait - internal\n`);
    expect((await reload(d)).msg).toMatch(/^reload rejected/);
    expect(d.records.some((r) => r.code === 'ERR_CONFIG_SOCKET_TYPE' && r.line === 2)).toBe(true);
    expect((await exchange(d.port('echo'), 'still here')).toString()).toBe('still here');
  });

  it('rejects a configuration file it cannot read and stays up', async () => {
    const d = await daemon(`${HELLO}\n`);
    renameSync(d.config, `${d.config}.moved`);
    expect((await reload(d)).msg).toMatch(/^reload rejected/);
    expect(d.records.some((r) => r.code === 'ERR_CONFIG_READ')).toBe(true);
    expect((await exchange(d.port('t-hello'))).toString()).toBe('hello\n');
  });

  it('applies new arguments to the next connection without rebinding', async () => {
    const d = await daemon(`127.0.0.1:t-other stream tcp nowait - /bin/echo echo one\n`);
    const port = d.port('t-other');
    expect((await exchange(port)).toString()).toBe('one\n');
    d.writeConfig(`127.0.0.1:t-other stream tcp nowait - /bin/echo echo two\n`);
    expect(await reload(d)).toMatchObject({ changed: 1, added: 0, removed: 0 });
    expect((await exchange(port)).toString()).toBe('two\n');
  });

  it('refuses no connection during 20 reloads in a row, and a connection open across them completes', async () => {
    const d = await daemon(`${HELLO}\n${ECHO}\n`, ['-R', '0']);
    const port = d.port('t-hello');
    const across = await open(d.port('echo'));
    let failures = 0;
    let served = 0;
    let done = false;
    const loop = (async () => {
      while (!done && served < 5000) {
        try {
          if ((await exchange(port)).toString() === 'hello\n') served += 1;
          else failures += 1;
        } catch {
          failures += 1;
        }
      }
    })();
    for (let i = 0; i < 20; i++) {
      d.writeConfig(`${HELLO}\n${ECHO}\n# reload ${i}\n`);
      expect((await reload(d)).msg).toBe('reloaded');
    }
    done = true;
    await loop;
    expect(failures).toBe(0);
    expect(served).toBeGreaterThan(0);
    across.write('after reloads');
    across.end();
    await new Promise((r) => across.once('close', r));
    expect(across.received()).toBe('after reloads');
  });

  it('binds a moved service before closing its old socket', async () => {
    const d = await daemon(`${HELLO}\n`);
    const old = d.port('t-hello');
    d.writeConfig(`127.0.0.2:t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello\n`);
    expect(await reload(d)).toMatchObject({ added: 1, removed: 1 });
    const bound = d.records.findLastIndex((r) => r.msg === 'listening' && r.addr === '127.0.0.2');
    const closed = d.records.findLastIndex((r) => r.msg === 'closed' && r.service === 't-hello');
    expect(bound).toBeGreaterThan(-1);
    expect(bound).toBeLessThan(closed);
    const port = d.records[bound]!.port as number;
    expect((await exchange(port, undefined, { host: '127.0.0.2' })).toString()).toBe('hello\n');
    await expect(exchange(old)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('logs a bind that fails and retries it every retry time without touching other services', async () => {
    // Below the ephemeral range: once the blocker lets go, only the retried bind takes the port.
    const busy = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(busy, '127.0.0.1', r));
    const d = await daemon(`${HELLO}\n`, ['--retry-time', '1']);
    d.writeConfig(`${HELLO}\n127.0.0.1:${busy} stream tcp nowait - internal echo\n`);
    expect((await reload(d)).msg).toBe('reloaded');
    expect(await d.waitFor((r) => r.code === 'ERR_BIND', 'bind error')).toMatchObject({ err: { code: 'EADDRINUSE' } });
    expect((await exchange(d.port('t-hello'))).toString()).toBe('hello\n');
    await new Promise((r) => blocker.close(r));
    await d.waitFor((r) => r.msg === 'listening' && r.port === busy, 'the retried bind');
    expect((await exchange(busy, 'retried')).toString()).toBe('retried');
  });

  it('keeps a busy wait service child and does not start a second one', async () => {
    const conf = `127.0.0.1:t-accept stream tcp wait - ${FIXTURES}/accept3.py accept3\n`;
    const d = await daemon(conf, ['-l']);
    const port = d.port('t-accept');
    const pid = (await exchange(port)).toString().trim();
    d.writeConfig(`${conf}# touched\n`);
    await reload(d);
    expect((await exchange(port)).toString().trim()).toBe(pid);
    expect((await exchange(port)).toString().trim()).toBe(pid);
    await d.waitFor((r) => r.msg === 'connection' && r.pid === Number(pid), 'wait child end');
    const next = (await exchange(port)).toString().trim();
    expect(next).not.toBe(pid);
    process.kill(Number(next), 'SIGKILL'); // the second handler waits for two more connections
  });
});

describe('stop (SIGTERM, SIGINT)', () => {
  it('stops on SIGINT too', async () => {
    const d = await startDaemon(`${ECHO}\n`, { services: SERVICES });
    const port = d.port('echo');
    process.kill(d.pid, 'SIGINT');
    expect(await d.exited).toBe(0);
    await d.stop();
    await expect(exchange(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('closes every socket, removes unix socket files, exits 0 and leaves running handlers alone', async () => {
    const sock = path.join(process.env.TMPDIR ?? '/tmp', `ninetd-stop-${process.pid}.sock`);
    const d = await startDaemon(`127.0.0.1:t-hang stream tcp nowait - ${FIXTURES}/hang.sh hang\n${sock} stream unix nowait - ${FIXTURE_BIN}/hello hello\n`, {
      services: SERVICES,
    });
    const port = d.port('t-hang');
    const conn = await open(port);
    const pid = Number((await conn.nextData()).trim());
    expect(existsSync(sock)).toBe(true);
    expect(await d.stop()).toBe(0);
    expect(existsSync(sock)).toBe(false);
    await expect(exchange(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // The handler outlives the supervisor, as under inetd.
    expect(() => process.kill(pid, 0)).not.toThrow();
    process.kill(pid, 'SIGKILL');
    conn.destroy();
  });
});

describe('pid file', () => {
  it('holds our pid while running, refuses a second instance, and is removed on exit', async () => {
    const d = await daemon(`${ECHO}\n`);
    const pidfile = path.join(d.dir, 'ninetd.pid');
    expect(readFileSync(pidfile, 'utf8')).toBe(`${d.pid}\n`);
    const second = spawnSync(process.execPath, [CLI, '-d', '-p', pidfile, '--services', path.join(d.dir, 'services'), d.config], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(second.status).toBe(71);
    expect(second.stderr).toContain(`already running (pid ${d.pid})`);
    running.splice(running.indexOf(d), 1);
    // stop() removes the test's temp dir too, so look at the pid file as the daemon exits.
    process.kill(d.pid, 'SIGTERM');
    expect(await d.exited).toBe(0);
    expect(existsSync(pidfile)).toBe(false);
    await d.stop();
  });

  it('does not let a stale pid file from a crashed instance block a start', async () => {
    const d1 = await daemon(`${ECHO}\n`);
    const pidfile = path.join(d1.dir, 'stale.pid');
    writeFileSync(pidfile, '999999\n');
    const d2 = await startDaemon(`${ECHO}\n`, { services: SERVICES, args: ['-p', pidfile] });
    running.push(d2);
    expect(readFileSync(pidfile, 'utf8')).toBe(`${d2.pid}\n`);
  });
});

describe('signals and log destinations', () => {
  it('SIGUSR1 reopens the log file after it was moved away', async () => {
    const log = path.join(tmpdir(), `ninetd-log-${process.pid}-${Date.now()}.log`);
    const d = await startDaemon(`${ECHO}\n`, { services: SERVICES, args: ['--log-file', log], noWait: true });
    running.push(d);
    try {
      await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('"started"'), 'started in the log file');
      renameSync(log, `${log}.1`);
      process.kill(d.pid, 'SIGUSR1');
      // The reopen creates the file anew; only then ask for a record (signals may be taken in any order).
      await until(() => existsSync(log), 'the log file to be reopened');
      process.kill(d.pid, 'SIGUSR2');
      await until(() => readFileSync(log, 'utf8').includes('"state"'), 'state record in the new file');
      expect(readFileSync(`${log}.1`, 'utf8')).not.toContain('"state"');
    } finally {
      rmSync(log, { force: true });
      rmSync(`${log}.1`, { force: true });
    }
  });

  it('sends records as syslog datagrams when the settings say so', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-syslog-'));
    const sink = unixDgramSink(path.join(dir, 'log'));
    try {
      writeFileSync(path.join(dir, 'ninetd.ini'), `[daemon]\nlog_destination = syslog\nsyslog_socket = ${path.join(dir, 'log')}\nsyslog_format = rfc5424\n`);
      const d = await startDaemon(`${ECHO}\n`, { services: SERVICES, args: ['--settings', path.join(dir, 'ninetd.ini')], noWait: true });
      running.push(d);
      const m = await sink.waitFor((x) => x.includes(' started: '), 'started via syslog');
      expect(m).toMatch(new RegExp(`^<30>1 \\S+ \\S+ ninetd ${d.pid} - \\[ninetd@32473 services="1" unbound="0"\\] started: 1 services, 0 unbound$`));
    } finally {
      sink.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('speaks the systemd notify protocol: ready, reloading, watchdog, stopping', async () => {
    const where = `@ninetd-notify-${process.pid}-${Date.now()}`;
    const sink = unixDgramSink(where);
    try {
      const d = await startDaemon(`${ECHO}\n`, { services: SERVICES, env: { NOTIFY_SOCKET: where, WATCHDOG_USEC: '200000' } });
      expect(await sink.waitFor((m) => m.startsWith('READY=1'))).toMatch(/STATUS=1 services, 0 unbound; last reload: none/);
      await sink.waitFor((m) => m.startsWith('WATCHDOG=1'), 'watchdog ping');
      await reload(d);
      expect(await sink.waitFor((m) => m.startsWith('RELOADING=1'))).toMatch(/\nMONOTONIC_USEC=\d+\n/);
      await sink.waitFor((m) => m.startsWith('READY=1') && m.includes('last reload: ok'), 'ready after reload');
      expect(await d.stop()).toBe(0);
      await sink.waitFor((m) => m.startsWith('STOPPING=1'), 'stopping');
    } finally {
      sink.close();
    }
  });
});
