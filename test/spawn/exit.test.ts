// watchExit on natively spawned children: one report, pidfd closed, and no hold on the process.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';
import { watchExit } from '../../src/spawn/exit.js';
import type { HandlerEnd } from '../../src/spawn/request.js';
import { alive } from '../helpers/wait.js';

const WAIT_MS = 10_000;
const ROOT = path.resolve(import.meta.dirname, '../..');

function spawnNative(argv: string[]) {
  const fd = openSync('/dev/null', 'r+');
  try {
    return native.spawnHandler(argv[0]!, argv, [], { fd, uid: -1, gid: -1, groups: null, umask: 0o022, nice: 0, rlimits: [], cwd: '/' });
  } finally {
    closeSync(fd);
  }
}

describe('watchExit', () => {
  it('reports the end once, after closing the pidfd', async () => {
    const child = spawnNative(['/bin/sh', '-c', 'exit 4']);
    const ends: HandlerEnd[] = [];
    const end = await new Promise<HandlerEnd>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no end')), WAIT_MS);
      watchExit(child.pidfd, (e) => {
        ends.push(e);
        clearTimeout(timer);
        // By now the pidfd is closed: its number is no longer ours.
        expect(existsSync(`/proc/self/fd/${child.pidfd}`)).toBe(false);
        resolve(e);
      });
    });
    await new Promise((r) => setImmediate(r));
    // With what it cost, from waitid's rusage.
    expect(end).toEqual({ code: 4, signal: null, usage: { utimeUs: expect.any(Number), stimeUs: expect.any(Number), maxRssKb: expect.any(Number) } });
    expect(end.usage!.maxRssKb).toBeGreaterThan(0);
    expect(ends).toHaveLength(1);
  });

  it('does not keep a supervisor process alive while its handler runs', () => {
    // A separate node process spawns a long-running handler and returns; it must exit at once.
    const script = `
      import { openSync } from 'node:fs';
      import { spawnHandler } from ${JSON.stringify(path.join(ROOT, 'dist/spawn/spawn.js'))};
      const fd = openSync('/dev/null', 'r+'); // not our stdout: the handler would hold the pipe open
      const pid = spawnHandler({ file: '/bin/sleep', argv: ['sleep', '30'], fd, env: {}, uid: -1, gid: -1 }, () => {});
      console.log(pid);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: WAIT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const pid = Number(r.stdout.trim());
    expect(alive(pid)).toBe(true);
    execFileSync('kill', ['-KILL', String(pid)]);
  });
});
