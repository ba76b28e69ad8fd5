import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcbindClient, RpcbindError } from '../../src/rpc/client.js';
import { decodeSetResult, encodeMapping, encodeRpcb, registeredHost, universalAddress } from '../../src/rpc/rpcbind.js';
import { XdrReader } from '../../src/rpc/xdr.js';
import { ROOT } from '../helpers/daemon.js';
import { Sandbox, sandboxSkipReason } from './sandbox.js';

describe('rpcbind arguments', () => {
  it('encodes struct rpcb: program, version, netid, address, owner', () => {
    const args = encodeRpcb({ program: 100001, version: 5, netid: 'udp', address: '0.0.0.0.3.232' }, '0');
    expect(args.toString('hex')).toBe(
      ['000186a1', '00000005', '00000003 75647000', '0000000d 302e302e302e302e332e323332 000000', '00000001 30000000'].join('').replace(/\s+/g, ''),
    );
  });

  it('encodes struct mapping: program, version, protocol, port', () => {
    expect(encodeMapping(100002, 3, 17, 1000).toString('hex')).toBe('000186a2' + '00000003' + '00000011' + '000003e8');
  });

  it.each([
    ['a true result', '00000001', true],
    ['a false result', '00000000', false],
    ['a portmapper int used as a bool', '00000002', true],
  ])('reads %s', (_what, bytes, want) => {
    expect(decodeSetResult(new XdrReader(Buffer.from(bytes, 'hex')))).toBe(want);
  });
});

describe('universal addresses (RFC 1833 §2.1)', () => {
  it.each([
    ['0.0.0.0', 1000, '0.0.0.0.3.232'],
    ['127.0.0.1', 111, '127.0.0.1.0.111'],
    ['10.1.2.3', 65535, '10.1.2.3.255.255'],
    ['::', 256, '::.1.0'],
    ['::1', 2049, '::1.8.1'],
    ['fe80::1%lo', 1, 'fe80::1.0.1'],
  ])('%s port %d → %s', (host, port, want) => {
    expect(universalAddress(host, port)).toBe(want);
  });

  it.each([
    ['*', 'udp', '0.0.0.0'],
    ['*', 'tcp6', '::'],
    ['::', 'udp', '0.0.0.0'],
    ['::', 'udp6', '::'],
    ['127.0.0.1', 'tcp', '127.0.0.1'],
    ['::1', 'udp6', '::1'],
  ] as const)('registers a socket on %s under netid %s as %s', (host, netid, want) => {
    expect(registeredHost(host, netid)).toBe(want);
  });
});

const skip = sandboxSkipReason(['rpcbind', 'rpcinfo']);
if (skip) console.warn(`test/rpc/rpcbind.test.ts: skipping the tests with a real rpcbind: ${skip}`);

describe.skipIf(skip !== null)('RpcbindClient with a real rpcbind', () => {
  let sandbox: Sandbox;
  let client: RpcbindClient;

  beforeAll(async () => {
    sandbox = await Sandbox.open();
    await sandbox.startRpcbind();
    client = new RpcbindClient({ socketPath: sandbox.path('/run/rpcbind.sock') });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('registers and unregisters over the unix socket, where rpcbind knows us as root', async () => {
    await client.set({ program: 300001, version: 1, netid: 'udp', address: '0.0.0.0.4.1' });
    await client.set({ program: 300001, version: 2, netid: 'tcp', address: '127.0.0.1.4.2' });
    expect(await sandbox.portmapList()).toEqual([
      [300001, 1, 'udp', 1025],
      [300001, 2, 'tcp', 1026],
    ]);
    expect(await client.unset({ program: 300001, version: 1, netid: 'udp' })).toEqual(['udp']);
    expect(await client.unset({ program: 300001, version: 2, netid: 'tcp' })).toEqual(['tcp']);
    expect(await sandbox.portmapList()).toEqual([]);
  });

  it('is refused a version another address holds, until that registration is removed', async () => {
    await client.set({ program: 300002, version: 1, netid: 'udp', address: '0.0.0.0.4.1' });
    const err = await client.set({ program: 300002, version: 1, netid: 'udp', address: '0.0.0.0.4.2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcbindError);
    expect((err as RpcbindError).code).toBe('ERR_RPCBIND_REFUSED');
    await client.unset({ program: 300002, version: 1, netid: 'udp' });
    await client.set({ program: 300002, version: 1, netid: 'udp', address: '0.0.0.0.4.2' });
    expect(await sandbox.portmapList()).toEqual([[300002, 1, 'udp', 1026]]);
    await client.unset({ program: 300002, version: 1, netid: 'udp' });
  });

  it('registers IPv6 netids, which only rpcbind versions 3 and 4 list', async () => {
    await client.set({ program: 300003, version: 1, netid: 'udp6', address: '::.4.3' });
    const { stdout } = await sandbox.run('rpcinfo', ['-s']);
    expect(stdout).toMatch(/\b300003\s+1\s+udp6\s/);
    await client.unset({ program: 300003, version: 1, netid: 'udp6' });
    expect((await sandbox.run('rpcinfo', ['-s'])).stdout).not.toMatch(/300003/);
  });

  it('answers unset of a registration that does not exist with success', async () => {
    expect(await client.unset({ program: 300009, version: 7, netid: 'tcp' })).toEqual(['tcp']);
  });

  /** Runs the built client inside the sandbox (where 127.0.0.1:111 is the sandbox's rpcbind) with a socket path that does not exist. */
  async function portmapCall(call: string): Promise<{ ok?: unknown; code?: string; message?: string }> {
    const module = path.join(ROOT, 'dist', 'rpc', 'client.js');
    const script = `
      const { RpcbindClient } = await import(${JSON.stringify(module)});
      const c = new RpcbindClient({ socketPath: '/run/no-rpcbind.sock', timeoutMs: 3000 });
      try { console.log(JSON.stringify({ ok: await c.${call} })); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    const { stdout, stderr } = await sandbox.run(process.execPath, ['--input-type=module', '-e', script]);
    if (!stdout) throw new Error(stderr);
    return JSON.parse(stdout) as { ok?: unknown; code?: string };
  }

  it('falls back to portmapper version 2 over UDP on loopback when there is no unix socket', async () => {
    expect(await portmapCall(`set({ program: 300004, version: 1, netid: 'udp', address: '0.0.0.0.4.4' })`)).toEqual({});
    expect(await portmapCall(`set({ program: 300004, version: 1, netid: 'tcp', address: '0.0.0.0.4.5' })`)).toEqual({});
    expect(await sandbox.portmapList()).toEqual([
      [300004, 1, 'udp', 1028],
      [300004, 1, 'tcp', 1029],
    ]);
    // Version 2 removes a version over tcp and udp at once, and says so.
    expect(await portmapCall(`unset({ program: 300004, version: 1, netid: 'udp' })`)).toEqual({ ok: ['tcp', 'udp'] });
    expect(await sandbox.portmapList()).toEqual([]);
  });

  it('cannot register an IPv6 netid through portmapper version 2', async () => {
    expect(await portmapCall(`set({ program: 300005, version: 1, netid: 'tcp6', address: '::.4.4' })`)).toMatchObject({ code: 'ERR_RPCBIND_UNREACHABLE' });
  });
});

describe.skipIf(skip !== null)('RpcbindClient without rpcbind', () => {
  it('reports rpcbind unreachable when neither the unix socket nor 127.0.0.1:111 answers', async () => {
    const sandbox = await Sandbox.open();
    try {
      const module = path.join(ROOT, 'dist', 'rpc', 'client.js');
      const script = `
        const { RpcbindClient } = await import(${JSON.stringify(module)});
        const c = new RpcbindClient({ socketPath: '/run/rpcbind.sock', timeoutMs: 3000 });
        try { await c.set({ program: 300006, version: 1, netid: 'udp', address: '0.0.0.0.4.4' }); console.log('{}'); }
        catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
      const { stdout } = await sandbox.run(process.execPath, ['--input-type=module', '-e', script]);
      const out = JSON.parse(stdout) as { code: string; message: string };
      expect(out.code).toBe('ERR_RPCBIND_UNREACHABLE');
      expect(out.message).toContain('/run/rpcbind.sock');
    } finally {
      await sandbox.close();
    }
  });
});

describe('RpcbindClient, IPv6 without a unix socket', () => {
  it.each([
    ['a path that does not exist', '/nonexistent/rpcbind.sock'],
    ['a path that is no socket', import.meta.filename],
  ])('fails at once for %s: portmapper version 2 has no IPv6', async (_what, socketPath) => {
    const err = await new RpcbindClient({ socketPath }).set({ program: 300007, version: 1, netid: 'udp6', address: '::.4.4' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcbindError);
    expect((err as RpcbindError).code).toBe('ERR_RPCBIND_UNREACHABLE');
  });
});
