// The package as a user gets it: `npm pack` from a clean copy of the sources, `npm install -g
// --prefix` of the tarball (which builds only the addon), then the installed command: --help,
// --check, one served connection, and the man pages where man(1) finds them.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/daemon.js';

/** What a clone holds that `npm pack` reads; node_modules is linked, not copied. */
const SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'binding.gyp', 'README.md', 'src', 'services', 'etc', 'docs'];
/** npm install runs the C compiler and may reach the registry for the runtime dependencies. */
const INSTALL_MS = 300_000;

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const pandoc = has('pandoc');

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: INSTALL_MS });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

if (!pandoc) console.warn('package test skipped: pandoc is not installed (apt-get install pandoc); `npm pack` needs it for the man pages');

describe.skipIf(!pandoc)('the packed and installed package', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-package-'));
  const prefix = path.join(dir, 'prefix');
  const bin = path.join(prefix, 'bin', 'ninetd');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => {
    const src = path.join(dir, 'src');
    for (const f of SOURCES) cpSync(path.join(ROOT, f), path.join(src, f), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));
    run('npm', ['pack', '--pack-destination', dir], src);
    const tgz = readdirSync(dir).find((f) => /^ninetd-.*\.tgz$/.test(f))!;
    // With no dev dependency in reach (npm test puts node_modules/.bin on PATH): the install must
    // not need tsc or any other.
    const PATH = (process.env.PATH ?? '').split(':').filter((p) => !p.includes('node_modules')).join(':');
    run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, tgz)], dir, { ...process.env, PATH });
    // And as a dependency of another project.
    mkdirSync(path.join(dir, 'project'));
    writeFileSync(path.join(dir, 'project', 'package.json'), '{ "name": "uses-ninetd", "private": true }\n');
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, tgz)], path.join(dir, 'project'), { ...process.env, PATH });
  }, INSTALL_MS * 3);

  it('installs as a dependency too, with a working command in node_modules/.bin', () => {
    const r = spawnSync(path.join(dir, 'project', 'node_modules', '.bin', 'ninetd'), ['--version'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('ships built JavaScript, the addon sources and the man pages, and no TypeScript', () => {
    const pkg = path.join(prefix, 'lib', 'node_modules', 'ninetd');
    expect(existsSync(path.join(pkg, 'dist', 'cli.js'))).toBe(true);
    expect(existsSync(path.join(pkg, 'build', 'Release', 'fdsock.node'))).toBe(true);
    expect(existsSync(path.join(pkg, 'src', 'native', 'build.mjs'))).toBe(true);
    expect(readdirSync(path.join(pkg, 'src', 'native')).some((f) => f.endsWith('.ts'))).toBe(false);
    expect(existsSync(path.join(pkg, 'node_modules', 'typescript'))).toBe(false);
  });

  it('installs a ninetd command that prints its help and checks a configuration', () => {
    const help = spawnSync(bin, ['--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--check');
    const conf = path.join(dir, 'inetd.conf');
    writeFileSync(conf, '127.0.0.1:0 stream tcp nowait - internal daytime\n');
    writeFileSync(path.join(dir, 'services'), '# none\n');
    const check = spawnSync(bin, ['--check', '--services', path.join(dir, 'services'), conf], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.stdout).toBe(`${conf}: ok, 1 service\n`);
    expect(check.status).toBe(0);
  });

  it('serves a connection', async () => {
    const conf = path.join(dir, 'serve.conf');
    writeFileSync(conf, '127.0.0.1:0 stream tcp nowait - internal daytime\n');
    const proc = spawn(bin, ['-d', '-p', '', '--services', path.join(dir, 'services'), conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    try {
      let port = 0;
      for await (const line of createInterface({ input: proc.stderr! })) {
        const rec = JSON.parse(line) as { msg: string; port?: number };
        if (rec.msg === 'listening') port = rec.port!;
        if (rec.msg === 'started') break;
      }
      const reply = await new Promise<string>((resolve, reject) => {
        let got = '';
        net.connect(port, '127.0.0.1').on('data', (d) => (got += d)).on('end', () => resolve(got)).on('error', reject);
      });
      expect(reply).toMatch(/\d\d:\d\d:\d\d/);
    } finally {
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('has a systemd unit that systemd-analyze verify accepts, with the installed command and man pages', (ctx) => {
    if (!has('systemd-analyze')) {
      console.warn('unit check skipped: systemd-analyze is not installed (apt-get install systemd)');
      return ctx.skip();
    }
    const shipped = readFileSync(path.join(prefix, 'lib', 'node_modules', 'ninetd', 'etc', 'ninetd.service'), 'utf8');
    expect(shipped).toMatch(/^ExecStart=\/usr\/local\/bin\/ninetd /m);
    // The unit as an operator installs it, with ExecStart where this prefix put the command.
    const unitDir = path.join(dir, 'unit');
    mkdirSync(unitDir);
    writeFileSync(path.join(unitDir, 'ninetd.service'), shipped.replaceAll('/usr/local/bin/ninetd', bin));
    const env = { ...process.env, MANPATH: path.join(prefix, 'share', 'man') };
    const r = spawnSync('systemd-analyze', ['verify', path.join(unitDir, 'ninetd.service')], { encoding: 'utf8', env, timeout: 60_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.each([
    ['man8', 'ninetd.8'],
    ['man5', 'inetd.conf.5'],
    ['man5', 'ninetd.ini.5'],
  ])('puts %s/%s where man finds it, readable and lint-free', (section, page) => {
    const file = path.join(prefix, 'share', 'man', section, page);
    expect(existsSync(file)).toBe(true);
    if (has('mandoc')) {
      const lint = spawnSync('mandoc', ['-Tlint', '-W', 'warning', file], { encoding: 'utf8' });
      expect(lint.stdout + lint.stderr).toBe('');
    } else console.warn('mandoc -Tlint skipped: mandoc is not installed (apt-get install mandoc)');
    if (has('man')) {
      const env = { ...process.env, MANPATH: path.join(prefix, 'share', 'man'), MANWIDTH: '80', MAN_KEEP_FORMATTING: '' };
      const name = page.replace(/\.\d$/, '');
      const shown = spawnSync('man', ['-P', 'cat', page.slice(-1), name], { encoding: 'utf8', env });
      expect(shown.status).toBe(0);
      expect(shown.stdout).toMatch(/^NAME$/m);
      const local = spawnSync('man', ['-l', '-P', 'cat', file], { encoding: 'utf8', env });
      expect(local.status).toBe(0);
      expect(local.stderr).not.toContain('table wider than line width');
    } else console.warn('man skipped: man-db is not installed (apt-get install man-db)');
  });
});
