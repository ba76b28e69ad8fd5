import { describe, expect, it } from 'vitest';
import { bannerText, noEffects, OptionProblem, optionVerdict, parseOptions, ruleEffects, type RuleOption } from '../../src/access/hosts-options.js';
import type { ExpansionFacts } from '../../src/access/percent-expand.js';

const FACTS: ExpansionFacts = {
  clientAddr: '192.0.2.1',
  clientName: null,
  serverAddr: '198.51.100.7',
  serverName: null,
  daemon: 'in.ftpd',
  pid: 77,
};

/** Options of the fields (expecting them to read), as Effects. */
function effects(...fields: string[]) {
  const options = parseOptions(fields);
  if (options instanceof OptionProblem) throw new Error(options.message);
  return ruleEffects(options, FACTS);
}

describe('parseOptions and ruleEffects', () => {
  it.each([
    { what: 'no options', fields: [], want: {} },
    { what: 'an empty field', fields: [' '], want: {} },
    { what: 'allow', fields: ['allow'], want: { verdict: 'allow' } },
    { what: 'deny, any case', fields: ['DENY'], want: { verdict: 'deny' } },
    { what: 'spawn, expanded', fields: ['spawn (/usr/bin/logger %d from %a) &'], want: { spawn: ['(/usr/bin/logger in.ftpd from 192.0.2.1) &'] } },
    { what: 'two spawns, in order', fields: ['spawn a %p', 'spawn b'], want: { spawn: ['a 77', 'b'] } },
    { what: 'twist, expanded', fields: ['twist /bin/echo "421 %h go away"'], want: { twist: '/bin/echo "421 192.0.2.1 go away"' } },
    { what: 'an = between name and value', fields: ['umask = 027'], want: { umask: 0o27 } },
    { what: 'setenv, value expanded', fields: ['setenv CLIENT %a'], want: { env: { CLIENT: '192.0.2.1' } } },
    { what: 'setenv with blanks in its value', fields: ['setenv GREETING hello  there'], want: { env: { GREETING: 'hello  there' } } },
    { what: 'setenv with an empty value', fields: ['setenv EMPTY'], want: { env: { EMPTY: '' } } },
    { what: 'severity level', fields: ['severity warning'], want: { severity: { level: 'warn' } } },
    { what: 'severity facility.level', fields: ['severity auth.notice'], want: { severity: { level: 'info', facility: 'auth' } } },
    { what: 'severity emerg', fields: ['severity emerg'], want: { severity: { level: 'fatal' } } },
    { what: 'user', fields: ['user nobody'], want: { user: 'nobody' } },
    { what: 'user.group', fields: ['user nobody.nogroup'], want: { user: 'nobody', group: 'nogroup' } },
    { what: 'nice with a value', fields: ['nice -5'], want: { nice: -5 } },
    { what: 'nice without a value is 10', fields: ['nice'], want: { nice: 10 } },
    { what: 'banners', fields: ['banners /etc/banners'], want: { bannersDir: '/etc/banners' } },
    { what: 'keepalive', fields: ['keepalive'], want: { keepalive: true } },
    { what: 'linger', fields: ['linger 10'], want: { linger: 10 } },
    { what: 'rfc931 without a value does nothing', fields: ['rfc931'], want: {} },
    { what: 'rfc931 with a timeout does nothing', fields: ['rfc931 5'], want: {} },
    { what: 'an escaped colon in a command', fields: ['spawn echo a\\:b'], want: { spawn: ['echo a:b'] } },
    {
      what: 'everything at once, twist last',
      fields: ['setenv X 1', 'umask 077', 'user daemon', 'nice 3', 'keepalive', 'linger 2', 'severity info', 'spawn s', 'twist t'],
      want: { env: { X: '1' }, umask: 0o77, user: 'daemon', nice: 3, keepalive: true, linger: 2, severity: { level: 'info' }, spawn: ['s'], twist: 't' },
    },
    { what: 'a later umask wins', fields: ['umask 022', 'umask 077'], want: { umask: 0o77 } },
  ])('$what', ({ fields, want }) => {
    expect(effects(...fields)).toEqual({ ...noEffects(), ...want });
  });

  it.each([
    { what: 'an unknown option', fields: ['frobnicate'] },
    { what: 'a hex group of an unbracketed ipv6 address', fields: ['fe80'], hint: 'brackets' },
    { what: 'allow with a value', fields: ['allow yes'] },
    { what: 'allow before another option', fields: ['allow', 'keepalive'] },
    { what: 'deny before another option', fields: ['deny', 'spawn x'] },
    { what: 'twist before another option', fields: ['twist x', 'allow'] },
    { what: 'spawn without a command', fields: ['spawn'] },
    { what: 'twist without a command', fields: ['twist  '] },
    { what: 'an unknown expansion', fields: ['spawn echo %x'] },
    { what: 'a trailing %', fields: ['twist echo 100%'] },
    { what: 'setenv without a name', fields: ['setenv'] },
    { what: 'setenv with a bad name', fields: ['setenv A-B 1'] },
    { what: 'a severity of no level', fields: ['severity auth.'] },
    { what: 'a banners path with blanks', fields: ['banners /a b'] },
    { what: 'a umask above 0777', fields: ['umask 1777'] },
    { what: 'a nice below -20', fields: ['nice -21'] },
    { what: 'a linger below 0', fields: ['linger -1'] },
    { what: 'an rfc931 of 0 seconds', fields: ['rfc931 0'] },
    { what: 'a user with a shell character', fields: ['user $(id)'] },
    { what: 'a user with two groups', fields: ['user a.b.c'] },
  ])('refuses $what', ({ fields, hint }) => {
    const r = parseOptions(fields);
    expect(r).toBeInstanceOf(OptionProblem);
    if (hint) expect((r as OptionProblem).message).toContain(hint);
  });

  it('reads the verdict from the last option only', () => {
    const v = (opts: RuleOption[]) => optionVerdict(opts);
    expect(v([{ name: 'spawn', value: 'x' }, { name: 'deny', value: null }])).toBe('deny');
    expect(v([{ name: 'twist', value: 'x' }])).toBeNull();
    expect(v([])).toBeNull();
  });

  it('expands a banner file, safely', () => {
    expect(bannerText('220 %d on %A ready for %h\n', { ...FACTS, clientName: 'evil;rm -rf /' })).toBe('220 in.ftpd on 198.51.100.7 ready for evil_rm_-rf_/\n');
  });
});
