// The Daemon built directly, with its configuration loader and Host injected: start, reloads
// run one at a time with the last request's file winning, a rejected reload, stop. The whole
// daemon behind the command line is tested in test/e2e/daemon.test.ts.
import { describe, expect, it } from 'vitest';
import { resolveLimitDefaults } from '../src/config/resolve.js';
import { Daemon, type Loaded } from '../src/daemon.js';
import { testHost } from './helpers/host.js';
import { plansOf } from './helpers/plan.js';

/** A loader whose answers the test hands out one by one. */
function scriptedLoader() {
  const calls: Array<{ withSettings: boolean; answer: (l: Loaded) => void }> = [];
  const load = (withSettings: boolean): Promise<Loaded> => new Promise((resolve) => calls.push({ withSettings, answer: resolve }));
  return { calls, load };
}

const conf = (...names: string[]): Loaded => ({ plans: plansOf(names.map((n) => `127.0.0.1:${n} stream tcp nowait - /bin/cat cat\n`).join('')), errors: [] });

function daemon() {
  const t = testHost();
  const loader = scriptedLoader();
  const opts = { configFile: 'inetd.conf', pidfile: '', settings: t.host.settings, limits: resolveLimitDefaults({}, {}) };
  const d = new Daemon(opts, t.host.logger, () => {}, loader.load, t.host);
  return { t, d, loader };
}

/** Lets pending promise callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Daemon', () => {
  it('runs one reload at a time, and the file read after the last request wins', async () => {
    const { d, loader } = daemon();
    const started = d.start();
    loader.calls[0]!.answer(conf('a'));
    await started;
    const first = d.reload();
    await settle();
    // A slow first read: two more requests arrive meanwhile.
    const second = d.reload();
    const third = d.reload();
    expect(third).toBe(second);
    await settle();
    expect(loader.calls).toHaveLength(2);
    loader.calls[1]!.answer(conf('b'));
    expect(await first).toMatchObject({ ok: true });
    await settle();
    expect(loader.calls).toHaveLength(3);
    expect(loader.calls[2]!.withSettings).toBe(true);
    loader.calls[2]!.answer(conf('c'));
    expect(await second).toMatchObject({ ok: true, summary: { added: [expect.objectContaining({ service: 'c' })], removed: [expect.objectContaining({ service: 'b' })], unchanged: 0 } });
    expect(d.dump().map((s) => s.service)).toEqual(['c']);
    d.stop();
  });

  it('keeps every running service when a reload has an error', async () => {
    const { d, loader, t } = daemon();
    const started = d.start();
    loader.calls[0]!.answer(conf('a', 'b'));
    await started;
    const reloaded = d.reload();
    await settle();
    loader.calls[1]!.answer({ ...conf('c'), errors: [{ file: 'inetd.conf', line: 3, code: 'ERR_CONFIG_SOCKET_TYPE', message: 'unknown socket type "strem"' }] });
    expect(await reloaded).toEqual({ ok: false, errors: [expect.objectContaining({ line: 3, code: 'ERR_CONFIG_SOCKET_TYPE' })] });
    expect(d.dump().map((s) => [s.service, s.state])).toEqual([
      ['a', 'listening'],
      ['b', 'listening'],
    ]);
    expect(t.records.map((r) => r.msg)).toEqual(expect.arrayContaining(['inetd.conf:3: unknown socket type "strem"', 'reload rejected: configuration unchanged']));
    d.stop();
  });

  it('closes every service on stop and answers no reload after it', async () => {
    const { d, loader } = daemon();
    const started = d.start();
    loader.calls[0]!.answer(conf('a'));
    await started;
    d.stop();
    await d.stopped;
    expect(d.dump().map((s) => s.state)).toEqual([]);
    expect(await d.reload()).toMatchObject({ ok: false, errors: [] });
    expect(loader.calls).toHaveLength(1);
  });

  it('answers a dry run with what a reload would change, and changes nothing', async () => {
    const { d, loader } = daemon();
    const started = d.start();
    loader.calls[0]!.answer(conf('a', 'b'));
    await started;
    const dry = d.diff('/other.conf');
    await settle();
    expect(loader.calls[1]).toMatchObject({ withSettings: true });
    loader.calls[1]!.answer(conf('b', 'c'));
    expect(await dry).toEqual({
      accepted: true,
      changes: { added: [expect.objectContaining({ service: 'c' })], removed: [expect.objectContaining({ service: 'a' })], changed: [], unchanged: 1 },
    });
    expect(d.dump().map((s) => s.service)).toEqual(['a', 'b']);
    expect(d.snapshot()).toMatchObject({ lastReload: null, reloads: { ok: 0, rejected: 0 } });
    d.stop();
  });

  it('keeps the last reload and the counts by result in its snapshot', async () => {
    const { d, loader, t } = daemon();
    const started = d.start();
    loader.calls[0]!.answer(conf('a'));
    await started;
    const bad = d.reload();
    await settle();
    loader.calls[1]!.answer({ ...conf('a'), errors: [{ file: 'inetd.conf', line: 1, code: 'ERR_CONFIG_FIELDS', message: 'too few fields' }] });
    await bad;
    t.clock.now += 5000;
    const good = d.reload();
    await settle();
    loader.calls[2]!.answer(conf('a', 'b'));
    await good;
    expect(d.snapshot()).toMatchObject({
      reloads: { ok: 1, rejected: 1 },
      lastReload: { at: new Date(t.clock.now).toISOString(), result: 'ok', added: 1, changed: 0, removed: 0, unchanged: 1 },
      uptimeSeconds: 5,
      services: [expect.objectContaining({ service: 'a' }), expect.objectContaining({ service: 'b' })],
    });
    d.stop();
  });
});
