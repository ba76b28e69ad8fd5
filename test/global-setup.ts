// Compiles the C fixture handlers once per test run. The daemon itself must already be built
// (`npm test` runs `npm run build:ts` first; the addon is built by `npm install`).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '..');
  if (!existsSync(path.join(root, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const src = path.join(root, 'test', 'fixtures', 'handlers');
  const bin = path.join(src, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const f of readdirSync(src).filter((n) => n.endsWith('.c'))) {
    execFileSync('cc', ['-O2', '-Wall', '-o', path.join(bin, f.slice(0, -2)), path.join(src, f)]);
  }
}
