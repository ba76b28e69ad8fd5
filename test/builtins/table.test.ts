import { describe, expect, it } from 'vitest';
import { BUILTIN_NAMES } from '../../src/builtins/names.js';
import { BUILTINS } from '../../src/builtins/table.js';

describe('BUILTINS', () => {
  it('has an implementation for exactly the names the config accepts, but tcpmux (served by dispatch)', () => {
    expect(Object.keys(BUILTINS).sort()).toEqual(Object.keys(BUILTIN_NAMES).filter((n) => n !== 'tcpmux').sort());
  });

  it('is kept sorted by name', () => {
    const keys = Object.keys(BUILTINS);
    expect(keys).toEqual([...keys].sort());
  });

  it.each(Object.entries(BUILTINS))('%s serves both streams and datagrams', (_name, b) => {
    expect(['echo', 'discard', 'generate', 'once']).toContain(b.stream.kind);
    expect(typeof b.dgram).toBe('function');
  });
});
