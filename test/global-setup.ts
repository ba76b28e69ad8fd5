// Compiles the C fixture handlers once per test run. The daemon itself must already be built
// (`npm test` runs `npm run build:ts` first; the addon is built by `npm install`).
//
// The fixtures, and a copy of the addon, go to a fresh directory that every user may read and
// search: tests run handlers as `nobody`, and the checkout itself may sit below a directory
// only its owner can enter (mktemp -d makes 0700 directories). Test files find it through
// NINETD_TEST_BIN, which the workers inherit.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const root = path.resolve(import.meta.dirname, '..');
  if (!existsSync(path.join(root, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const src = path.join(root, 'test', 'fixtures', 'handlers');
  const bin = mkdtempSync(path.join(tmpdir(), 'ninetd-fixtures-'));
  chmodSync(bin, 0o755);
  for (const f of readdirSync(src).filter((n) => n.endsWith('.c'))) {
    execFileSync('cc', ['-O2', '-Wall', '-o', path.join(bin, f.slice(0, -2)), path.join(src, f)]);
  }
  copyFileSync(path.join(root, 'build', 'Release', 'fdsock.node'), path.join(bin, 'fdsock.node'));
  process.env.NINETD_TEST_BIN = bin;
  return () => rmSync(bin, { recursive: true, force: true });
}
