import { describe, expect, it } from 'vitest';
import { childSetup, SPAWN_DEFAULTS, SpawnError, type SpawnRequest } from '../../src/spawn/request.js';

const base: SpawnRequest = { file: '/usr/sbin/in.x', argv: ['in.x', '-v'], fd: 5, env: { PATH: '/bin', PROTO: 'TCP' }, uid: 65534, gid: 65534 };

describe('childSetup', () => {
  it.each([
    { what: 'as root, the ids and groups asked for', req: { ...base, groups: [65534, 20] }, asRoot: true, want: { uid: 65534, gid: 65534, groups: [65534, 20] } },
    { what: 'as root, no supplementary groups when none are asked for', req: base, asRoot: true, want: { uid: 65534, gid: 65534, groups: [] } },
    { what: 'as root with ids left alone, groups left alone too', req: { ...base, uid: -1, gid: -1, groups: [] }, asRoot: true, want: { uid: -1, gid: -1, groups: null } },
    { what: 'not as root, nothing changes whatever is asked', req: { ...base, groups: [0] }, asRoot: false, want: { uid: -1, gid: -1, groups: null } },
  ])('$what', ({ req, asRoot, want }) => {
    expect(childSetup(req, asRoot, false).opts).toMatchObject(want);
  });

  it('passes the fd, argv and exactly the environment as K=V lines', () => {
    const s = childSetup(base, true, false);
    expect(s).toMatchObject({ file: '/usr/sbin/in.x', argv: ['in.x', '-v'], env: ['PATH=/bin', 'PROTO=TCP'] });
    expect(s.opts.fd).toBe(5);
  });

  it.each([
    { terminal: true, session: true },
    { terminal: false, session: false },
  ])('gives the handler a session of its own only when we have a terminal ($terminal)', ({ terminal, session }) => {
    expect(childSetup(base, true, terminal).opts.session).toBe(session);
  });

  it('uses the file as argv[0] when argv is empty', () => {
    expect(childSetup({ ...base, argv: [] }, false, false).argv).toEqual(['/usr/sbin/in.x']);
  });

  it('fills umask 022, nice 0, no limits and cwd / by default, and passes them on when given', () => {
    expect(childSetup(base, false, false).opts).toMatchObject({ umask: 0o022, nice: 0, rlimits: [], cwd: '/' });
    expect(SPAWN_DEFAULTS).toEqual({ umask: 0o022, nice: 0, cwd: '/' });
    const rlimits: [number, number, number][] = [[7, 64, 128]];
    expect(childSetup({ ...base, umask: 0o077, nice: 5, rlimits, cwd: '/srv' }, false, false).opts).toMatchObject({ umask: 0o077, nice: 5, rlimits, cwd: '/srv' });
  });
});

describe('SpawnError', () => {
  it('has code ERR_SPAWN and keeps the OS error as cause', () => {
    const cause = Object.assign(new Error('clone: too many open files'), { code: 'EMFILE', syscall: 'clone' });
    const err = new SpawnError('spawn /x: clone: too many open files', { cause });
    expect(err).toMatchObject({ code: 'ERR_SPAWN', cause: { code: 'EMFILE' } });
  });
});
