// What a reload did, told to a person: fields that changed per service, removed services named
// from the running plans, and the lines `ninetd reload` and `--check --diff` print.
import { describe, expect, it } from 'vitest';
import { changedFields, formatOutcome, planAddress, summarize } from '../../src/control/changes.js';
import { reconcile } from '../../src/config/diff.js';
import { planOf, plansOf } from '../helpers/plan.js';

const CAT = '127.0.0.1:cat stream tcp nowait - /bin/cat cat';

describe('changedFields', () => {
  it.each([
    ['nothing', CAT, {}, []],
    ['the arguments', `${CAT} -u`, {}, ['argv']],
    ['the program and arguments', '127.0.0.1:cat stream tcp nowait - /bin/echo echo', {}, ['argv', 'server']],
    ['wait mode', '127.0.0.1:cat stream tcp wait - /bin/cat cat', {}, ['wait']],
    ['a limit in inetd.conf', '127.0.0.1:cat stream tcp nowait/5 - /bin/cat cat', {}, ['instances']],
    ['a limit, the rate and an access rule in the section', CAT, { instances: 3, only_from: [] as never[], umask: 0o77, rlimit_cpu: 5 }, ['instances', 'only_from', 'rlimit_cpu', 'umask']],
  ])('names %s', (_what, line, section, fields) => {
    expect(changedFields(planOf(CAT), planOf(line, { sections: { 'cat/tcp': section } }))).toEqual(fields);
  });

  it('ignores where the entry was written', () => {
    const a = planOf(CAT);
    expect(changedFields(a, { ...a, entry: { ...a.entry, file: '/etc/inetd.d/cat.conf', line: 9 } })).toEqual([]);
  });
});

describe('summarize and formatOutcome', () => {
  const before = plansOf(`${CAT}\n127.0.0.1:echo stream tcp nowait - internal\n127.0.0.1:daytime stream tcp nowait - internal\n`);
  const after = plansOf(`${CAT} -u\n127.0.0.1:daytime stream tcp nowait - internal\n[::1]:time stream tcp6 nowait - internal\n`);
  const running = new Map(before.map((p) => [p.key, p]));
  const summary = summarize(reconcile(running, new Map(after.map((p) => [p.key, p]))), running);

  it('names every service added, removed and changed, and counts the unchanged', () => {
    expect(summary).toEqual({
      added: [{ service: 'time', proto: 'tcp6', address: '[::1]:0' }],
      removed: [{ service: 'echo', proto: 'tcp', address: '127.0.0.1:0' }],
      changed: [{ service: 'cat', proto: 'tcp', address: '127.0.0.1:0', fields: ['argv'] }],
      unchanged: 1,
    });
  });

  it('prints one line per service and the counts, for a reload and for a dry run', () => {
    expect(formatOutcome({ accepted: true, changes: summary }, false)).toBe(
      ['added     time/tcp6 [::1]:0', 'removed   echo/tcp 127.0.0.1:0', 'changed   cat/tcp 127.0.0.1:0: argv', 'reloaded: 1 added, 1 removed, 1 changed, 1 unchanged', ''].join('\n'),
    );
    expect(formatOutcome({ accepted: true, changes: summary }, true)).toMatch(/\na reload would make: 1 added, 1 removed, 1 changed, 1 unchanged\n$/);
  });

  it('prints every error as file:line: message, then says nothing changed', () => {
    const errors = [
      { file: '/etc/inetd.conf', line: 2, code: 'ERR_CONFIG_SOCKET_TYPE', message: 'unknown socket type "strem"' },
      { file: '/etc/inetd.conf', line: 5, code: 'ERR_CONFIG_FIELDS', message: 'too few fields' },
    ];
    expect(formatOutcome({ accepted: false, errors }, false)).toBe('/etc/inetd.conf:2: unknown socket type "strem"\n/etc/inetd.conf:5: too few fields\nconfiguration unchanged\n');
    expect(formatOutcome({ accepted: false, errors: [], message: 'ninetd is stopping' }, true)).toBe('ninetd is stopping\na reload would be rejected: configuration unchanged\n');
  });

  it('writes addresses as they are listened on', () => {
    expect(planAddress(planOf('tcpmux/+date stream tcp nowait - /bin/date date'))).toBe('tcpmux');
    expect(planAddress(planOf('/run/x.sock stream unix nowait - /bin/cat cat'))).toBe('/run/x.sock');
    expect(planAddress(planOf('*:echo stream tcp nowait - internal'))).toBe('*:0');
  });
});
