import { describe, expect, it } from 'vitest';
import { recordFields, recordText, type LogRecord } from '../../src/log/text.js';

const base = { level: 30, time: 1764680000000, name: 'ninetd' };

describe('recordText', () => {
  it.each<[string, LogRecord, string]>([
    ['a handler connection', { msg: 'connection', service: 'finger', proto: 'tcp', peer: '192.0.2.1:51324', pid: 812, code: 0, signal: null, ms: 4 }, 'connection from 192.0.2.1:51324 to finger/tcp, pid 812, exit 0, 4 ms'],
    ['a handler killed by a signal', { msg: 'connection', service: 'x', proto: 'tcp6', peer: '[::1]:5', pid: 9, code: null, signal: 'SIGSEGV', ms: 10 }, 'connection from [::1]:5 to x/tcp6, pid 9, killed by SIGSEGV, 10 ms'],
    ['an internal connection', { msg: 'connection', service: 'echo', proto: 'tcp', peer: '127.0.0.1:4000', ms: 2 }, 'connection from 127.0.0.1:4000 to echo/tcp, 2 ms'],
    ['a wait handler run', { msg: 'connection', service: 'tftp', proto: 'udp', peer: '', pid: 77, code: 0, ms: 30000 }, 'connection to tftp/udp, pid 77, exit 0, 30000 ms'],
    ['a listening service', { msg: 'listening', service: 'echo', proto: 'tcp', type: 'stream', wait: false, addr: '127.0.0.1', port: 7 }, 'echo/tcp: listening on 127.0.0.1:7 (stream, nowait)'],
    ['a listening IPv6 service', { msg: 'listening', service: 'echo', proto: 'udp6', type: 'dgram', wait: true, addr: '::', port: 7 }, 'echo/udp6: listening on [::]:7 (dgram, wait)'],
    ['a listening unix service', { msg: 'listening', service: '/run/x.sock', proto: 'unix', type: 'stream', wait: false, path: '/run/x.sock' }, '/run/x.sock/unix: listening on /run/x.sock (stream, nowait)'],
    ['a refusal', { msg: 'refused', service: 'ftp', proto: 'tcp', peer: '198.51.100.7:50312', rule: '/etc/hosts.deny:4' }, 'refused 198.51.100.7:50312 for ftp/tcp by /etc/hosts.deny:4'],
    ['start', { msg: 'started', services: 3, unbound: 1 }, 'started: 3 services, 1 unbound'],
    ['a reload', { msg: 'reloaded', added: 1, changed: 0, removed: 2, unchanged: 5 }, 'reloaded: 1 added, 0 changed, 2 removed, 5 unchanged'],
    ['the state', { msg: 'state', services: [{ service: 'echo', proto: 'tcp', state: 'listening', children: 0 }, { service: 'x', proto: 'udp', state: 'busy', children: 1 }] }, 'state: 2 services: echo/tcp listening; x/udp busy (1 running)'],
    ['syslog back after drops', { msg: 'syslog restored', missed: 3, to: null, socket: '/dev/log' }, 'syslog restored: 3 records were dropped while /dev/log could not be written'],
    ['a config error, whose message has file and line', { level: 50, msg: '/etc/inetd.conf:3: unknown socket type "strem"', file: '/etc/inetd.conf', line: 3, code: 'ERR_CONFIG_SOCKET_TYPE' }, '/etc/inetd.conf:3: unknown socket type "strem" (code=ERR_CONFIG_SOCKET_TYPE)'],
    ['a service record the table does not know', { msg: 'resumed after suspension', service: 'echo', proto: 'tcp' }, 'echo/tcp: resumed after suspension'],
    ['an error with an OS error', { msg: 'cannot start handler', service: 'x', proto: 'tcp', peer: '127.0.0.1:9', code: 'ERR_SPAWN', err: { code: 'ENOENT', message: 'spawn: no such file' } }, 'x/tcp: cannot start handler (peer=127.0.0.1:9, code=ERR_SPAWN, err=spawn: no such file (ENOENT))'],
    ['a bind error that names its service already', { msg: 'etc/inetd.conf:2: echo/tcp on *:7: bind: permission denied', service: 'echo', proto: 'tcp', code: 'ERR_BIND', err: { code: 'EACCES' } }, 'etc/inetd.conf:2: echo/tcp on *:7: bind: permission denied (code=ERR_BIND, err=EACCES)'],
  ])('%s', (_what, rec, line) => {
    expect(recordText({ ...base, ...rec })).toBe(line);
  });
});

describe('recordText without fields (the terminal of a detaching ninetd)', () => {
  it('gives the message, prefixed by the service, and no key=value', () => {
    expect(recordText({ ...base, msg: 'cannot start handler', service: 'x', proto: 'tcp', code: 'ERR_SPAWN' }, { fields: false })).toBe('x/tcp: cannot start handler');
  });
});

describe('recordFields', () => {
  it('lists the fields without pino plumbing, one level of nesting flattened', () => {
    expect(recordFields({ ...base, msg: 'x', service: 'a', pid: 3, err: { code: 'E', errno: -2 }, services: [1] })).toEqual([
      ['service', 'a'],
      ['pid', '3'],
      ['err.code', 'E'],
      ['err.errno', '-2'],
      ['services', '[1]'],
    ]);
  });
});
