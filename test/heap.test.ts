// The memory that start-up and reloads leave behind: one compacting collection gives back what is
// garbage (here without --expose-gc, as under vitest: the collector comes from a context of its
// own), and a reload's work runs with its own result and error.
import { describe, expect, it } from 'vitest';
import { giveBackMemory, unoptimized } from '../src/heap.js';

describe('giveBackMemory', () => {
  it('collects the old generation at once: garbage that survived into it is gone after the call', () => {
    // Kept across allocations long enough to be promoted, then dropped.
    let kept: Array<{ n: number; s: string }> | null = Array.from({ length: 300_000 }, (_, n) => ({ n, s: `item ${n}` }));
    for (let i = 0; i < 20; i++) Array.from({ length: 50_000 }, (_, n) => ({ n }));
    const before = process.memoryUsage().heapUsed;
    expect(kept.length).toBe(300_000);
    kept = null;
    giveBackMemory();
    const after = process.memoryUsage().heapUsed;
    // 300,000 objects and strings: well over 10 MiB of live heap before.
    expect(before - after).toBeGreaterThan(10 * 1024 * 1024);
  });
});

describe('unoptimized', () => {
  it('gives back the work\'s result, and its error', async () => {
    await expect(unoptimized(async () => 42)).resolves.toBe(42);
    await expect(
      unoptimized(async () => {
        throw new Error('reload failed');
      }),
    ).rejects.toThrow('reload failed');
  });
});
