// The Prometheus exposition of a snapshot: names and types, one-of-many state, cumulative
// histogram buckets, escaped label values, and the whole text valid for the real
// `promtool check metrics` (skipped, with a message, where promtool is not installed).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeLabel, exposition } from '../../src/control/metrics.js';
import { copyCounters, countExit, countRefusal, newCounters } from '../../src/dispatch/counters.js';
import { ROOT } from '../helpers/daemon.js';
import { daemonSnap, serviceSnap } from '../helpers/snapshot.js';

const promtool = !spawnSync('promtool', ['--version']).error;

/** A snapshot with traffic: exits of every outcome, refusals, an odd unix path as service name. */
function busySnapshot() {
  const c = newCounters();
  countExit(c, 1, { code: 0, signal: null, usage: { utimeUs: 2_000_000, stimeUs: 500_000, maxRssKb: 1 } }, 30, 0);
  countExit(c, 2, { code: 1, signal: null }, 700, 0);
  countExit(c, 3, { code: null, signal: 'SIGKILL' }, 7_200_000, 0);
  countRefusal(c, 'hosts');
  countRefusal(c, 'rate');
  const echo = serviceSnap({ ...copyCounters(c), connections: 7, spawns: 3, spawnErrors: 1, children: 2 });
  const odd = serviceSnap({ service: '/run/a "b"\\c.sock', proto: 'unix', address: '/run/a "b"\\c.sock', mode: 'wait', state: 'suspended', until: '2026-01-01T01:10:00.000Z' });
  return daemonSnap([echo, odd], { lastReload: { at: '2026-01-01T00:30:00.000Z', result: 'ok', added: 0, removed: 0, changed: 0, unchanged: 2 }, reloads: { ok: 1, rejected: 2 } });
}

describe('exposition', () => {
  const text = exposition(busySnapshot());
  const line = (start: string): string | undefined => text.split('\n').find((l) => l.startsWith(start));

  it('names counters _total and durations _seconds, each family with HELP and TYPE', () => {
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
    for (const [name, type] of types) {
      if (type === 'counter') expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
      expect(text).toContain(`# HELP ${name} `);
    }
    expect(types).toContainEqual(['ninetd_handler_duration_seconds', 'histogram']);
  });

  it('gives the values of the snapshot', () => {
    const l = 'service="echo",proto="tcp",address="127.0.0.1:7"';
    expect(line(`ninetd_connections_total{${l}}`)).toBe(`ninetd_connections_total{${l}} 7`);
    expect(line(`ninetd_handler_exits_total{${l},outcome="signal"}`)).toMatch(/ 1$/);
    expect(line(`ninetd_refusals_total{${l},reason="hosts"}`)).toMatch(/ 1$/);
    expect(line(`ninetd_refusals_total{${l},reason="rate"}`)).toMatch(/ 1$/);
    expect(line(`ninetd_handler_spawn_errors_total{${l}}`)).toMatch(/ 1$/);
    expect(line(`ninetd_handlers_running{${l}}`)).toMatch(/ 2$/);
    expect(line(`ninetd_handler_cpu_seconds_total{${l},mode="user"}`)).toMatch(/ 2$/);
    expect(line(`ninetd_handler_duration_seconds_bucket{${l},le="0.05"}`)).toMatch(/ 1$/);
    expect(line(`ninetd_handler_duration_seconds_bucket{${l},le="1"}`)).toMatch(/ 2$/);
    expect(line(`ninetd_handler_duration_seconds_bucket{${l},le="3600"}`)).toMatch(/ 2$/);
    expect(line(`ninetd_handler_duration_seconds_bucket{${l},le="+Inf"}`)).toMatch(/ 3$/);
    expect(line(`ninetd_handler_duration_seconds_count{${l}}`)).toMatch(/ 3$/);
    expect(line('ninetd_reloads_total{result="rejected"}')).toMatch(/ 2$/);
    expect(line('ninetd_last_reload_timestamp_seconds')).toBe('ninetd_last_reload_timestamp_seconds 1767227400');
    expect(line('process_max_fds')).toBe('process_max_fds 1024');
    expect(line('ninetd_build_info')).toBe('ninetd_build_info{version="1.2.3",nodejs_version="20.19.0"} 1');
  });

  it('sets exactly one state per service to 1', () => {
    const states = text.split('\n').filter((l) => l.startsWith('ninetd_service_state{') && l.endsWith(' 1'));
    expect(states).toEqual([expect.stringContaining('state="listening"'), expect.stringContaining('state="suspended"')]);
  });

  it('escapes backslash, double quote and newline in label values', () => {
    expect(escapeLabel('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(text).toContain('service="/run/a \\"b\\"\\\\c.sock"');
  });

  it('leaves out what is not known: descriptors, and the last reload before there was one', () => {
    const bare = exposition(daemonSnap([], { fds: null }));
    expect(bare).not.toContain('process_open_fds');
    expect(bare).not.toContain('ninetd_last_reload');
    expect(bare).toContain('ninetd_reloads_total{result="ok"} 0');
  });

  it('passes promtool check metrics', (ctx) => {
    if (!promtool) return ctx.skip('promtool is not installed (Debian package prometheus): cannot validate the exposition');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('the example alerts of docs/operations.md', () => {
  const doc = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
  const rules = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((y) => y.startsWith('groups:'))!;

  it('name only metrics and labels ninetd serves', () => {
    const text = exposition(busySnapshot());
    for (const name of new Set(rules.match(/ninetd_[a-z_]+/g))) expect(text).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    expect(text).toContain('state="suspended"');
  });

  it('pass promtool check rules', (ctx) => {
    if (!promtool) return ctx.skip('promtool is not installed (Debian package prometheus): cannot check the rules');
    const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-rules-'));
    try {
      writeFileSync(path.join(dir, 'ninetd.rules.yml'), rules);
      const r = spawnSync('promtool', ['check', 'rules', path.join(dir, 'ninetd.rules.yml')], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
