// The Launcher's tests (launch-suite.ts) on the reaper this kernel allows: io_uring where it has
// the waitid operation (Linux 6.7), else pidfds; and the fall back to pidfds where io_uring is
// refused.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_BIN } from '../helpers/daemon.js';
import { ADDON, run } from '../helpers/native.js';
import { launchSuite } from './launch-suite.js';

launchSuite(true);

describe('Launcher reaper', () => {
  it('watches exits through pidfds where a seccomp filter refuses io_uring', async () => {
    const script = `console.log(require(process.env.ADDON).launchRecords(() => {}))`;
    const r = await run(path.join(FIXTURE_BIN, 'refuse'), ['io_uring_setup', process.execPath, '-e', script], { env: { ADDON } });
    expect(r).toMatchObject({ code: 0, stdout: 'pidfd\n', stderr: '' });
  });
});
