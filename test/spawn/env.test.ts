import { describe, expect, it } from 'vitest';
import { HANDLER_PATH, handlerEnv } from '../../src/spawn/env.js';

describe('handlerEnv', () => {
  it.each([
    {
      what: 'TCP over IPv4',
      info: { transport: 'tcp' as const, local: { family: 'IPv4' as const, address: '127.0.0.1', port: 7 }, remote: { family: 'IPv4' as const, address: '127.0.0.2', port: 40000 } },
      want: { PATH: HANDLER_PATH, PROTO: 'TCP', TCPLOCALIP: '127.0.0.1', TCPLOCALPORT: '7', TCPREMOTEIP: '127.0.0.2', TCPREMOTEPORT: '40000', REMOTE_HOST: '127.0.0.2' },
    },
    {
      what: 'TCP over IPv6',
      info: { transport: 'tcp' as const, local: { family: 'IPv6' as const, address: '::1', port: 7 }, remote: { family: 'IPv6' as const, address: '::1', port: 5 } },
      want: { PATH: HANDLER_PATH, PROTO: 'TCP', TCPLOCALIP: '::1', TCPLOCALPORT: '7', TCPREMOTEIP: '::1', TCPREMOTEPORT: '5', REMOTE_HOST: '::1' },
    },
    {
      what: 'IPv4 peers of a dual-stack socket, unmapped',
      info: { transport: 'tcp' as const, local: { family: 'IPv6' as const, address: '::ffff:127.0.0.1', port: 7 }, remote: { family: 'IPv6' as const, address: '::ffff:10.1.2.3', port: 5 } },
      want: { PATH: HANDLER_PATH, PROTO: 'TCP', TCPLOCALIP: '127.0.0.1', TCPLOCALPORT: '7', TCPREMOTEIP: '10.1.2.3', TCPREMOTEPORT: '5', REMOTE_HOST: '10.1.2.3' },
    },
    {
      what: 'UDP wait service with no known peer',
      info: { transport: 'udp' as const, local: { family: 'IPv4' as const, address: '0.0.0.0', port: 69 }, remote: null },
      want: { PATH: HANDLER_PATH, PROTO: 'UDP', UDPLOCALIP: '0.0.0.0', UDPLOCALPORT: '69' },
    },
    {
      what: 'unix stream with peer credentials',
      info: { transport: 'unix' as const, local: { family: 'unix' as const, path: '/run/x.sock' }, remote: { family: 'unix' as const, path: '' }, cred: { pid: 42, uid: 1000, gid: 100 } },
      want: { PATH: HANDLER_PATH, PROTO: 'IPC', IPCLOCALPATH: '/run/x.sock', IPCREMOTEPID: '42', IPCREMOTEEUID: '1000', IPCREMOTEEGID: '100' },
    },
  ])('describes $what', ({ info, want }) => {
    expect(handlerEnv(info)).toEqual(want);
  });

  it('applies extra variables last', () => {
    expect(handlerEnv({ transport: 'tcp', local: null, remote: null }, { PATH: '/bin', LANG: 'C' })).toEqual({ PATH: '/bin', PROTO: 'TCP', LANG: 'C' });
  });
});
