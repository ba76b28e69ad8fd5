// Every error code the source can report is documented (STYLE §6).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/daemon.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : [],
  );
}

describe('docs/errors.md', () => {
  it('lists every ERR_ code used in src/', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
    const used = new Set(sources(path.join(ROOT, 'src')).flatMap((f) => readFileSync(f, 'utf8').match(/'ERR_[A-Z_]+'/g) ?? []));
    const missing = [...used].map((c) => c.slice(1, -1)).filter((c) => !doc.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });
});
