// Where the control socket is: flag, then setting, then beside the pid file; '' for none.
import { describe, expect, it } from 'vitest';
import { controlSocketPath } from '../../src/control/path.js';

describe('controlSocketPath', () => {
  it.each([
    ['the default pid file gives the default socket', undefined, undefined, '/run/ninetd.pid', '/run/ninetd.sock'],
    ['a pid file elsewhere gives a socket beside it', undefined, undefined, '/tmp/t/x.pid', '/tmp/t/x.sock'],
    ['a pid file without .pid gets .sock added', undefined, undefined, '/tmp/t/lock', '/tmp/t/lock.sock'],
    ['no pid file and nothing set: none', undefined, undefined, '', null],
    ['the setting beats the pid file', undefined, '/run/a.sock', '/run/ninetd.pid', '/run/a.sock'],
    ['an empty setting: none', undefined, '', '/run/ninetd.pid', null],
    ['the flag beats the setting', '/run/b.sock', '/run/a.sock', '/run/ninetd.pid', '/run/b.sock'],
    ['an empty flag: none', '', '/run/a.sock', '/run/ninetd.pid', null],
  ])('%s', (_what, flag, setting, pidfile, expected) => {
    expect(controlSocketPath(flag, setting, pidfile)).toBe(expected);
  });

  it('makes relative paths absolute against the working directory', () => {
    expect(controlSocketPath('c.sock', undefined, '')).toBe(`${process.cwd()}/c.sock`);
    expect(controlSocketPath(undefined, undefined, 'n.pid')).toBe(`${process.cwd()}/n.sock`);
  });
});
