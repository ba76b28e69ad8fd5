import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { percentExpand, shellSafe, unknownExpansions, type ExpansionFacts } from '../../src/access/percent-expand.js';

const FACTS: ExpansionFacts = {
  clientAddr: '192.0.2.1',
  clientName: 'client.example.org',
  serverAddr: '198.51.100.7',
  serverName: 'gw.example.org',
  daemon: 'in.ftpd',
  pid: 4242,
};

describe('percentExpand', () => {
  it.each([
    { text: '%a', facts: {}, want: '192.0.2.1' },
    { text: '%A', facts: {}, want: '198.51.100.7' },
    { text: '%c', facts: {}, want: 'client.example.org' },
    { text: '%c', facts: { clientName: null }, want: '192.0.2.1' },
    { text: '%d', facts: {}, want: 'in.ftpd' },
    { text: '%h', facts: {}, want: 'client.example.org' },
    { text: '%h', facts: { clientName: null }, want: '192.0.2.1' },
    { text: '%h', facts: { clientName: null, clientAddr: null }, want: 'unknown' },
    { text: '%H', facts: {}, want: 'gw.example.org' },
    { text: '%H', facts: { serverName: null }, want: '198.51.100.7' },
    { text: '%n', facts: {}, want: 'client.example.org' },
    { text: '%n', facts: { clientName: null }, want: 'unknown' },
    { text: '%n', facts: { clientName: null, nameMismatch: true }, want: 'paranoid' },
    { text: '%N', facts: {}, want: 'gw.example.org' },
    { text: '%N', facts: { serverName: null }, want: 'unknown' },
    { text: '%p', facts: {}, want: '4242' },
    { text: '%s', facts: {}, want: 'in.ftpd@gw.example.org' },
    { text: '%s', facts: { serverName: null, serverAddr: null }, want: 'in.ftpd' },
    { text: '%u', facts: {}, want: 'unknown' },
    { text: '100%%', facts: {}, want: '100%' },
    { text: 'echo %d from %a >> /var/log/x', facts: {}, want: 'echo in.ftpd from 192.0.2.1 >> /var/log/x' },
    { text: 'an ipv6 client %a', facts: { clientAddr: '2001:db8::1' }, want: 'an ipv6 client 2001:db8::1' },
    { text: 'unknown %z and a trailing %', facts: {}, want: 'unknown  and a trailing ' },
  ])('expands "$text"', ({ text, facts, want }) => {
    expect(percentExpand(text, { ...FACTS, ...facts })).toBe(want);
  });

  it.each([
    ['$(reboot)', '__reboot_'],
    ['`id`.example.org', '_id_.example.org'],
    ['a;rm -rf /', 'a_rm_-rf_/'],
    ["x' || touch /tmp/p; '", 'x_____touch_/tmp/p___'],
    ['a|b&c>d<e', 'a_b_c_d_e'],
    ['new\nline\ttab', 'new_line_tab'],
    ['dollar$HOME', 'dollar_HOME'],
    ['glob*?[x]', 'glob___x_'],
    ['ünïcode', '_n_code'],
  ])('replaces what a shell would act on in %j', (name, want) => {
    expect(percentExpand('%n', { ...FACTS, clientName: name })).toBe(want);
    expect(shellSafe(name)).toBe(want);
  });

  it('keeps the characters libwrap keeps', () => {
    const ok = '0123456789!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
    expect(shellSafe(ok)).toBe(ok);
  });

  it('lists the sequences that are not expansions', () => {
    expect(unknownExpansions('%a %z %% %Q %')).toEqual(['%z', '%Q', '%']);
  });
});

describe('a hostile host name through /bin/sh', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-percent-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is data, never shell syntax', () => {
    const marker = path.join(dir, 'pwned');
    const hostile = [`$(touch ${marker})`, `\`touch ${marker}\``, `x; touch ${marker}`, `x' ; touch ${marker}; '`, `x" ; touch ${marker}; "`, `x\ntouch ${marker}`];
    for (const name of hostile) {
      // As a spawn command in hosts.allow would be written, with and without quotes.
      for (const template of ['echo %n', 'echo "%n"', "echo '%n'"]) {
        const cmd = percentExpand(template, { ...FACTS, clientName: name });
        const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
        expect(r.status).toBe(0);
        expect(r.stdout).toBe(`${shellSafe(name)}\n`);
        expect(existsSync(marker)).toBe(false);
      }
    }
  });
});
