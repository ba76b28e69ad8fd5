// The daemon snapshot: built from the daemon's facts at a given time, copied so that a later
// change does not reach it; and this process's descriptors from /proc.
import { describe, expect, it } from 'vitest';
import { daemonSnapshot, fdLimitOf, processFds, type DaemonFacts } from '../../src/control/snapshot.js';

describe('daemonSnapshot', () => {
  it('gives times as ISO text and the uptime in whole seconds, and copies the facts', () => {
    const facts: DaemonFacts = { pid: 7, version: '1.0.0', startedAt: Date.UTC(2026, 0, 1), configFile: '/etc/inetd.conf', lastReload: null, reloads: { ok: 0, rejected: 0 } };
    const snap = daemonSnapshot(facts, [], { open: 3, limit: 8 }, Date.UTC(2026, 0, 1) + 61_500);
    expect(snap).toMatchObject({ pid: 7, startedAt: '2026-01-01T00:00:00.000Z', time: '2026-01-01T00:01:01.500Z', uptimeSeconds: 61, fds: { open: 3, limit: 8 } });
    facts.reloads.ok += 1;
    expect(snap.reloads.ok).toBe(0);
  });
});

describe('descriptors', () => {
  it.each([
    ['Max open files            1024                 4096                 files     \n', 1024],
    ['Max open files            unlimited            unlimited            files     \n', null],
    ['Max processes             1024                 4096                 processes \n', null],
  ])('reads the soft limit from %j', (text, limit) => {
    expect(fdLimitOf(text)).toBe(limit);
  });

  it('counts this process\'s open descriptors, below its limit', () => {
    const fds = processFds();
    expect(fds).not.toBeNull();
    expect(fds!.open).toBeGreaterThan(2);
    expect(fds!.open).toBeLessThanOrEqual(fds!.limit);
  });
});
