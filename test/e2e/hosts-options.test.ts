// hosts_options(5) applied by the running daemon: twist, spawn (served or refused), setenv,
// umask, nice, user, banners, with the `%` expansions of the client's address.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exchange } from '../helpers/client.js';
import { FIXTURE_BIN, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-options-'));
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const running: RunningDaemon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

let n = 0;
/** A daemon serving `config` with these hosts.allow and hosts.deny. */
async function daemon(config: string, allow: string, deny = ''): Promise<RunningDaemon> {
  const k = n++;
  const [a, dn, ini] = ['allow', 'deny', 'ini'].map((x) => path.join(dir, `${x}-${k}`)) as [string, string, string];
  writeFileSync(a, allow);
  writeFileSync(dn, deny);
  writeFileSync(ini, `[daemon]\ntcp_wrappers = yes\nhosts_allow = ${a}\nhosts_deny = ${dn}\n`);
  const d = await startDaemon(`${config}\n`, { services: 't-hello 0/tcp\nt-report 0/tcp\n', args: ['--settings', ini] });
  running.push(d);
  return d;
}

/** `key value` lines of the report fixture. */
function report(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
}

describe('hosts_options in a running daemon', () => {
  it('logs a refusal at the level severity names', async () => {
    const d = await daemon(`t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`, '', 'hello: 127.0.0.1: severity auth.warning\n');
    expect((await exchange(d.port('t-hello'))).toString()).toBe('');
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ level: 40 });
  });

  it('twist in hosts.deny answers the client with the command instead of refusing silently', async () => {
    const d = await daemon(`t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`, '', 'hello: 127.0.0.1: twist /bin/echo "421 go away %a"\n');
    expect((await exchange(d.port('t-hello'))).toString()).toBe('421 go away 127.0.0.1\n');
    expect((await exchange(d.port('t-hello'), undefined, { from: '127.0.0.2' })).toString()).toBe('hello\n');
  });

  it('runs spawn commands in the background for a refused client too, with safe expansions', async () => {
    const out = path.join(dir, 'spawned');
    const d = await daemon(`t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`, '', `hello: 127.0.0.2: spawn (/bin/echo %d %a > ${out}) : deny\n`);
    expect((await exchange(d.port('t-hello'), undefined, { from: '127.0.0.2' })).toString()).toBe('');
    await until(() => existsSync(out) && readFileSync(out, 'utf8').length > 0, 'spawn output');
    expect(readFileSync(out, 'utf8')).toBe('hello 127.0.0.2\n');
  });

  it('applies setenv, umask and nice to the handler, and sends the banners file first', async () => {
    const banners = path.join(dir, 'banners');
    mkdirSync(banners);
    writeFileSync(path.join(banners, 'report'), 'welcome %a\n');
    const d = await daemon(`t-report stream tcp nowait - ${FIXTURE_BIN}/report report`, `report: ALL: setenv GREETING hi there : umask 077 : nice 7 : banners ${banners}\n`);
    const got = (await exchange(d.port('t-report'))).toString();
    expect(got.startsWith('welcome 127.0.0.1\n')).toBe(true);
    const kv = report(got.slice('welcome 127.0.0.1\n'.length));
    expect(kv).toMatchObject({ umask: '077', nice: '7' });
    expect(got).toContain('env GREETING=hi there\n');
  });

  it.skipIf(process.getuid?.() !== 0)('runs the handler as the user the rule names, as root', async () => {
    const d = await daemon(`t-report stream tcp nowait root ${FIXTURE_BIN}/report report`, 'report: ALL: user nobody\n');
    const kv = report((await exchange(d.port('t-report'))).toString());
    const nobody = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))!.split(':');
    expect([kv.uid, kv.gid]).toEqual([nobody[2], nobody[3]]);
  });

  // The user option acts only for root.
  it.skipIf(process.getuid?.() !== 0)('refuses rather than serves a client when the rule names a user that does not exist', async () => {
    const d = await daemon(`t-hello stream tcp nowait - ${FIXTURE_BIN}/hello hello`, 'hello: ALL: user no-such-user-here\n');
    expect((await exchange(d.port('t-hello'))).toString()).toBe('');
    expect(await d.waitFor((r) => r.msg === 'refused', 'refused record')).toMatchObject({ rule: 'hosts option user: no user "no-such-user-here"' });
  });
});
