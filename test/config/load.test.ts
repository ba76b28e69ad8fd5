import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

const SERVICES = ['# fake services database for tests', 'myecho\t\t7007/tcp\t\tmy-echo-alias', 'myecho\t\t7007/udp', 'myday\t\t7013/tcp', ''].join('\n');

let dir: string;
let services: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ninetd-load-'));
  services = path.join(dir, 'services');
  writeFileSync(services, SERVICES);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `text` as inetd.conf in the temp dir and returns its path. */
function conf(text: string, name = 'inetd.conf'): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Writes an executable (or not) handler script under the temp dir. */
function handler(rel: string, mode = 0o755): string {
  const file = path.join(dir, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\necho hi\n');
  chmodSync(file, mode);
  return file;
}

describe('loadConfig', () => {
  it('resolves service names and aliases through the given services file', async () => {
    const file = conf('myecho stream tcp nowait - internal echo\nmy-echo-alias stream tcp4 nowait - internal echo\nmyecho dgram udp wait - internal echo\n');
    const { entries, errors } = await loadConfig(file, { servicesFile: services });
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.line, e.port, e.transport])).toEqual([
      [1, 7007, 'tcp'],
      [2, 7007, 'tcp'],
      [3, 7007, 'udp'],
    ]);
    expect(entries[0]).toMatchObject({ file, user: '-', uid: -1, gid: -1, groups: [] });
  });

  it('reports a name the services file does not list', async () => {
    const { errors } = await loadConfig(conf('# x\nmyday dgram udp wait - internal daytime\n'), { servicesFile: services });
    expect(errors.map((e) => [e.line, e.code])).toEqual([[2, 'ERR_CONFIG_SERVICE']]);
  });

  it('reports a config file that does not exist as ERR_CONFIG_READ on line 0', async () => {
    const file = path.join(dir, 'nope.conf');
    expect(await loadConfig(file, { servicesFile: services })).toEqual({
      entries: [],
      errors: [{ file, line: 0, code: 'ERR_CONFIG_READ', message: expect.any(String) }],
    });
  });

  it('reports a directory given as the config file as ERR_CONFIG_READ', async () => {
    const { errors } = await loadConfig(dir, { servicesFile: services });
    expect(errors).toEqual([expect.objectContaining({ file: dir, line: 0, code: 'ERR_CONFIG_READ' })]);
  });

  it.skipIf(process.getuid?.() === 0)('reports a config file without read permission as ERR_CONFIG_READ', async () => {
    const file = conf('echo stream tcp nowait - internal\n');
    chmodSync(file, 0o000);
    const { errors } = await loadConfig(file, { servicesFile: services });
    expect(errors).toEqual([expect.objectContaining({ line: 0, code: 'ERR_CONFIG_READ' })]);
  });

  it('loads a config of port numbers without any services file', async () => {
    const file = conf('0 stream tcp nowait - internal echo\n');
    const { entries, errors } = await loadConfig(file, { servicesFile: path.join(dir, 'missing-services') });
    expect(errors).toEqual([]);
    expect(entries).toHaveLength(1);
  });

  it('says the services file is unreadable when a name could not be resolved', async () => {
    const missing = path.join(dir, 'missing-services');
    const { errors } = await loadConfig(conf('myecho stream tcp nowait - internal echo\n'), { servicesFile: missing });
    expect(errors.map((e) => [e.file, e.line, e.code])).toEqual([
      [missing, 0, 'ERR_CONFIG_SERVICES_READ'],
      [expect.any(String), 1, 'ERR_CONFIG_SERVICE'],
    ]);
  });

  it('resolves rpc program names through the given rpc file', async () => {
    const rpcFile = path.join(dir, 'rpc');
    writeFileSync(rpcFile, 'myprog\t\t300100\tmy-alias\n');
    const file = conf('myprog/1 dgram rpc/udp wait - /bin/true\nmy-alias/2-3 stream rpc/tcp nowait - /bin/true\n');
    const { entries, errors } = await loadConfig(file, { servicesFile: services, rpcFile });
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.service, e.rpc?.program, e.rpc?.low, e.rpc?.high])).toEqual([
      ['myprog', 300100, 1, 1],
      ['my-alias', 300100, 2, 3],
    ]);
  });

  it('loads rpc entries given by number without any rpc file', async () => {
    const file = conf('300100/1 dgram rpc/udp wait - /bin/true\n');
    const { errors } = await loadConfig(file, { servicesFile: services, rpcFile: path.join(dir, 'missing-rpc') });
    expect(errors).toEqual([]);
  });

  it('says the rpc file is unreadable when a program name could not be resolved', async () => {
    const missing = path.join(dir, 'missing-rpc');
    const { errors } = await loadConfig(conf('myprog/1 dgram rpc/udp wait - /bin/true\n'), { servicesFile: services, rpcFile: missing });
    expect(errors.map((e) => [e.file, e.line, e.code])).toEqual([
      [missing, 0, 'ERR_CONFIG_RPC_READ'],
      [expect.any(String), 1, 'ERR_CONFIG_RPC_PROGRAM'],
    ]);
  });

  it('resolves a relative server against the config file directory and checks it is executable', async () => {
    const script = handler('handlers/hello.sh');
    const { entries, errors } = await loadConfig(conf('0 stream tcp nowait - handlers/hello.sh\n'), { servicesFile: services });
    expect(errors).toEqual([]);
    expect(entries[0]).toMatchObject({ server: script, argv: ['hello.sh'] });
  });

  it('resolves relative servers the same way when the config path itself is relative', async () => {
    const script = handler('handlers/hello.sh');
    const file = path.relative(process.cwd(), conf('0 stream tcp nowait - handlers/hello.sh\n'));
    const { entries, errors } = await loadConfig(file, { servicesFile: services });
    expect(errors).toEqual([]);
    expect(entries[0]).toMatchObject({ file, server: script });
  });

  it.each([
    ['a file that does not exist', () => path.join(dir, 'absent.sh')],
    ['a file without execute permission', () => handler('plain.sh', 0o644)],
    ['a directory', () => dir],
  ])('reports %s as the server with ERR_CONFIG_SERVER', async (_what, make) => {
    const { errors } = await loadConfig(conf(`0 stream tcp nowait - ${make()}\n`), { servicesFile: services });
    expect(errors.map((e) => e.code)).toEqual(['ERR_CONFIG_SERVER']);
  });

  it('says which of missing, not executable or not a file a bad server is, each in its own words', async () => {
    const text = [path.join(dir, 'absent.sh'), handler('plain.sh', 0o644), dir].map((p) => `0 stream tcp nowait - ${p}\n`).join('');
    const { errors } = await loadConfig(conf(text), { servicesFile: services });
    const messages = errors.map((e) => e.message);
    expect(messages).toHaveLength(3);
    expect(new Set(messages.map((m) => m.replace(/"[^"]*"/, ''))).size).toBe(3);
  });

  it('names the services file it searched when a name is not in it', async () => {
    const { errors } = await loadConfig(conf('myday dgram udp wait - internal daytime\n'), { servicesFile: services });
    expect(errors[0]!.message).toContain(services);
  });

  it('looks users and groups up in the system databases', async () => {
    const me = userInfo();
    const file = conf(`0 stream tcp nowait root:root internal echo\n0 stream tcp nowait ${me.username} internal echo\n`);
    const { entries, errors } = await loadConfig(file, { servicesFile: services });
    expect(errors).toEqual([]);
    expect(entries[0]).toMatchObject({ user: 'root', group: 'root', uid: 0, gid: 0 });
    expect(entries[0]!.groups).toContain(0);
    expect(entries[1]).toMatchObject({ user: me.username, uid: me.uid, gid: me.gid });
    expect(entries[1]!.groups).toContain(me.gid);
  });

  it('reports an unknown user and an unknown group', async () => {
    const file = conf('0 stream tcp nowait ninetd-no-such-user internal echo\n0 stream tcp nowait root:ninetd-no-such-group internal echo\n');
    const { errors } = await loadConfig(file, { servicesFile: services });
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [1, 'ERR_CONFIG_USER'],
      [2, 'ERR_CONFIG_GROUP'],
    ]);
  });

  it('passes defaultFamily on to the parser', async () => {
    const file = conf('0 stream tcp nowait - internal echo\n');
    const dual = await loadConfig(file, { servicesFile: services, defaultFamily: 'inet46' });
    const plain = await loadConfig(file, { servicesFile: services });
    expect([dual.entries[0]?.family, plain.entries[0]?.family]).toEqual(['inet46', 'inet4']);
  });
});
