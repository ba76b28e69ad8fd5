// tcpmux (RFC 1078) through the real daemon: the request line picks a tcpmux sub-service.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exchange, open } from '../helpers/client.js';
import { FIXTURE_BIN, FIXTURES, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-tcpmux-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CONF = [
  '127.0.0.1:',
  'tcpmux stream tcp nowait - internal',
  `tcpmux/+hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`,
  `tcpmux/report stream tcp nowait - ${FIXTURE_BIN}/report report`,
  'tcpmux/+cat stream tcp nowait - /bin/cat cat',
  `tcpmux/+secret stream tcp nowait - ${FIXTURE_BIN}/hello hello`,
  `tcpmux/+hang stream tcp nowait/1 - ${FIXTURES}/hang.sh hang`,
  `t-plain stream tcp nowait - ${FIXTURE_BIN}/hello hello`,
].join('\n');

let d: RunningDaemon | undefined;
afterEach(async () => {
  await d?.stop();
  d = undefined;
});

async function mux(): Promise<number> {
  const ini = path.join(dir, 'ninetd.ini');
  writeFileSync(ini, '[service:tcpmux/secret/tcp]\nonly_from = 127.0.0.2\n');
  d = await startDaemon(`${CONF}\n`, { services: 'tcpmux 0/tcp\nt-plain 0/tcp\n', args: ['--settings', ini] });
  return d.port('tcpmux');
}

describe('tcpmux', () => {
  it('reads a service name of 256 characters ending in CR LF, refuses a longer one, and logs each refusal at debug with its reason', async () => {
    const port = await mux();
    const name = 'x'.repeat(256);
    expect((await exchange(port, `${name}\r\n`)).toString()).toBe('-Service not available\r\n');
    expect((await exchange(port, `${name}y\r\n`)).toString()).toBe('-Request too long\r\n');
    const reasons = (): unknown[] => d!.records.filter((r) => r.msg === 'tcpmux refused').map((r) => r.reason);
    await d!.waitFor((r) => r.msg === 'tcpmux refused' && /longer than 256/.test(String(r.reason)), 'too-long record');
    expect(reasons()).toEqual([`no tcpmux service "${name}"`, 'request line longer than 256 characters']);
  });

  it('answers +Go for a + service and then runs it, matching the name case-insensitively', async () => {
    expect((await exchange(await mux(), 'HELLO\r\n')).toString()).toBe('+Go\r\nhello\n');
  });

  it('lets a service without + answer for itself, on a blocking socket', async () => {
    const out = (await exchange(await mux(), 'report\r\n')).toString();
    expect(out.startsWith('fd ')).toBe(true);
    expect(out).toContain('nonblock0 0\n');
  });

  it('passes the bytes after the request line to the service untouched', async () => {
    expect((await exchange(await mux(), 'cat\r\nafter the line\n')).toString()).toBe('+Go\r\nafter the line\n');
  });

  it('lists only tcpmux services for HELP', async () => {
    expect((await exchange(await mux(), 'help\r\n')).toString().split('\r\n').filter(Boolean).sort()).toEqual(['cat', 'hang', 'hello', 'report', 'secret']);
  });

  it('answers -Service not available for an unknown name, and for a name that is not a tcpmux service', async () => {
    const port = await mux();
    expect((await exchange(port, 'gopher\r\n')).toString()).toBe('-Service not available\r\n');
    expect((await exchange(port, 't-plain\r\n')).toString()).toBe('-Service not available\r\n');
  });

  it('answers -Service not available while a sub-service is at its limit, and logs it at debug', async () => {
    const port = await mux();
    const held = await open(port);
    try {
      held.write('hang\r\n');
      await until(() => /^\+Go\r\n\d+\n/.test(held.received()), 'the first hang handler');
      const pid = Number(held.received().split('\r\n')[1]);
      try {
        expect((await exchange(port, 'hang\r\n')).toString()).toBe('-Service not available\r\n');
        expect(await d!.waitFor((r) => r.msg === 'unavailable', 'unavailable')).toMatchObject({ service: 'tcpmux/hang', state: 'full' });
      } finally {
        process.kill(pid, 'SIGKILL');
      }
    } finally {
      held.destroy();
    }
  });

  it("applies a sub-service's own access rules", async () => {
    const port = await mux();
    expect((await exchange(port, 'secret\r\n', { from: '127.0.0.1' })).toString()).toBe('-Service not available\r\n');
    expect((await exchange(port, 'secret\r\n', { from: '127.0.0.2' })).toString()).toBe('+Go\r\nhello\n');
    expect(await d!.waitFor((r) => r.msg === 'refused', 'refused')).toMatchObject({ service: 'tcpmux/secret', rule: '[service:tcpmux/secret/tcp] only_from' });
  });
});
