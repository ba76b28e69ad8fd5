import { describe, expect, it } from 'vitest';
import { RateGuard } from '../../src/dispatch/rate.js';

describe('RateGuard', () => {
  it.each([
    { what: 'allows up to max hits in a window', max: 3, times: [0, 1, 2], tripped: [false, false, false] },
    { what: 'trips on the hit after max', max: 3, times: [0, 1, 2, 3], tripped: [false, false, false, true] },
    { what: 'keeps tripping within the window', max: 1, times: [0, 10, 20], tripped: [false, true, true] },
    { what: 'starts a new window after windowMs', max: 2, times: [0, 1, 60_000, 60_001], tripped: [false, false, false, false] },
    { what: 'counts the new window from its first hit', max: 1, times: [0, 59_999, 60_000, 60_001], tripped: [false, true, false, true] },
    { what: 'never trips when max is 0', max: 0, times: [0, 0, 0, 0, 0], tripped: [false, false, false, false, false] },
  ])('$what', ({ max, times, tripped }) => {
    const g = new RateGuard(max, 60_000);
    expect(times.map((t) => g.hit(t))).toEqual(tripped);
  });

  it('forgets the window after reset', () => {
    const g = new RateGuard(1, 60_000);
    expect([g.hit(0), g.hit(1)]).toEqual([false, true]);
    g.reset();
    expect(g.hit(2)).toBe(false);
  });
});
