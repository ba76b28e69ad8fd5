// mem.c: malloc_trim(3) runs and says whether it gave memory back.
import { describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';

describe('trimMemory', () => {
  it('returns a boolean, and can be called again', () => {
    expect(typeof native.trimMemory()).toBe('boolean');
    expect(typeof native.trimMemory()).toBe('boolean');
  });
});
