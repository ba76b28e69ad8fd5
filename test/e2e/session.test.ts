// The handler's session and process group (docs/handlers.md, Session): a process group of its
// own in ninetd's session when ninetd has no controlling terminal (as a daemon or service), a
// session of its own when it has one (started from a terminal); never a terminal either way.
// Both spawn paths: the fast path (a plain TCP service) and the ordinary one (a unix socket,
// whose peer credentials are decided per connection).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_BIN, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

const running: RunningDaemon[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Field 7 of /proc/PID/stat: the controlling terminal's device number, 0 for none. */
function ttyOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[4]);
}

/** Fields 5 and 6 of /proc/PID/stat: process group and session. */
function groupAndSession(pid: number): { pgid: number; sid: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pgid: Number(f[2]), sid: Number(f[3]) };
}

/** What the report handler says of itself over one connection to `where`: its key-value lines. */
async function reportAt(where: net.NetConnectOpts): Promise<Record<string, string>> {
  const sock = net.connect(where);
  const chunks: Buffer[] = [];
  sock.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((resolve, reject) => sock.once('close', resolve).once('error', reject));
  const kv: Record<string, string> = {};
  for (const line of Buffer.concat(chunks).toString().trim().split('\n')) {
    const at = line.indexOf(' ');
    if (!line.startsWith('env ') && !line.startsWith('fd ')) kv[line.slice(0, at)] = line.slice(at + 1);
  }
  return kv;
}

/** A daemon (under `wrap`) serving the report handler on TCP and on a unix socket; both reports. */
async function reports(wrap: string[]): Promise<{ d: RunningDaemon; tcp: Record<string, string>; unix: Record<string, string> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-session-'));
  dirs.push(dir);
  const sock = path.join(dir, 'report.sock');
  const config = `127.0.0.1:t-report stream tcp nowait - ${FIXTURE_BIN}/report report\n${sock} stream unix nowait - ${FIXTURE_BIN}/report report\n`;
  const d = await startDaemon(config, { services: 't-report 0/tcp\n', wrap });
  running.push(d);
  const tcp = await reportAt({ host: '127.0.0.1', port: d.port('t-report') });
  const unix = await reportAt({ path: sock });
  return { d, tcp, unix };
}

describe('the handler session', () => {
  it('is a process group of its own in our session when ninetd has no controlling terminal', async () => {
    const { d, tcp, unix } = await reports(['/usr/bin/setsid']);
    const ours = groupAndSession(d.pid);
    expect(ours.sid).toBe(d.pid); // setsid(1) made the daemon a session leader without a terminal
    for (const r of [tcp, unix]) {
      expect(r.pgid_is_pid).toBe('1'); // a signal to our process group does not reach it
      expect(r.sid).toBe(String(ours.sid));
      expect(r.sid_is_pid).toBe('0');
      expect(r.tty).toBe('0');
    }
  });

  it('is a session of its own, without a terminal, when ninetd has one', async () => {
    const { d, tcp, unix } = await reports([`${FIXTURE_BIN}/with-tty`]);
    expect(ttyOf(d.pid)).not.toBe(0); // the daemon does have a controlling terminal
    for (const r of [tcp, unix]) {
      expect(r.sid_is_pid).toBe('1');
      expect(r.pgid_is_pid).toBe('1');
      expect(r.tty).toBe('0');
    }
  });

  it('can be a session of its own through setsid -w, as docs/handlers.md shows', async () => {
    const config = [
      `127.0.0.1:t-report stream tcp nowait - /usr/bin/setsid setsid -w ${FIXTURE_BIN}/report`,
      // ls exits 2 for a missing file: neither setsid's own failure (1) nor a failed exec (127).
      `127.0.0.1:t-exit stream tcp nowait - /usr/bin/setsid setsid -w /bin/ls /nonexistent/ninetd`,
    ].join('\n');
    const d = await startDaemon(`${config}\n`, { services: 't-report 0/tcp\nt-exit 0/tcp\n', wrap: ['/usr/bin/setsid'] });
    running.push(d);
    const r = await reportAt({ host: '127.0.0.1', port: d.port('t-report') });
    expect(r.sid_is_pid).toBe('1');
    expect(r.tty).toBe('0');
    // -w: setsid ends with the handler, and ninetd sees the handler's exit status.
    await reportAt({ host: '127.0.0.1', port: d.port('t-exit') });
    const end = await d.waitFor((rec) => rec.service === 't-exit' && rec.code !== undefined, "t-exit's end");
    expect(end.code).toBe(2);
  });
});
