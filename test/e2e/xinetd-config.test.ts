// ninetd on an xinetd.conf tree through the real process: recognised by its syntax, checked with
// file:line errors, reloaded atomically across the include tree, access_times and banner_success
// acting, and `ninetd convert` both ways producing files ninetd serves the same.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exchange } from '../helpers/client.js';
import { CLI, FIXTURE_BIN, startDaemon, type LogRecord, type RunningDaemon } from '../helpers/daemon.js';

const SERVICES = ['t-hello', 't-other', 't-new', 'echo'].map((n) => `${n} 0/tcp`).join('\n');
const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-xconf-'));
const running: RunningDaemon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const svc = (name: string, ...lines: string[]): string => `service ${name}\n{\n${lines.map((l) => `\t${l}\n`).join('')}}\n`;
const hello = (name: string, ...more: string[]): string =>
  svc(name, 'socket_type = stream', 'protocol = tcp', 'wait = no', 'user = root', `server = ${FIXTURE_BIN}/hello`, 'flags = IPv4', ...more);

/** Writes a tree: xinetd.conf with `includedir d`, and the files of d. */
function tree(name: string, files: Record<string, string>): string {
  const root = path.join(dir, name);
  mkdirSync(path.join(root, 'd'), { recursive: true });
  writeFileSync(path.join(root, 'xinetd.conf'), `defaults\n{\n\tinstances = 20\n}\nincludedir ${root}/d\n`);
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(root, 'd', f), text);
  return root;
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

async function reload(d: RunningDaemon): Promise<LogRecord> {
  const from = d.records.length;
  process.kill(d.pid, 'SIGHUP');
  return d.waitFor((r) => d.records.indexOf(r) >= from && (r.msg === 'reloaded' || String(r.msg).startsWith('reload rejected')), 'reload outcome');
}

describe('ninetd on xinetd.conf', () => {
  it('--check recognises the syntax, counts the services and names every refused attribute by file:line', () => {
    const root = tree('check', { a: hello('t-hello'), b: hello('t-other', 'max_load = 2', 'flags += SENSOR') });
    const services = path.join(dir, 'services');
    writeFileSync(services, SERVICES);
    const r = cli('--check', '--services', services, path.join(root, 'xinetd.conf'));
    expect(r.status).toBe(78);
    expect(r.stderr).toContain(`${root}/d/b:9: attribute "max_load" is not supported (ninetd does not watch the load average)`);
    expect(r.stderr).toContain(`${root}/d/b:10: attribute "flags" takes only "="`);
    writeFileSync(path.join(root, 'd', 'b'), hello('t-other'));
    const ok = cli('--check', '--services', services, path.join(root, 'xinetd.conf'));
    expect([ok.status, ok.stdout.trim()]).toEqual([0, `${root}/xinetd.conf: ok, 2 services`]);
    // Forced to read it as inetd.conf, the same file is all errors.
    expect(cli('--check', '--format', 'inetd', '--services', services, path.join(root, 'xinetd.conf')).status).toBe(78);
  });

  it('reloads atomically across the include tree: an error in one included file keeps everything as it was', async () => {
    const root = tree('reload', { a: hello('t-hello'), b: hello('t-other') });
    const d = await startDaemon(`include ${root}/xinetd.conf\n`, { services: SERVICES });
    running.push(d);
    const port = d.port('t-hello');
    writeFileSync(path.join(root, 'd', 'b'), hello('t-other', 'bogus = 1'));
    writeFileSync(path.join(root, 'd', 'c'), hello('t-new'));
    expect((await reload(d)).msg).toMatch(/^reload rejected/);
    expect(d.records.some((r) => r.service === 't-new')).toBe(false);
    expect((await exchange(port)).toString()).toBe('hello\n');
    writeFileSync(path.join(root, 'd', 'b'), hello('t-other'));
    expect(await reload(d)).toMatchObject({ msg: 'reloaded', added: 1, unchanged: 2 });
    expect((await exchange(d.port('t-new'))).toString()).toBe('hello\n');
  });

  it('sends banner then banner_success to an admitted client, and refuses outside access_times naming the rule', async () => {
    writeFileSync(path.join(dir, 'banner.txt'), 'banner\n');
    writeFileSync(path.join(dir, 'welcome'), 'welcome\n');
    const away = (new Date().getHours() + 12) % 24;
    const root = tree('banner', {
      a: hello('t-hello', `banner = ${dir}/banner.txt`, `banner_success = ${dir}/welcome`, 'access_times = 0:00-23:59'),
      b: hello('t-other', `access_times = ${away}:00-${away}:30`),
    });
    const d = await startDaemon(`include ${root}/xinetd.conf\n`, { services: SERVICES });
    running.push(d);
    expect((await exchange(d.port('t-hello'))).toString()).toBe('banner\nwelcome\nhello\n');
    expect((await exchange(d.port('t-other'))).toString()).toBe('');
    expect(await d.waitFor((r) => r.msg === 'refused', 'refusal')).toMatchObject({ rule: '[service:t-other/tcp4] access_times' });
  });

  it('convert: an xinetd tree becomes inetd.conf and sections that check the same, and back', () => {
    const root = tree('convert', { a: hello('t-hello', 'only_from = 127.0.0.1', 'cps = 10 3'), b: svc('echo', 'type = INTERNAL', 'socket_type = stream', 'wait = no') });
    const services = path.join(dir, 'services');
    writeFileSync(services, SERVICES);
    const ini = path.join(root, 'converted.ini');
    const out = cli('convert', '--services', services, '--settings-out', ini, path.join(root, 'xinetd.conf'));
    expect(out.status).toBe(0);
    const inetd = path.join(root, 'converted.conf');
    writeFileSync(inetd, out.stdout);
    expect(out.stdout).toContain(`t-hello stream tcp4 nowait root ${FIXTURE_BIN}/hello hello`);
    const checked = cli('--check', '--services', services, '--settings', ini, inetd);
    expect([checked.status, checked.stdout.trim()]).toEqual([0, `${inetd}: ok, 2 services`]);
    const back = cli('convert', '--services', services, '--settings', ini, inetd);
    expect(back.status).toBe(0);
    const again = path.join(root, 'again.conf');
    writeFileSync(again, back.stdout);
    expect(back.stdout).toContain('cps         = 10 3');
    expect(cli('--check', '--services', services, again).stdout.trim()).toBe(`${again}: ok, 2 services`);
  });
});
