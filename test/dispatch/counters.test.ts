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
    expect(c.refusals[reason]).toBe(1);
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
    const le = (s: number): number => c.durations.buckets[DURATION_BUCKETS.indexOf(s as (typeof DURATION_BUCKETS)[number])]!;
    expect([le(0.01), le(0.05), le(1), le(5), c.durations.buckets.at(-1)]).toEqual([0, 1, 1, 2, 2]);
    expect(c.durations).toMatchObject({ sum: 2.02, count: 2 });
    expect(c.cpu).toEqual({ user: 1.5, system: 0.25 });
    expect(c.exits).toEqual({ ok: 1, nonzero: 1, signal: 0 });
    expect(copyCounters(c).lastExit).toEqual({ pid: 11, code: 1, signal: null, at: new Date(2_000_000).toISOString(), ms: 2000 });
  });

  it('copies deeply: a copy does not change when the counters do', () => {
    const c = newCounters();
    const copy = copyCounters(c);
    countRefusal(c, 'hosts');
    countExit(c, 1, { code: 0, signal: null }, 1, 1);
    expect(copy.refusals.hosts).toBe(0);
    expect(copy.durations.count).toBe(0);
    expect(copy.exits.ok).toBe(0);
  });
});
