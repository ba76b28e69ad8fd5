// The Launcher's tests (launch-suite.ts) on the reaper this kernel allows: io_uring where it has
// the waitid operation (Linux 6.7), else pidfds; and the fall back to pidfds where io_uring is
// refused.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_BIN } from '../helpers/daemon.js';
import { ADDON, run } from '../helpers/native.js';
import { childLauncher, launchSuite } from './launch-suite.js';

launchSuite(true);

describe('Launcher environments', () => {
  it('serves in a worker thread, and ends its launch thread with the worker, one worker after another', async () => {
    // In a child node: each worker has an environment of its own, with its own launch thread,
    // which the worker's end stops and joins; the process then ends by itself.
    const script = `
      const { Worker } = require('node:worker_threads');
      const net = require('node:net');
      const inner = ${JSON.stringify(`
        const { parentPort } = require('node:worker_threads');
        ${childLauncher(
          // Kind 1 is an end record (the first of each record's 9 numbers).
          `(batch) => { if (batch[0].some((v, i) => i % 9 === 0 && v === 1)) parentPort.postMessage('ended'); }`,
          ['/bin/sh', 'sh', '-c', 'echo served'],
        )}
        l.start(0, -1);
        parentPort.postMessage(a.getsockname(fd).port);
      `)};
      async function round() {
        const w = new Worker(inner, { eval: true });
        const port = await new Promise((r) => w.once('message', r));
        const text = await new Promise((resolve, reject) => {
          let t = '';
          net.connect(port, '127.0.0.1').on('data', (d) => (t += d)).on('close', () => resolve(t.trim())).on('error', reject);
        });
        const ended = await new Promise((r) => w.once('message', r));
        await w.terminate();
        return { text, ended, threads: require('node:fs').readdirSync('/proc/self/task').length };
      }
      (async () => console.log(JSON.stringify([await round(), await round()])))();
    `;
    const r = await run(process.execPath, ['-e', script], { env: { ADDON } });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const rounds = JSON.parse(r.stdout) as Array<{ text: string; ended: string; threads: number }>;
    expect(rounds.map(({ text, ended }) => ({ text, ended }))).toEqual([
      { text: 'served', ended: 'ended' },
      { text: 'served', ended: 'ended' },
    ]);
    // A worker's launch thread ends with it: the second round leaves no more threads than the first.
    expect(rounds[1]!.threads).toBe(rounds[0]!.threads);
  });
});

describe('Launcher reaper', () => {
  it('watches exits through pidfds where a seccomp filter refuses io_uring', async () => {
    const script = `console.log(require(process.env.ADDON).launchRecords(() => {}))`;
    const r = await run(path.join(FIXTURE_BIN, 'refuse'), ['io_uring_setup', process.execPath, '-e', script], { env: { ADDON } });
    expect(r).toMatchObject({ code: 0, stdout: 'pidfd\n', stderr: '' });
  });
});
