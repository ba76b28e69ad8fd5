// Counters of one service: refusals by reason (access ones also in `refused`), exits by outcome,
// the duration histogram's cumulative buckets, CPU seconds, and copies that do not move.
import { describe, expect, it } from 'vitest';
import { copyCounters, countExit, countRefusal, DURATION_BUCKETS, exitOutcome, newCounters, type RefusalReason } from '../../src/dispatch/counters.js';

describe('counters', () => {
  it.each([
    ['hosts', 1],
    ['only_from', 1],
    ['no_access', 1],
    ['per_source', 1],
    ['cps', 1],
    ['rate', 0],
    ['full', 0],
    ['suspended', 0],
  ] as Array<[RefusalReason, number]>)('counts a refusal for %s, and in `refused` %i times', (reason, refused) => {
    const c = newCounters();
    countRefusal(c, reason);
    expect(copyCounters(c).refusals[reason]).toBe(1);
    expect(c.refused).toBe(refused);
  });

  it.each([
    [{ code: 0, signal: null }, 'ok'],
    [{ code: 3, signal: null }, 'nonzero'],
    [{ code: null, signal: 'SIGKILL' }, 'signal'],
    [{ code: null, signal: null }, 'nonzero'],
  ] as const)('classes the end %o as %s', (end, outcome) => {
    expect(exitOutcome(end)).toBe(outcome);
  });

  it('fills the histogram cumulatively, sums seconds and CPU time, and keeps the last exit', () => {
    const c = newCounters();
    countExit(c, 10, { code: 0, signal: null, usage: { utimeUs: 1_500_000, stimeUs: 250_000, maxRssKb: 1 } }, 20, 1_000_000);
    countExit(c, 11, { code: 1, signal: null }, 2000, 2_000_000);
    const r = copyCounters(c);
    const le = (s: number): number => r.durations.buckets[DURATION_BUCKETS.indexOf(s as (typeof DURATION_BUCKETS)[number])]!;
    expect([le(0.01), le(0.05), le(1), le(5), r.durations.buckets.at(-1)]).toEqual([0, 1, 1, 2, 2]);
    expect(r.durations).toMatchObject({ sum: 2.02, count: 2 });
    expect(r.cpu).toEqual({ user: 1.5, system: 0.25 });
    expect(r.exits).toEqual({ ok: 1, nonzero: 1, signal: 0 });
    expect(r.lastExit).toEqual({ pid: 11, code: 1, signal: null, at: new Date(2_000_000).toISOString(), ms: 2000 });
  });

  it('reports zeros for what was never counted, in the full shape', () => {
    const c = newCounters();
    expect(c.refusals).toBeNull();
    expect(c.ends).toBeNull();
    const r = copyCounters(c);
    expect(Object.values(r.refusals)).toEqual(new Array(10).fill(0));
    expect(r.exits).toEqual({ nonzero: 0, ok: 0, signal: 0 });
    expect(r.durations).toEqual({ buckets: new Array(DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 });
    expect(r.cpu).toEqual({ user: 0, system: 0 });
    expect(r.lastExit).toBeNull();
  });

  it('copies deeply: a copy does not change when the counters do', () => {
    const c = newCounters();
    countRefusal(c, 'rate');
    countExit(c, 1, { code: 0, signal: null }, 1, 1);
    const copy = copyCounters(c);
    countRefusal(c, 'rate');
    countExit(c, 2, { code: 0, signal: null, usage: { utimeUs: 1, stimeUs: 1, maxRssKb: 1 } }, 1, 2);
    expect(copy.refusals.rate).toBe(1);
    expect(copy.durations.count).toBe(1);
    expect(copy.durations.buckets[0]).toBe(1);
    expect(copy.exits.ok).toBe(1);
    expect(copy.cpu).toEqual({ user: 0, system: 0 });
    expect(copy.lastExit?.pid).toBe(1);
  });
});
