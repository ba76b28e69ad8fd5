import { describe, expect, it } from 'vitest';
import { parseConfig, type Lookups } from '../../src/config/parse.js';
import { privilegeWarnings, processPrivileges, type Privileges } from '../../src/config/privileges.js';

const USERS: Record<string, { uid: number; gid: number }> = { alice: { uid: 1000, gid: 1000 }, nobody: { uid: 65534, gid: 65534 }, root: { uid: 0, gid: 0 } };
const lookups: Lookups = {
  port: () => null,
  rpc: () => null,
  user: (name) => USERS[name] ?? null,
  group: (name) => ({ alice: 1000, nogroup: 65534, root: 0 })[name] ?? null,
  groups: (_user, gid) => [gid],
  executable: () => true,
};

const ALICE: Privileges = { uid: 1000, gid: 1000, bindService: false, unprivilegedPortStart: 1024 };

/** Lines of the warnings for one config line checked with privileges `p`. */
function warnings(line: string, p: Privileges = ALICE): number[] {
  const { entries, errors } = parseConfig(`${line}\n`, 'inetd.conf', lookups);
  expect(errors).toEqual([]);
  return privilegeWarnings(entries, p).map((w) => (expect(w.code).toBe('ERR_CHECK_PRIVILEGE'), w.line));
}

describe('privilegeWarnings', () => {
  it.each([
    ['a port below 1024 for a user without CAP_NET_BIND_SERVICE', '7 stream tcp nowait - internal echo', ALICE, 1],
    ['a port below 1024 with CAP_NET_BIND_SERVICE', '7 stream tcp nowait - internal echo', { ...ALICE, bindService: true }, 0],
    ['a port below 1024 where unprivileged ports start at 0', '7 stream tcp nowait - internal echo', { ...ALICE, unprivilegedPortStart: 0 }, 0],
    ['a high port', '8007 stream tcp nowait - internal echo', ALICE, 0],
    ['port 0 (any free port)', '0 stream tcp nowait - internal echo', ALICE, 0],
    ['a handler as another user', '8007 stream tcp nowait nobody /bin/cat cat', ALICE, 1],
    ['a handler as the checking user', '8007 stream tcp nowait alice /bin/cat cat', ALICE, 0],
    ['a handler as the user itself with another group', '8007 stream tcp nowait alice:nogroup /bin/cat cat', ALICE, 1],
    ['a handler as another user, checked by root', '8007 stream tcp nowait nobody /bin/cat cat', { ...ALICE, uid: 0, gid: 0, bindService: true }, 0],
    ['an internal service naming root', '8007 stream tcp nowait root internal echo', ALICE, 0],
    ['a unix socket with an owner prefix', ':root:root:660:/run/x.sock stream unix nowait - /bin/cat cat', ALICE, 1],
    ['a unix socket with a mode only', ':::660:/run/x.sock stream unix nowait - /bin/cat cat', ALICE, 0],
    ['a low port, another user and as root without the capability', '7 stream tcp nowait nobody /bin/cat cat', { ...ALICE, uid: 0, gid: 0 }, 1],
    ['a low port and another user', '7 stream tcp nowait nobody /bin/cat cat', ALICE, 2],
  ])('%s', (_what, line, p, count) => {
    const got = warnings(line, p as Privileges);
    expect(got).toHaveLength(count);
    for (const l of got) expect(l).toBe(1);
  });
});

describe('processPrivileges', () => {
  it('reads this process: root here has CAP_NET_BIND_SERVICE unless it was dropped', () => {
    const p = processPrivileges();
    expect(p.uid).toBe(process.getuid!());
    expect(p.unprivilegedPortStart).toBeGreaterThanOrEqual(0);
    expect(typeof p.bindService).toBe('boolean');
  });
});
