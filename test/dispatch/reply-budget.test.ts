import { describe, expect, it } from 'vitest';
import { ReplyBudget, type BudgetVerdict } from '../../src/dispatch/reply-budget.js';

describe('ReplyBudget', () => {
  it.each<[string, Array<[string, number]>, BudgetVerdict[]]>([
    ['a burst, then one drop logged and the rest quiet', [['a', 0], ['a', 0], ['a', 0], ['a', 0], ['a', 0]], ['ok', 'ok', 'ok', 'first-drop', 'drop']],
    ['senders apart', [['a', 0], ['a', 0], ['a', 0], ['b', 0], ['a', 0]], ['ok', 'ok', 'ok', 'ok', 'first-drop']],
    ['tokens earned back with time', [['a', 0], ['a', 0], ['a', 0], ['a', 0], ['a', 1000]], ['ok', 'ok', 'ok', 'first-drop', 'ok']],
    [
      'a new episode only after the whole burst came back',
      [['a', 0], ['a', 0], ['a', 0], ['a', 0], ['a', 1000], ['a', 1000], ['a', 5000], ['a', 5000], ['a', 5000], ['a', 5000]],
      ['ok', 'ok', 'ok', 'first-drop', 'ok', 'drop', 'ok', 'ok', 'ok', 'first-drop'],
    ],
  ])('%s', (_what, steps, want) => {
    const b = new ReplyBudget(1, 3);
    expect(steps.map(([who, at]) => b.take(who, at))).toEqual(want);
  });

  it('refuses a sender that is a loop already, logging the first refusal of an episode only', () => {
    const b = new ReplyBudget(1, 3);
    expect([b.refuse('a', 0), b.refuse('a', 0), b.take('a', 0), b.take('b', 0)]).toEqual(['first-drop', 'drop', 'drop', 'ok']);
  });

  it('forgets the oldest sender beyond its bound', () => {
    const b = new ReplyBudget(0, 1, 2);
    expect([b.take('a', 0), b.take('a', 0)]).toEqual(['ok', 'first-drop']);
    b.take('b', 0);
    b.take('c', 0);
    // 'a' was forgotten, so it starts with a full burst again.
    expect(b.take('a', 0)).toBe('ok');
  });
});
