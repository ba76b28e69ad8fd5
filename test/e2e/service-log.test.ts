// A service's own log file (`log_file` in its section; xinetd's `log_type = FILE`): its records
// go there besides the daemon's destination, the file is reopened on SIGUSR1, and a symlink at
// its path is never followed.
import { mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exchange } from '../helpers/client.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-service-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const running: RunningDaemon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

/** The JSON records of a log file. */
const records = (file: string): Array<Record<string, unknown>> =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('a service log file', () => {
  it("gets that service's records, not the others', besides the daemon's log, and is reopened on SIGUSR1", async () => {
    const file = path.join(dir, 'echo.log');
    const ini = path.join(dir, 'own.ini');
    writeFileSync(ini, `[service:echo/tcp]\nlog_file = ${file}\n`);
    const d = await startDaemon('127.0.0.1:echo stream tcp nowait - internal\n127.0.0.1:daytime stream tcp nowait - internal\n', {
      services: 'echo 0/tcp\ndaytime 0/tcp\n',
      args: ['-l', '--settings', ini],
    });
    running.push(d);
    expect((await exchange(d.port('echo'), 'one')).toString()).toBe('one');
    await exchange(d.port('daytime'));
    await until(() => records(file).some((r) => r.msg === 'connection'), 'the connection record in the file');
    expect(records(file).map((r) => r.service)).toEqual(records(file).map(() => 'echo'));
    expect(records(file).map((r) => r.msg)).toEqual(expect.arrayContaining(['listening', 'connection']));
    // The daemon's own log has them too.
    await d.waitFor((r) => r.msg === 'connection' && r.service === 'daytime', "daytime's connection record");
    expect(d.records.filter((r) => r.msg === 'connection').map((r) => r.service).sort()).toEqual(['daytime', 'echo']);
    expect(records(file).some((r) => r.service === 'daytime')).toBe(false);
    renameSync(file, `${file}.1`);
    process.kill(d.pid, 'SIGUSR1');
    const inNewFile = (): boolean => {
      try {
        return records(file).length > 0;
      } catch {
        return false; // not reopened yet
      }
    };
    await until(async () => (await exchange(d.port('echo'), 'two')).toString() === 'two' && inNewFile(), 'records in the new file');
    expect(records(file).every((r) => r.service === 'echo')).toBe(true);
  });

  it('never follows a symlink at its path: the service logs to the daemon only, and the target is untouched', async () => {
    const victim = path.join(dir, 'victim');
    writeFileSync(victim, 'secret\n');
    const file = path.join(dir, 'planted.log');
    symlinkSync(victim, file);
    const ini = path.join(dir, 'planted.ini');
    writeFileSync(ini, `[service:echo/tcp]\nlog_file = ${file}\n`);
    const d = await startDaemon('127.0.0.1:echo stream tcp nowait - internal\n', { services: 'echo 0/tcp\n', args: ['-l', '--settings', ini] });
    running.push(d);
    expect(await d.waitFor((r) => r.code === 'ERR_LOG_DESTINATION', 'the refusal of the file')).toMatchObject({ service: 'echo', file });
    expect((await exchange(d.port('echo'), 'x')).toString()).toBe('x');
    expect(readFileSync(victim, 'utf8')).toBe('secret\n');
  });
});
