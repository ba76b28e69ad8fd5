// The console commands' own logic: which argv is a command, and where the socket is found from
// the flags and a settings file. Their output against a real daemon is tested in
// test/e2e/control.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findControlSocket, isControlCommand } from '../../src/control/commands.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-commands-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('isControlCommand', () => {
  it.each([
    [['status'], true],
    [['status', 'echo', '--json'], true],
    [['reload', '-p', '/tmp/x.pid'], true],
    [['/etc/inetd.conf'], false],
    [['./status'], false],
    [['-d', 'status'], false],
    [['toString'], false],
    [[], false],
  ])('%o: %s', (argv, yes) => {
    expect(isControlCommand(argv)).toBe(yes);
  });
});

describe('findControlSocket', () => {
  const ini = (name: string, text: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('takes the flag, then control_socket, then the pid file (flag, then setting) with .sock', async () => {
    const both = ini('both.ini', '[daemon]\ncontrol_socket = /run/a.sock\npidfile = /run/b.pid\n');
    const pid = ini('pid.ini', '[daemon]\npidfile = /run/b.pid\n');
    const none = ini('none.ini', '[daemon]\npidfile =\n');
    expect(await findControlSocket({ controlSocket: '/run/c.sock', settings: both })).toBe('/run/c.sock');
    expect(await findControlSocket({ settings: both, pidfile: '/run/d.pid' })).toBe('/run/a.sock');
    expect(await findControlSocket({ settings: pid })).toBe('/run/b.sock');
    expect(await findControlSocket({ settings: pid, pidfile: '/run/d.pid' })).toBe('/run/d.sock');
    expect(await findControlSocket({ settings: none })).toBeNull();
  });

  it('still finds the socket when the settings file has errors elsewhere', async () => {
    const bad = ini('bad.ini', '[daemon]\numask = 999\ncontrol_socket = /run/e.sock\n');
    expect(await findControlSocket({ settings: bad })).toBe('/run/e.sock');
  });
});
