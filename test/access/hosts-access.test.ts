import { describe, expect, it } from 'vitest';
import { checkHostsAccess, parseHostsAccess, type AccessDecision, type AccessRequest } from '../../src/access/hosts-access.js';

const ALLOW = '/etc/hosts.allow';
const DENY = '/etc/hosts.deny';

/** A request from `clientIp` to sshd; lookups off unless the case says otherwise. */
function request(over: Partial<AccessRequest> = {}): AccessRequest {
  return { daemons: ['sshd', 'ssh'], clientIp: '192.0.2.1', ...over };
}

/** Parses both files (expecting no errors) and decides `req`. */
function decide(allowText: string, denyText: string, req: AccessRequest): AccessDecision {
  const allow = parseHostsAccess(allowText, ALLOW);
  const deny = parseHostsAccess(denyText, DENY);
  expect([...allow.errors, ...deny.errors]).toEqual([]);
  return checkHostsAccess(allow.rules, deny.rules, req);
}

/** True when `rule`, alone in hosts.allow in front of a deny-all hosts.deny, grants `req`. */
function grants(rule: string, req: AccessRequest): boolean {
  return decide(rule, 'ALL: ALL', req).verdict === 'allow';
}

describe('checkHostsAccess client patterns', () => {
  it.each([
    { what: 'ALL matches any address', rule: 'sshd: ALL', req: {}, match: true },
    { what: 'ALL matches a client that is not an address', rule: 'sshd: ALL', req: { clientIp: 'unknown' }, match: true },
    { what: 'keywords are read without regard to case', rule: 'sshd: all', req: {}, match: true },
    { what: 'an ipv4 literal matches that client', rule: 'sshd: 192.0.2.1', req: {}, match: true },
    { what: 'an ipv4 literal does not match another client', rule: 'sshd: 192.0.2.2', req: {}, match: false },
    { what: 'a cidr net matches inside', rule: 'sshd: 192.0.2.0/24', req: { clientIp: '192.0.2.99' }, match: true },
    { what: 'a net/mask matches inside', rule: 'sshd: 192.168.0.0/255.255.0.0', req: { clientIp: '192.168.4.4' }, match: true },
    { what: 'a net/mask does not match outside', rule: 'sshd: 192.168.0.0/255.255.0.0', req: { clientIp: '192.169.4.4' }, match: false },
    { what: 'a prefix pattern matches inside', rule: 'sshd: 192.168.', req: { clientIp: '192.168.200.1' }, match: true },
    { what: 'a prefix pattern does not match a longer octet', rule: 'sshd: 192.168.', req: { clientIp: '192.16.8.1' }, match: false },
    { what: 'an ipv6 address in brackets matches', rule: 'sshd: [::1]', req: { clientIp: '::1' }, match: true },
    { what: 'an ipv6 net in brackets matches inside', rule: 'sshd: [2001:db8::]/32', req: { clientIp: '2001:db8:1::5' }, match: true },
    { what: 'an ipv6 net in brackets does not match outside', rule: 'sshd: [2001:db8::]/32', req: { clientIp: '2001:db9::5' }, match: false },
    { what: 'an ipv4 pattern matches a v4-mapped client', rule: 'sshd: 10.0.0.0/8', req: { clientIp: '::ffff:10.1.2.3' }, match: true },
    { what: 'a list matches on any of its patterns', rule: 'sshd: 10.0.0.1, 192.0.2.1 [::1]', req: {}, match: true },
    { what: 'KNOWN matches a known address without lookups', rule: 'sshd: KNOWN', req: {}, match: true },
    { what: 'KNOWN matches a known address with a known name', rule: 'sshd: KNOWN', req: { clientName: 'a.example.org' }, match: true },
    { what: 'KNOWN does not match when lookups found no name', rule: 'sshd: KNOWN', req: { clientName: null }, match: false },
    { what: 'KNOWN does not match an unknown address', rule: 'sshd: KNOWN', req: { clientIp: 'unknown' }, match: false },
    { what: 'UNKNOWN does not match a known address without lookups', rule: 'sshd: UNKNOWN', req: {}, match: false },
    { what: 'UNKNOWN matches when lookups found no name', rule: 'sshd: UNKNOWN', req: { clientName: null }, match: true },
    { what: 'UNKNOWN matches an unknown address', rule: 'sshd: UNKNOWN', req: { clientIp: 'unknown' }, match: true },
    { what: 'LOCAL matches a name without a dot', rule: 'sshd: LOCAL', req: { clientName: 'printer' }, match: true },
    { what: 'LOCAL does not match a name with a dot', rule: 'sshd: LOCAL', req: { clientName: 'printer.example.org' }, match: false },
    { what: 'LOCAL does not match without lookups', rule: 'sshd: LOCAL', req: {}, match: false },
    { what: 'LOCAL does not match when lookups found no name', rule: 'sshd: LOCAL', req: { clientName: null }, match: false },
    { what: 'PARANOID does not match without lookups', rule: 'sshd: PARANOID', req: { nameMismatch: true }, match: false },
    { what: 'PARANOID matches when the name did not map back', rule: 'sshd: PARANOID', req: { clientName: null, nameMismatch: true }, match: true },
    { what: 'PARANOID does not match a verified name', rule: 'sshd: PARANOID', req: { clientName: 'a.example.org' }, match: false },
    { what: 'a .domain matches a name inside it', rule: 'sshd: .example.org', req: { clientName: 'a.b.example.org' }, match: true },
    { what: 'a .domain does not match the bare domain', rule: 'sshd: .example.org', req: { clientName: 'example.org' }, match: false },
    { what: 'a .domain does not match a name that only ends alike', rule: 'sshd: .example.org', req: { clientName: 'badexample.org' }, match: false },
    { what: 'a .domain does not match without lookups', rule: 'sshd: .example.org', req: {}, match: false },
    { what: 'a host name matches without regard to case', rule: 'sshd: Host.Example.ORG', req: { clientName: 'host.example.org' }, match: true },
    { what: 'a host name matches a name with a root dot', rule: 'sshd: host.example.org', req: { clientName: 'host.example.org.' }, match: true },
    { what: 'a host name does not match another name', rule: 'sshd: host.example.org', req: { clientName: 'other.example.org' }, match: false },
    { what: 'a host name does not match without lookups', rule: 'sshd: localhost', req: { clientIp: '127.0.0.1' }, match: false },
  ])('$what', ({ rule, req, match }) => {
    expect(grants(rule, request(req))).toBe(match);
  });
});

describe('checkHostsAccess daemon patterns', () => {
  it.each([
    { what: 'ALL matches any daemon', rule: 'ALL: ALL', daemons: ['in.ftpd'], match: true },
    { what: 'a name matches argv[0]', rule: 'sshd: ALL', daemons: ['sshd', 'ssh'], match: true },
    { what: 'a name matches the service name', rule: 'ssh: ALL', daemons: ['sshd', 'ssh'], match: true },
    { what: 'a name matches without regard to case', rule: 'SSHD: ALL', daemons: ['sshd'], match: true },
    { what: 'a name does not match a longer name', rule: 'ssh: ALL', daemons: ['sshd'], match: false },
    { what: 'a list matches on any name', rule: 'ftpd, sshd telnetd: ALL', daemons: ['telnetd'], match: true },
    { what: 'a prefix matches names that start with it', rule: 'in.: ALL', daemons: ['in.telnetd'], match: true },
    { what: 'a prefix does not match other names', rule: 'in.: ALL', daemons: ['sshd'], match: false },
    { what: 'a suffix matches names that end with it', rule: '.telnetd: ALL', daemons: ['in.telnetd'], match: true },
    { what: 'a daemon list does not match another daemon', rule: 'ftpd: ALL', daemons: ['sshd', 'ssh'], match: false },
  ])('$what', ({ rule, daemons, match }) => {
    expect(grants(rule, request({ daemons }))).toBe(match);
  });
});

describe('checkHostsAccess EXCEPT', () => {
  it.each([
    { what: 'excludes a daemon from ALL', rule: 'ALL EXCEPT sshd: ALL', req: { daemons: ['sshd'] }, match: false },
    { what: 'keeps the other daemons of ALL', rule: 'ALL EXCEPT sshd: ALL', req: { daemons: ['ftpd'] }, match: true },
    { what: 'excludes an address from a net', rule: 'ALL: 10.0.0.0/8 EXCEPT 10.0.0.1', req: { clientIp: '10.0.0.1' }, match: false },
    { what: 'keeps the rest of the net', rule: 'ALL: 10.0.0.0/8 EXCEPT 10.0.0.1', req: { clientIp: '10.0.0.2' }, match: true },
    { what: 'does not widen the list', rule: 'ALL: 10.0.0.0/8 EXCEPT 10.0.0.1', req: { clientIp: '192.0.2.1' }, match: false },
    { what: 'is read without regard to case', rule: 'ALL: ALL except 192.0.2.1', req: {}, match: false },
    { what: 'nests to the right: an exception to the exception matches', rule: 'ALL: 10. EXCEPT 10.1. EXCEPT 10.1.1.1', req: { clientIp: '10.1.1.1' }, match: true },
    { what: 'nests to the right: the exception still excludes', rule: 'ALL: 10. EXCEPT 10.1. EXCEPT 10.1.1.1', req: { clientIp: '10.1.2.2' }, match: false },
    { what: 'nests to the right: the outer list still matches', rule: 'ALL: 10. EXCEPT 10.1. EXCEPT 10.1.1.1', req: { clientIp: '10.2.0.1' }, match: true },
    { what: 'nests to the right in daemon lists', rule: 'ALL EXCEPT in. EXCEPT in.ftpd: ALL', req: { daemons: ['in.ftpd'] }, match: true },
    { what: 'applies in both lists of one rule (daemon excluded)', rule: 'ALL EXCEPT ftpd: ALL EXCEPT 192.168.', req: { daemons: ['ftpd'] }, match: false },
    { what: 'applies in both lists of one rule (client excluded)', rule: 'ALL EXCEPT ftpd: ALL EXCEPT 192.168.', req: { clientIp: '192.168.0.9' }, match: false },
    { what: 'applies in both lists of one rule (neither excluded)', rule: 'ALL EXCEPT ftpd: ALL EXCEPT 192.168.', req: {}, match: true },
    { what: 'excludes names from a domain', rule: 'ALL: .example.org EXCEPT bad.example.org', req: { clientName: 'bad.example.org' }, match: false },
    { what: 'excludes an ipv6 net', rule: 'ALL: ALL EXCEPT [2001:db8::]/32', req: { clientIp: '2001:db8::7' }, match: false },
  ])('$what', ({ rule, req, match }) => {
    expect(grants(rule, request(req))).toBe(match);
  });
});

describe('checkHostsAccess files and options', () => {
  it.each([
    {
      what: 'hosts.allow is searched before hosts.deny',
      allow: 'sshd: 192.0.2.1',
      deny: 'ALL: ALL',
      req: {},
      want: { verdict: 'allow', file: ALLOW, line: 1 },
    },
    {
      what: 'hosts.deny refuses what hosts.allow does not grant',
      allow: 'sshd: 10.0.0.1',
      deny: 'ALL: ALL',
      req: {},
      want: { verdict: 'deny', file: DENY, line: 1 },
    },
    { what: 'access is granted when no rule matches', allow: 'ftpd: ALL', deny: 'telnetd: ALL', req: {}, want: { verdict: 'allow' } },
    { what: 'access is granted when both files are empty', allow: '', deny: '', req: {}, want: { verdict: 'allow' } },
    {
      what: 'the first matching rule of a file decides',
      allow: 'ftpd: ALL\nsshd: 192.0.2.0/24\nsshd: ALL',
      deny: '',
      req: {},
      want: { verdict: 'allow', file: ALLOW, line: 2 },
    },
    {
      what: 'a deny option in hosts.allow refuses',
      allow: 'sshd: 192.0.2.1: deny\nALL: ALL',
      deny: '',
      req: {},
      want: { verdict: 'deny', file: ALLOW, line: 1 },
    },
    {
      what: 'an allow option in hosts.deny grants',
      allow: '',
      deny: 'sshd: 192.0.2.1: allow\nALL: ALL',
      req: {},
      want: { verdict: 'allow', file: DENY, line: 1 },
    },
    {
      what: 'a deny option in hosts.allow stops the search before hosts.deny',
      allow: 'sshd: ALL: deny',
      deny: 'sshd: ALL: allow',
      req: {},
      want: { verdict: 'deny', file: ALLOW, line: 1 },
    },
    {
      what: 'a single hosts.allow with options grants its nets',
      allow: 'sshd: 10.: allow\nALL: ALL: deny',
      deny: '',
      req: { clientIp: '10.3.3.3' },
      want: { verdict: 'allow', file: ALLOW, line: 1 },
    },
    {
      what: 'a single hosts.allow with options refuses the rest',
      allow: 'sshd: 10.: allow\nALL: ALL: deny',
      deny: '',
      req: {},
      want: { verdict: 'deny', file: ALLOW, line: 2 },
    },
    { what: 'options are read without regard to case', allow: 'ALL: ALL: DENY', deny: '', req: {}, want: { verdict: 'deny', file: ALLOW, line: 1 } },
    {
      what: 'an empty option field is ignored',
      allow: '',
      deny: 'ALL: ALL:',
      req: {},
      want: { verdict: 'deny', file: DENY, line: 1 },
    },
    {
      what: 'the deciding line is where a continued rule starts',
      allow: '# trusted hosts\n\nftpd: ALL\nsshd: 10.0.0.1, \\\n  192.0.2.1',
      deny: 'ALL: ALL',
      req: {},
      want: { verdict: 'allow', file: ALLOW, line: 4 },
    },
  ])('$what', ({ allow, deny, req, want }) => {
    expect(decide(allow, deny, request(req))).toEqual(want);
  });
});

describe('parseHostsAccess syntax', () => {
  it.each([
    { what: 'skips comment lines and blank lines', text: '# comment\n   # indented comment\n\n \t\nsshd: 192.0.2.1', match: true, line: 5 },
    { what: 'ends a line at a # that starts a word', text: 'sshd: 10.0.0.1 # not 192.0.2.1', match: false, line: 0 },
    { what: 'keeps a rule whose note follows its patterns', text: 'sshd: 192.0.2.1 # office', match: true, line: 1 },
    { what: 'joins a line ending in a backslash with the next', text: 'sshd: 10.0.0.1 \\\n 192.0.2.1', match: true, line: 1 },
    { what: 'keeps two words apart across a continuation', text: 'sshd: 10.0.0.1\\\n192.0.2.1', match: true, line: 1 },
    { what: 'joins a commented line with the next when continued', text: 'sshd: 10.0.0.1 # note \\\n 192.0.2.1', match: true, line: 1 },
    { what: 'continues a comment with a backslash, as tcpd does', text: '# sshd: ALL \\\nsshd: 192.0.2.1\nftpd: 192.0.2.1', match: false, line: 0 },
    { what: 'reads CRLF line endings', text: 'ftpd: ALL\r\nsshd: 192.0.2.1\r\n', match: true, line: 2 },
    { what: 'reads a file that starts with a byte order mark', text: '\uFEFFsshd: 192.0.2.1', match: true, line: 1 },
    { what: 'reads blanks around the colons', text: '  sshd  :  192.0.2.1  :  allow  ', match: true, line: 1 },
    { what: 'reads a rule without blanks', text: 'sshd:192.0.2.1:allow', match: true, line: 1 },
    { what: 'keeps colons inside brackets', text: 'sshd: [2001:db8::]/32, 192.0.2.1 : allow', match: true, line: 1 },
  ])('$what', ({ text, match, line }) => {
    const { rules, errors } = parseHostsAccess(text, ALLOW);
    expect(errors).toEqual([]);
    const d = checkHostsAccess(rules, [], request({ daemons: ['sshd'] }));
    expect(d.line ?? 0).toBe(line);
    expect(d.line !== undefined).toBe(match);
  });

  it('reports the first line of a continued rule', () => {
    const { errors } = parseHostsAccess('ALL: ALL\n\nsshd: 10.0.0.1 \\\n  @trusted', ALLOW);
    expect(errors.map((e) => [e.file, e.line, e.code])).toEqual([[ALLOW, 3, 'ERR_ACCESS_PATTERN']]);
  });

  it('treats an escaped colon as part of its option', () => {
    const { errors } = parseHostsAccess('ALL: ALL: spawn (echo a\\:b)', ALLOW);
    expect(errors.map((e) => e.code)).toEqual(['ERR_ACCESS_OPTION']);
  });

  it('keeps reading after a bad rule, and the good rules count', () => {
    const { rules, errors } = parseHostsAccess('sshd: @trusted\nsshd 10.0.0.1\nsshd: 192.0.2.1\nftpd: ALL: spawn x', ALLOW);
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [1, 'ERR_ACCESS_PATTERN'],
      [2, 'ERR_ACCESS_SYNTAX'],
      [4, 'ERR_ACCESS_OPTION'],
    ]);
    expect(rules.map((r) => r.line)).toEqual([3]);
    expect(checkHostsAccess(rules, [], request())).toEqual({ verdict: 'allow', file: ALLOW, line: 3 });
  });
});

describe('parseHostsAccess bad rules', () => {
  // Each is alone in hosts.allow, with `ALL: ALL` in hosts.deny: a bad rule must be reported
  // and must never grant, whatever the client.
  const BAD = [
    { what: 'a rule without a colon', text: 'sshd 192.0.2.1', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'a rule of only a daemon list', text: 'ALL', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'an empty daemon list', text: ': ALL', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'an empty client list', text: 'ALL:', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'a client list of only commas', text: 'ALL: , ,: allow', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'EXCEPT first in a client list', text: 'ALL: EXCEPT 10.0.0.1', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'EXCEPT last in a client list', text: 'ALL: ALL EXCEPT', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'EXCEPT twice in a row', text: 'ALL: ALL EXCEPT EXCEPT 10.0.0.1', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'EXCEPT first in a daemon list', text: 'EXCEPT sshd: ALL', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'EXCEPT last in a daemon list', text: 'ALL EXCEPT: ALL', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'an ipv6 address outside brackets', text: 'ALL: ::1', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'an ipv6 net outside brackets', text: 'ALL: 2001:db8::/32', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'a full ipv6 address outside brackets', text: 'ALL: fe80:1:2:3:4:5:6:7', code: 'ERR_ACCESS_OPTION' },
    { what: 'an unclosed bracket', text: 'ALL: [::1', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'nested brackets', text: 'ALL: [[::1]]', code: 'ERR_ACCESS_SYNTAX' },
    { what: 'a netgroup', text: 'ALL: @trusted', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a file pattern', text: 'ALL: /etc/trusted-hosts', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a user@host pattern', text: 'ALL: root@192.0.2.1', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a daemon@host pattern', text: 'sshd@192.0.2.10: ALL', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a wildcard address', text: 'ALL: 192.168.*', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a wildcard daemon', text: 'in.*: ALL', code: 'ERR_ACCESS_PATTERN' },
    { what: 'an octet above 255', text: 'ALL: 192.0.2.256', code: 'ERR_ACCESS_PATTERN' },
    { what: 'three octets without the prefix dot', text: 'ALL: 192.0.2', code: 'ERR_ACCESS_PATTERN' },
    { what: 'host bits after a prefix length', text: 'ALL: 192.0.2.1/24', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a prefix length above 32', text: 'ALL: 10.0.0.0/33', code: 'ERR_ACCESS_PATTERN' },
    { what: 'an ipv6 prefix length above 128', text: 'ALL: [::]/129', code: 'ERR_ACCESS_PATTERN' },
    { what: 'ipv4 in brackets', text: 'ALL: [192.0.2.1]', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a host name prefix', text: 'ALL: www.', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a client keyword in the daemon list', text: 'KNOWN: ALL', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a daemon name with a bad character', text: 'ssh!d: ALL', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a client word with a bad character', text: 'ALL: host!name', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a bad pattern after EXCEPT in a client list', text: 'ALL: ALL EXCEPT @evil', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a bad pattern after EXCEPT in a daemon list', text: 'ALL EXCEPT in.*: ALL', code: 'ERR_ACCESS_PATTERN' },
    { what: 'a bad pattern after good ones', text: 'ALL: 192.0.2.1, 10.0.0.0/8, @admins', code: 'ERR_ACCESS_PATTERN' },
    { what: 'an unknown option', text: 'ALL: ALL: frobnicate', code: 'ERR_ACCESS_OPTION' },
    { what: 'a spawn option', text: 'ALL: ALL: spawn (/bin/echo %a) &', code: 'ERR_ACCESS_OPTION' },
    { what: 'a twist option', text: 'ALL: ALL: twist /bin/echo no', code: 'ERR_ACCESS_OPTION' },
    { what: 'a severity option', text: 'ALL: ALL: severity auth.info: allow', code: 'ERR_ACCESS_OPTION' },
    { what: 'a banners option', text: 'ALL: ALL: banners /etc/banners: allow', code: 'ERR_ACCESS_OPTION' },
    { what: 'a setenv option', text: 'ALL: ALL: setenv X 1', code: 'ERR_ACCESS_OPTION' },
    { what: 'an option after allow', text: 'ALL: ALL: allow: keepalive', code: 'ERR_ACCESS_OPTION' },
    { what: 'allow with a value', text: 'ALL: ALL: allow yes', code: 'ERR_ACCESS_OPTION' },
    { what: 'allow with an = value', text: 'ALL: ALL: allow=yes', code: 'ERR_ACCESS_OPTION' },
    { what: 'both allow and deny', text: 'ALL: ALL: deny: allow', code: 'ERR_ACCESS_OPTION' },
  ];

  /** Clients of every kind, with and without lookups. */
  const CLIENTS: Partial<AccessRequest>[] = [
    {},
    { clientIp: '10.0.0.1' },
    { clientIp: '::1' },
    { clientIp: '::ffff:192.168.1.1' },
    { clientIp: '192.0.2.1', clientName: 'host.example.org' },
    { clientIp: '192.0.2.1', clientName: 'printer' },
    { clientIp: '192.0.2.1', clientName: null, nameMismatch: true },
    { clientIp: 'unknown' },
    { daemons: ['in.telnetd'] },
  ];

  it.each(BAD)('reports $what and never grants with it', ({ text, code }) => {
    const allow = parseHostsAccess(text, ALLOW);
    expect(allow.errors.map((e) => [e.file, e.line, e.code])).toEqual([[ALLOW, 1, code]]);
    expect(allow.errors[0]!.message).not.toBe('');
    expect(allow.rules).toEqual([]);
    const deny = parseHostsAccess('ALL: ALL', DENY);
    for (const c of CLIENTS) {
      expect(checkHostsAccess(allow.rules, deny.rules, request(c))).toEqual({ verdict: 'deny', file: DENY, line: 1 });
    }
  });

  it.each(BAD)('reports $what in hosts.deny without stopping the rules after it', ({ text, code }) => {
    const deny = parseHostsAccess(`${text}\nALL: ALL`, DENY);
    expect(deny.errors.map((e) => [e.line, e.code])).toEqual([[1, code]]);
    expect(checkHostsAccess([], deny.rules, request())).toEqual({ verdict: 'deny', file: DENY, line: 2 });
  });
});
