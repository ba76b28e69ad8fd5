// `ninetd status` as text: the head lines, one aligned row per service with its state's detail,
// refusals by reason and the last exit; and the services picked by name.
import { describe, expect, it } from 'vitest';
import { duration, formatStatus, pickServices, stateText } from '../../src/control/status.js';
import { daemonSnap, serviceSnap } from '../helpers/snapshot.js';

describe('duration', () => {
  it.each([
    [0, '0s'],
    [59.9, '59s'],
    [61, '1m 01s'],
    [3600 + 120, '1h 02m'],
    [2 * 86400 + 3 * 3600, '2d 03h'],
    [-5, '0s'],
  ])('%d seconds is %s', (s, text) => {
    expect(duration(s)).toBe(text);
  });
});

describe('stateText', () => {
  it.each([
    [serviceSnap(), 'listening'],
    [serviceSnap({ state: 'busy', pid: 77 }), 'busy (pid 77)'],
    [serviceSnap({ state: 'suspended', until: '2026-01-01T01:10:00.000Z' }), 'suspended until 2026-01-01T01:10:00.000Z'],
    [serviceSnap({ state: 'unbound', error: 'echo/tcp: bind: address already in use', retryAt: '2026-01-01T01:10:00.000Z' }), 'unbound: echo/tcp: bind: address already in use (retry at 2026-01-01T01:10:00.000Z)'],
    [serviceSnap({ state: 'full' }), 'full'],
    [serviceSnap({ state: 'backoff' }), 'backoff'],
  ])('shows %o as %s', (s, text) => {
    expect(stateText(s)).toBe(text);
  });
});

describe('formatStatus', () => {
  it('prints the daemon, then one aligned row per service', () => {
    const busy = serviceSnap({ service: 'tftp', proto: 'udp', address: '*:69', mode: 'wait', state: 'busy', pid: 99, children: 1, connections: 5, spawnErrors: 1 });
    busy.refusals.hosts = 2;
    busy.refusals.rate = 1;
    busy.lastExit = { pid: 98, code: 0, signal: null, at: '2026-01-01T00:59:48.000Z', ms: 10 };
    const killed = serviceSnap({ service: 'ftp', address: '[::1]:21', mode: 'nowait' });
    killed.lastExit = { pid: 97, code: null, signal: 'SIGSEGV', at: '2026-01-01T00:00:00.000Z', ms: 10 };
    const text = formatStatus(daemonSnap([serviceSnap(), busy, killed], { lastReload: { at: '2026-01-01T00:30:00.000Z', result: 'rejected', errors: 1 } }));
    expect(text).toBe(
      [
        'ninetd 1.2.3, pid 4242, up 1h 00m (since 2026-01-01T00:00:00.000Z)',
        'config: /etc/inetd.conf',
        'last reload: 2026-01-01T00:30:00.000Z rejected (1 error; configuration unchanged)',
        'file descriptors: 12 of 1024',
        '',
        'SERVICE  PROTO  ADDRESS      MODE             STATE          RUNNING  CONNECTIONS  REFUSALS        SPAWN ERRORS  LAST EXIT',
        'echo     tcp    127.0.0.1:7  nowait internal  listening      0        0            -               0             -',
        'tftp     udp    *:69         wait             busy (pid 99)  1        5            hosts:2 rate:1  1             exit 0 (pid 98, 12s ago)',
        'ftp      tcp    [::1]:21     nowait           listening      0        0            -               0             SIGSEGV (pid 97, 1h 00m ago)',
        '',
      ].join('\n'),
    );
  });

  it('says so when there is no service, and shows a reload that went through', () => {
    const text = formatStatus(daemonSnap([], { fds: null, lastReload: { at: '2026-01-01T00:30:00.000Z', result: 'ok', added: 1, removed: 2, changed: 3, unchanged: 4 } }));
    expect(text).toContain('last reload: 2026-01-01T00:30:00.000Z ok (1 added, 2 removed, 3 changed, 4 unchanged)\n');
    expect(text).not.toContain('file descriptors');
    expect(text.endsWith('\nno services\n')).toBe(true);
  });
});

describe('pickServices', () => {
  const all = [serviceSnap(), serviceSnap({ proto: 'udp' }), serviceSnap({ service: 'daytime' })];
  it.each([
    [[], 3, []],
    [['echo'], 2, []],
    [['echo/udp'], 1, []],
    [['daytime', 'echo/tcp'], 2, []],
    [['nosuch', 'echo/sctp'], 0, ['nosuch', 'echo/sctp']],
  ])('%o picks %i services', (names, count, unknown) => {
    const r = pickServices(all, names);
    expect(r.picked).toHaveLength(count);
    expect(r.unknown).toEqual(unknown);
  });
});
