// nss.c: user and group lookups through the C library (root exists on every system we run on).
import { describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';

describe('users and groups', () => {
  it('getpwnam finds root and returns null for an unknown user', () => {
    expect(native.getpwnam('root')).toMatchObject({ name: 'root', uid: 0, gid: 0, home: '/root' });
    expect(typeof native.getpwnam('root')!.shell).toBe('string');
    expect(native.getpwnam('ninetd-no-such-user')).toBeNull();
  });

  it('getgrnam finds the root group and returns null for an unknown group', () => {
    expect(native.getgrnam('root')).toEqual({ name: 'root', gid: 0 });
    expect(native.getgrnam('ninetd-no-such-group')).toBeNull();
  });

  it('getgrouplist includes the given gid', () => {
    expect(native.getgrouplist('root', 0)).toContain(0);
    expect(native.getgrouplist('ninetd-no-such-user', 4242)).toEqual([4242]);
  });
});
