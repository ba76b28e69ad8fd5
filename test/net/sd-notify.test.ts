import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { monotonicUsec, SdNotify, watchdogIntervalMs } from '../../src/net/sd-notify.js';
import { unixDgramSink } from '../helpers/unix-dgram.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-notify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('watchdogIntervalMs', () => {
  it.each([
    [{}, 0],
    [{ WATCHDOG_USEC: '2000000' }, 1000],
    [{ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '7' }, 1000],
    [{ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '8' }, 0],
    [{ WATCHDOG_USEC: 'soon' }, 0],
    [{ WATCHDOG_USEC: '0' }, 0],
  ])('%j for pid 7 → %i ms', (env, ms) => expect(watchdogIntervalMs(env, 7)).toBe(ms));
});

describe('SdNotify', () => {
  it('is absent without NOTIFY_SOCKET', () => {
    expect(SdNotify.fromEnv({})).toBeNull();
  });

  it.each([
    ['a socket path', path.join(dir, 'notify')],
    ['an abstract socket', `@ninetd-test-${process.pid}`],
  ])('sends KEY=VALUE lines to %s', async (_what, where) => {
    const sink = unixDgramSink(where);
    const n = SdNotify.fromEnv({ NOTIFY_SOCKET: where })!;
    try {
      expect(n.send({ READY: '1', STATUS: 'two\nlines' })).toBeNull();
      expect(await sink.waitFor((m) => m.startsWith('READY=1'))).toBe('READY=1\nSTATUS=two lines');
    } finally {
      n.close();
      sink.close();
    }
  });

  it('reports a missing socket instead of throwing', () => {
    const n = SdNotify.fromEnv({ NOTIFY_SOCKET: path.join(dir, 'nobody-listens') })!;
    expect(n.send({ READY: '1' })).toBeInstanceOf(Error);
    n.close();
  });
});

describe('monotonicUsec', () => {
  it('counts microseconds of CLOCK_MONOTONIC and never goes back', () => {
    const a = BigInt(monotonicUsec());
    const b = BigInt(monotonicUsec());
    expect(b >= a).toBe(true);
  });
});
