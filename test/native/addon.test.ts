// addon.c: the exports table and the platform constants.
import { describe, expect, it } from 'vitest';
import * as native from '../../src/native/index.js';

const C = native.constants;

describe('constants', () => {
  it('has the RLIMIT constants of Linux (x86 and arm numbering)', () => {
    expect(C).toMatchObject({ RLIMIT_CPU: 0, RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_AS: 9 });
  });
});
