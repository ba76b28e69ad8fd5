// src/native/index.ts as a loader: importing it loads nothing, and a missing addon is one line
// and exit 71, not a stack trace. The built CLI runs from a copy of dist/ that has no build/.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/daemon.js';
import { run } from '../helpers/native.js';

const EX_OSERR = 71;
const EX_CONFIG = 78;

// dist/ and package.json without build/; node_modules is linked so that yargs and pino resolve.
const copy = mkdtempSync(path.join(tmpdir(), 'ninetd-noaddon-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));
cpSync(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
cpSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
const cli = path.join(copy, 'dist', 'cli.js');
const services = path.join(copy, 'services');
writeFileSync(services, '# no names\n');
const config = path.join(copy, 'inetd.conf');
writeFileSync(config, '127.0.0.1:0 stream tcp nowait nobody /bin/cat cat\n');
const addonPath = path.join(copy, 'build', 'Release', 'fdsock.node');

/** Asserts the one-line report of a missing addon. */
function expectMissingAddon(r: { code: number | null; stdout: string; stderr: string }) {
  expect(r.stderr).toBe(`ninetd: the native addon ${addonPath} is missing: run \`npm install\` in the ninetd directory\n`);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.code).toBe(EX_OSERR);
}

describe('loading the addon', () => {
  it('--help and --version work without the addon', async () => {
    const help = await run(process.execPath, [cli, '--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('--foreground');
    const version = await run(process.execPath, [cli, '--version']);
    const { version: v } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version).toEqual({ code: 0, stdout: `${v}\n`, stderr: '' });
  });

  it('a foreground start without the addon prints one line naming the file and the fix, and exits 71', async () => {
    expectMissingAddon(await run(process.execPath, [cli, '-d', '-p', '', '--services', services, config], { cwd: copy }));
  });

  it('--check of a config naming a user reports the missing addon, not an unknown user', async () => {
    const r = await run(process.execPath, [cli, '--check', '--services', services, config], { cwd: copy });
    expect(r.code).not.toBe(EX_CONFIG);
    expectMissingAddon(r);
  });
});
