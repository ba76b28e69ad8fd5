import { describe, expect, it } from 'vitest';
import { parseIp } from '../../src/access/address.js';
import { PerSource, type Admission } from '../../src/access/per-source.js';
import { sourceKey } from '../../src/addr/client.js';

/** The per-client key of an address as the dispatcher builds it. */
const k = (ip: string): string => sourceKey(parseIp(ip), ip);

/** One step of a script: ask at a time, or report a handler's start or end. */
type Step = ['admit', string, number, Admission] | ['start', string] | ['end', string];

/** Runs a script against a fresh tracker and checks each admit's answer. */
function run(limits: { maxConcurrent: number; perMinute: number }, steps: Step[]): PerSource {
  const p = new PerSource(limits);
  for (const [i, step] of steps.entries()) {
    if (step[0] === 'admit') expect([i, p.admit(k(step[1]), step[2])]).toEqual([i, step[3]]);
    else if (step[0] === 'start') p.started(k(step[1]));
    else p.ended(k(step[1]));
  }
  return p;
}

const A = '192.0.2.1';
const B = '198.51.100.7';

describe('PerSource concurrency', () => {
  it.each<{ what: string; max: number; steps: Step[] }>([
    {
      what: 'admits until the address runs the limit, then refuses',
      max: 2,
      steps: [['admit', A, 0, 'ok'], ['start', A], ['admit', A, 1, 'ok'], ['start', A], ['admit', A, 2, 'concurrent']],
    },
    {
      what: 'admits again once a handler ends',
      max: 1,
      steps: [['admit', A, 0, 'ok'], ['start', A], ['admit', A, 1, 'concurrent'], ['end', A], ['admit', A, 2, 'ok']],
    },
    {
      what: 'counts each address on its own',
      max: 1,
      steps: [['admit', A, 0, 'ok'], ['start', A], ['admit', B, 1, 'ok'], ['start', B], ['admit', A, 2, 'concurrent'], ['admit', B, 3, 'concurrent']],
    },
    {
      what: 'counts handlers that started, not connections admitted',
      max: 1,
      steps: [['admit', A, 0, 'ok'], ['admit', A, 1, 'ok'], ['admit', A, 2, 'ok']],
    },
    {
      what: 'never goes below zero when an end is reported twice',
      max: 1,
      steps: [['start', A], ['end', A], ['end', A], ['start', A], ['admit', A, 0, 'concurrent']],
    },
    {
      what: 'ignores the end of a handler it never saw start',
      max: 1,
      steps: [['end', A], ['admit', A, 0, 'ok'], ['start', A], ['admit', A, 1, 'concurrent']],
    },
    {
      what: 'never refuses when the limit is 0',
      max: 0,
      steps: [['start', A], ['start', A], ['start', A], ['admit', A, 0, 'ok']],
    },
  ])('$what', ({ max, steps }) => {
    run({ maxConcurrent: max, perMinute: 0 }, steps);
  });

  it('reports how many handlers an address runs', () => {
    const p = run({ maxConcurrent: 5, perMinute: 0 }, [['start', A], ['start', A], ['start', B], ['end', A]]);
    expect([p.running(k(A)), p.running(k(B)), p.running(k('203.0.113.1'))]).toEqual([1, 1, 0]);
  });
});

describe('PerSource rate', () => {
  it.each<{ what: string; perMinute: number; steps: Step[] }>([
    {
      what: 'admits perMinute connections, then refuses',
      perMinute: 3,
      steps: [['admit', A, 0, 'ok'], ['admit', A, 1, 'ok'], ['admit', A, 2, 'ok'], ['admit', A, 3, 'rate']],
    },
    {
      what: 'still refuses in the last millisecond of the sixth bucket',
      perMinute: 3,
      steps: [['admit', A, 0, 'ok'], ['admit', A, 1, 'ok'], ['admit', A, 2, 'ok'], ['admit', A, 59_999, 'rate']],
    },
    {
      what: 'admits again when the first bucket leaves the window',
      perMinute: 3,
      steps: [['admit', A, 0, 'ok'], ['admit', A, 1, 'ok'], ['admit', A, 2, 'ok'], ['admit', A, 60_000, 'ok']],
    },
    {
      what: 'lets a whole bucket go at once, so the window can be as short as 50 s',
      perMinute: 2,
      steps: [['admit', A, 9_999, 'ok'], ['admit', A, 9_999, 'ok'], ['admit', A, 59_999, 'rate'], ['admit', A, 60_000, 'ok'], ['admit', A, 60_000, 'ok'], ['admit', A, 60_001, 'rate']],
    },
    {
      what: 'ages connections out bucket by bucket',
      perMinute: 3,
      steps: [
        ['admit', A, 0, 'ok'],
        ['admit', A, 25_000, 'ok'],
        ['admit', A, 25_001, 'ok'],
        ['admit', A, 59_999, 'rate'],
        // the bucket of t=0 leaves: one free place
        ['admit', A, 60_000, 'ok'],
        ['admit', A, 60_001, 'rate'],
        ['admit', A, 79_999, 'rate'],
        // the bucket of t=25 000 leaves: two free places
        ['admit', A, 80_000, 'ok'],
        ['admit', A, 80_000, 'ok'],
        ['admit', A, 80_000, 'rate'],
      ],
    },
    {
      what: 'does not count refused connections',
      perMinute: 1,
      steps: [['admit', A, 0, 'ok'], ['admit', A, 10_000, 'rate'], ['admit', A, 50_000, 'rate'], ['admit', A, 59_999, 'rate'], ['admit', A, 60_000, 'ok']],
    },
    {
      what: 'forgets everything after a long quiet time',
      perMinute: 2,
      steps: [['admit', A, 0, 'ok'], ['admit', A, 0, 'ok'], ['admit', A, 3_600_000, 'ok'], ['admit', A, 3_600_000, 'ok'], ['admit', A, 3_600_000, 'rate']],
    },
    {
      what: 'counts each address on its own',
      perMinute: 1,
      steps: [['admit', A, 0, 'ok'], ['admit', B, 0, 'ok'], ['admit', A, 1, 'rate'], ['admit', B, 1, 'rate']],
    },
    {
      what: 'counts in the newest bucket when the clock goes back',
      perMinute: 2,
      steps: [['admit', A, 60_000, 'ok'], ['admit', A, 0, 'ok'], ['admit', A, 61_000, 'rate'], ['admit', A, 120_000, 'ok']],
    },
    {
      what: 'never refuses when the limit is 0',
      perMinute: 0,
      steps: [['admit', A, 0, 'ok'], ['admit', A, 0, 'ok'], ['admit', A, 0, 'ok'], ['admit', A, 0, 'ok']],
    },
  ])('$what', ({ perMinute, steps }) => {
    run({ maxConcurrent: 0, perMinute }, steps);
  });

  it('checks concurrency before the rate, and a concurrency refusal counts nothing', () => {
    run({ maxConcurrent: 1, perMinute: 2 }, [
      ['admit', A, 0, 'ok'],
      ['start', A],
      ['admit', A, 1, 'concurrent'],
      ['admit', A, 2, 'concurrent'],
      ['end', A],
      ['admit', A, 3, 'ok'],
      ['start', A],
      ['end', A],
      ['admit', A, 4, 'rate'],
    ]);
  });
});

describe('PerSource addresses', () => {
  it.each([
    { what: 'a v4-mapped address and its ipv4 form', first: '::ffff:192.0.2.1', second: '192.0.2.1' },
    { what: 'a v4-mapped address in hex and its ipv4 form', first: '192.0.2.1', second: '::ffff:c000:201' },
    { what: 'two spellings of one ipv6 address', first: '2001:db8::1', second: '2001:DB8:0:0::0001' },
    { what: 'an ipv6 address with and without a zone', first: 'fe80::1%eth0', second: 'fe80::1' },
  ])('counts $what as one address', ({ first, second }) => {
    run({ maxConcurrent: 1, perMinute: 1 }, [['admit', first, 0, 'ok'], ['start', first], ['admit', second, 1, 'concurrent'], ['end', second], ['admit', second, 2, 'rate']]);
  });

  it('keeps apart an ipv4-compatible address and its ipv4 form', () => {
    run({ maxConcurrent: 0, perMinute: 1 }, [['admit', '::192.0.2.1', 0, 'ok'], ['admit', '192.0.2.1', 0, 'ok']]);
  });
});

describe('PerSource memory', () => {
  it('forgets an address when its last handler ends and no rate is kept', () => {
    const p = run({ maxConcurrent: 2, perMinute: 0 }, [['admit', A, 0, 'ok'], ['start', A], ['start', A], ['end', A]]);
    expect(p.size).toBe(1);
    p.ended(k(A));
    expect(p.size).toBe(0);
  });

  it('forgets an idle address once its connections leave the window', () => {
    const p = run({ maxConcurrent: 0, perMinute: 5 }, [['admit', A, 0, 'ok'], ['admit', B, 30_000, 'ok']]);
    expect(p.size).toBe(2);
    p.prune(59_999);
    expect(p.size).toBe(2);
    p.prune(60_000);
    expect(p.size).toBe(1);
    p.prune(90_000);
    expect(p.size).toBe(0);
  });

  it('prunes by itself as time passes', () => {
    const p = run({ maxConcurrent: 0, perMinute: 5 }, [['admit', A, 0, 'ok'], ['admit', B, 120_000, 'ok']]);
    expect(p.size).toBe(1);
  });

  it('keeps an address that runs a handler, however old its connections', () => {
    const p = run({ maxConcurrent: 1, perMinute: 5 }, [['admit', A, 0, 'ok'], ['start', A]]);
    p.prune(3_600_000);
    expect([p.size, p.admit(k(A), 3_600_000)]).toEqual([1, 'concurrent']);
    p.ended(k(A));
    p.prune(3_600_000);
    expect(p.size).toBe(0);
  });

  it('keeps at most maxAddresses idle addresses, dropping the least recently admitted', () => {
    const p = new PerSource({ maxConcurrent: 0, perMinute: 1, maxAddresses: 2 });
    expect(['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip) => p.admit(k(ip), 0))).toEqual(['ok', 'ok', 'ok']);
    expect(p.size).toBe(2);
    // 10.0.0.1 was forgotten, so it is admitted again; 10.0.0.3 is still counted.
    expect([p.admit(k('10.0.0.3'), 1), p.admit(k('10.0.0.1'), 1)]).toEqual(['rate', 'ok']);
  });

  it('never drops an address that runs a handler to make room', () => {
    const p = new PerSource({ maxConcurrent: 1, perMinute: 10, maxAddresses: 1 });
    expect(p.admit(k(A), 0)).toBe('ok');
    p.started(k(A));
    expect(p.admit(k(B), 1)).toBe('ok');
    expect(p.admit(k(A), 2)).toBe('concurrent');
  });

  it('stays bounded under a flood of new addresses', () => {
    const p = new PerSource({ maxConcurrent: 0, perMinute: 10, maxAddresses: 500 });
    for (let i = 0; i < 5_000; i += 1) p.admit(k(`2001:db8::${i.toString(16)}`), i);
    expect(p.size).toBe(500);
  });
});

describe('PerSource setLimits', () => {
  it('keeps running handlers and counted connections across a change of limits', () => {
    const p = run({ maxConcurrent: 0, perMinute: 0 }, [['start', A], ['start', A]]);
    p.setLimits({ maxConcurrent: 2, perMinute: 1 });
    expect(p.admit(k(A), 0)).toBe('concurrent');
    p.ended(k(A));
    expect([p.admit(k(A), 1), p.admit(k(A), 2)]).toEqual(['ok', 'rate']);
  });
});
