// access_times: which local times of day an interval list admits.
import { describe, expect, it } from 'vitest';
import { localMinutes, withinTimes } from '../../src/access/times.js';

describe('withinTimes', () => {
  const day: Array<[number, number]> = [[8 * 60, 18 * 60 + 30]];
  it.each([
    [day, 7 * 60 + 59, false],
    [day, 8 * 60, true],
    [day, 18 * 60 + 30, true],
    [day, 18 * 60 + 31, false],
    [[[2 * 60, 9 * 60], [12 * 60, 24 * 60]] as Array<[number, number]>, 23 * 60 + 59, true],
    [[[2 * 60, 9 * 60], [12 * 60, 24 * 60]] as Array<[number, number]>, 10 * 60, false],
    [[[22 * 60, 2 * 60]] as Array<[number, number]>, 60, true],
    [[[22 * 60, 2 * 60]] as Array<[number, number]>, 12 * 60, false],
  ])('%j admits minute %i: %s', (intervals, minute, want) => {
    expect(withinTimes(intervals, minute)).toBe(want);
  });

  it('reads the local wall clock', () => {
    const d = new Date(2026, 0, 1, 13, 45);
    expect(localMinutes(d.getTime())).toBe(13 * 60 + 45);
  });
});
