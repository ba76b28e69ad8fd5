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
    const { rules, errors } = parseHostsAccess('ALL: ALL: spawn (echo a\\:b)', ALLOW);
    expect(errors).toEqual([]);
    expect(rules[0]).toMatchObject({ kind: 'rule', options: [{ name: 'spawn', value: '(echo a:b)' }] });
  });

  it('keeps reading after a bad rule, and the good rules count', () => {
    const { rules, errors } = parseHostsAccess('sshd: @trusted\nsshd 10.0.0.1\nsshd: 192.0.2.1\nftpd: ALL: spawn %z', ALLOW);
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [1, 'ERR_ACCESS_PATTERN'],
      [2, 'ERR_ACCESS_SYNTAX'],
      [4, 'ERR_ACCESS_OPTION'],
    ]);
    expect(rules.map((r) => [r.line, r.kind])).toEqual([
      [1, 'broken'],
      [2, 'broken'],
      [3, 'rule'],
      [4, 'broken'],
    ]);
    expect(checkHostsAccess(rules, [], request())).toEqual({ verdict: 'allow', file: ALLOW, line: 3 });
  });
});

describe('checkHostsAccess wildcards', () => {
  it.each([
    { what: '* matches the rest of an address', rule: 'sshd: 192.0.2.*', req: {}, match: true },
    { what: '* does not match another net', rule: 'sshd: 192.0.3.*', req: {}, match: false },
    { what: '? matches one character of an address', rule: 'sshd: 192.0.2.?', req: {}, match: true },
    { what: '? does not match two characters', rule: 'sshd: 192.0.2.?', req: { clientIp: '192.0.2.10' }, match: false },
    { what: 'an address wildcard matches a v4-mapped client', rule: 'sshd: 10.*', req: { clientIp: '::ffff:10.1.2.3' }, match: true },
    { what: 'a bracketed ipv6 wildcard matches', rule: 'sshd: [2001:db8::*]', req: { clientIp: '2001:db8::7' }, match: true },
    { what: 'a name wildcard matches a looked-up name', rule: 'sshd: *.example.org', req: { clientName: 'a.example.org' }, match: true },
    { what: 'a name wildcard is read without regard to case', rule: 'sshd: *.EXAMPLE.org', req: { clientName: 'A.example.ORG' }, match: true },
    { what: 'a name wildcard needs a name', rule: 'sshd: *.example.org', req: {}, match: false },
    { what: 'a name wildcard in the middle', rule: 'sshd: host-??.example.org', req: { clientName: 'host-12.example.org' }, match: true },
    { what: 'a lone * matches any address', rule: 'sshd: *', req: {}, match: true },
    { what: 'a daemon wildcard matches argv[0]', rule: 'in.*: ALL', req: { daemons: ['in.ftpd'] }, match: true },
    { what: 'a daemon wildcard does not match another name', rule: 'in.*: ALL', req: { daemons: ['sshd'] }, match: false },
    { what: 'a daemon ? wildcard', rule: 'ssh?: ALL', req: { daemons: ['sshd'] }, match: true },
    { what: 'a daemon wildcard after EXCEPT', rule: 'ALL EXCEPT in.*: ALL', req: { daemons: ['in.ftpd'] }, match: false },
  ])('$what', ({ rule, req, match }) => {
    expect(grants(rule, request(req))).toBe(match);
  });
});

describe('checkHostsAccess daemon@host', () => {
  it.each([
    { what: 'matches the daemon on that server address', rule: 'sshd@192.0.2.10: ALL', req: { serverIp: '192.0.2.10' }, match: true },
    { what: 'does not match another server address', rule: 'sshd@192.0.2.10: ALL', req: { serverIp: '192.0.2.11' }, match: false },
    { what: 'does not match another daemon on that address', rule: 'ftpd@192.0.2.10: ALL', req: { serverIp: '192.0.2.10' }, match: false },
    { what: 'takes a net as the host', rule: 'sshd@192.0.2.0/24: ALL', req: { serverIp: '192.0.2.10' }, match: true },
    { what: 'takes a bracketed ipv6 host', rule: 'sshd@[::1]: ALL', req: { serverIp: '::1' }, match: true },
    { what: 'takes ALL as the daemon', rule: 'ALL@192.0.2.10: ALL', req: { serverIp: '192.0.2.10' }, match: true },
    { what: 'takes a wildcard host', rule: 'sshd@192.0.2.*: ALL', req: { serverIp: '192.0.2.10' }, match: true },
    { what: 'takes a server name when it was looked up', rule: 'sshd@gw.example.org: ALL', req: { serverIp: '192.0.2.10', serverName: 'gw.example.org' }, match: true },
    { what: 'never matches a server name without lookups', rule: 'sshd@gw.example.org: ALL', req: { serverIp: '192.0.2.10' }, match: false },
    { what: 'never matches a unix socket', rule: 'sshd@192.0.2.10: ALL', req: {}, match: false },
  ])('$what', ({ rule, req, match }) => {
    expect(grants(rule, request(req))).toBe(match);
  });
});

describe('checkHostsAccess options', () => {
  it('warns, by file and line, about rfc931, which does nothing here', () => {
    const { errors, warnings } = parseHostsAccess('ALL: ALL: rfc931\nsshd: ALL: rfc931 5: allow', ALLOW);
    expect(errors).toEqual([]);
    expect(warnings.map((w) => [w.file, w.line, w.code])).toEqual([
      [ALLOW, 1, 'WARN_ACCESS_NO_OP'],
      [ALLOW, 2, 'WARN_ACCESS_NO_OP'],
    ]);
  });

  it('hands the deciding rule its options, in order, allow/deny included', () => {
    const d = decide('sshd: ALL: spawn echo %a: setenv X 1: allow', '', request());
    expect(d).toEqual({
      verdict: 'allow',
      file: ALLOW,
      line: 1,
      options: [
        { name: 'spawn', value: 'echo %a' },
        { name: 'setenv', value: 'X 1' },
        { name: 'allow', value: null },
      ],
    });
  });

  it('a twist in hosts.deny leaves the verdict to the file', () => {
    expect(decide('', 'ALL: ALL: twist /bin/echo no', request())).toEqual({ verdict: 'deny', file: DENY, line: 1, options: [{ name: 'twist', value: '/bin/echo no' }] });
  });
});

describe('parseHostsAccess bad rules', () => {
  // A bad rule is reported; in hosts.allow it grants nobody; in hosts.deny it refuses every
  // client of the daemons it names (`scope: 'named'`, here sshd), or of every daemon when its
  // daemon list cannot be read (`scope: 'every'`).
  const BAD = [
    { what: 'a rule without a colon', text: 'sshd 192.0.2.1', code: 'ERR_ACCESS_SYNTAX', scope: 'every' },
    { what: 'a rule of only a daemon list', text: 'sshd', code: 'ERR_ACCESS_SYNTAX', scope: 'every' },
    { what: 'an empty daemon list', text: ': ALL', code: 'ERR_ACCESS_SYNTAX', scope: 'every' },
    { what: 'an empty client list', text: 'sshd:', code: 'ERR_ACCESS_SYNTAX', scope: 'named' },
    { what: 'a client list of only commas', text: 'sshd: , ,: allow', code: 'ERR_ACCESS_SYNTAX', scope: 'named' },
    { what: 'EXCEPT first in a client list', text: 'sshd: EXCEPT 10.0.0.1', code: 'ERR_ACCESS_SYNTAX', scope: 'named' },
    { what: 'EXCEPT last in a client list', text: 'sshd: ALL EXCEPT', code: 'ERR_ACCESS_SYNTAX', scope: 'named' },
    { what: 'EXCEPT twice in a row', text: 'sshd: ALL EXCEPT EXCEPT 10.0.0.1', code: 'ERR_ACCESS_SYNTAX', scope: 'named' },
    { what: 'EXCEPT first in a daemon list', text: 'EXCEPT sshd: ALL', code: 'ERR_ACCESS_SYNTAX', scope: 'every' },
    { what: 'EXCEPT last in a daemon list', text: 'ALL EXCEPT: ALL', code: 'ERR_ACCESS_SYNTAX', scope: 'every' },
    { what: 'an ipv6 address outside brackets', text: 'sshd: ::1', code: 'ERR_ACCESS_SYNTAX', scope: 'named' },
    { what: 'an ipv6 net outside brackets', text: 'sshd: 2001:db8::/32', code: 'ERR_ACCESS_SYNTAX', scope: 'named' },
    { what: 'a full ipv6 address outside brackets', text: 'sshd: fe80:1:2:3:4:5:6:7', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'an unclosed bracket', text: 'sshd: [::1', code: 'ERR_ACCESS_SYNTAX', scope: 'every' },
    { what: 'nested brackets', text: 'sshd: [[::1]]', code: 'ERR_ACCESS_SYNTAX', scope: 'every' },
    { what: 'a netgroup', text: 'sshd: @trusted', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'a file pattern', text: 'sshd: /etc/trusted-hosts', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'a user@host pattern', text: 'sshd: root@192.0.2.1', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'a daemon@host with a bad host', text: 'sshd@192.0.2.256: ALL', code: 'ERR_ACCESS_PATTERN', scope: 'every' },
    { what: 'a daemon@host@host', text: 'sshd@a@b: ALL', code: 'ERR_ACCESS_PATTERN', scope: 'every' },
    { what: 'a wildcard with a net', text: 'sshd: 192.168.*/16', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'a wildcard in a .domain', text: 'sshd: .*.example.org', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'a wildcard in an address prefix', text: 'sshd: 192.*.', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'a wildcard in a daemon suffix', text: '.*d: ALL', code: 'ERR_ACCESS_PATTERN', scope: 'every' },
    { what: 'a wildcard with a bad character', text: 'sshd: a*!b', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'an octet above 255', text: 'sshd: 192.0.2.256', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'three octets without the prefix dot', text: 'sshd: 192.0.2', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'host bits after a prefix length', text: 'sshd: 192.0.2.1/24', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'a prefix length above 32', text: 'sshd: 10.0.0.0/33', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'an ipv6 prefix length above 128', text: 'sshd: [::]/129', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'ipv4 in brackets', text: 'sshd: [192.0.2.1]', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'a host name prefix', text: 'sshd: www.', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'a client keyword in the daemon list', text: 'KNOWN: ALL', code: 'ERR_ACCESS_PATTERN', scope: 'every' },
    { what: 'a daemon name with a bad character', text: 'ssh!d: ALL', code: 'ERR_ACCESS_PATTERN', scope: 'every' },
    { what: 'a bad daemon after good ones', text: 'sshd, ftp!d: ALL', code: 'ERR_ACCESS_PATTERN', scope: 'every' },
    { what: 'a client word with a bad character', text: 'sshd: host!name', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'a bad pattern after EXCEPT in a client list', text: 'sshd: ALL EXCEPT @evil', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'a bad pattern after EXCEPT in a daemon list', text: 'ALL EXCEPT ss!hd: ALL', code: 'ERR_ACCESS_PATTERN', scope: 'every' },
    { what: 'a bad pattern after good ones', text: 'sshd: 192.0.2.1, 10.0.0.0/8, @admins', code: 'ERR_ACCESS_PATTERN', scope: 'named' },
    { what: 'an unknown option', text: 'sshd: ALL: frobnicate', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'an unknown expansion in spawn', text: 'sshd: ALL: spawn echo %z', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'spawn without a command', text: 'sshd: ALL: spawn', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'an option after twist', text: 'sshd: ALL: twist /bin/echo no: keepalive', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'an unknown severity', text: 'sshd: ALL: severity loud', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'an unknown severity facility', text: 'sshd: ALL: severity nowhere.info', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'a relative banners directory', text: 'sshd: ALL: banners banners', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'setenv with a bad name', text: 'sshd: ALL: setenv 1X 1', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'a umask that is not octal', text: 'sshd: ALL: umask 099', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'a nice out of range', text: 'sshd: ALL: nice 40', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'a linger that is not a number', text: 'sshd: ALL: linger soon', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'keepalive with a value', text: 'sshd: ALL: keepalive yes', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'a bad user', text: 'sshd: ALL: user a;b', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'an option after allow', text: 'sshd: ALL: allow: keepalive', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'allow with a value', text: 'sshd: ALL: allow yes', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'allow with an = value', text: 'sshd: ALL: allow=yes', code: 'ERR_ACCESS_OPTION', scope: 'named' },
    { what: 'both allow and deny', text: 'sshd: ALL: deny: allow', code: 'ERR_ACCESS_OPTION', scope: 'named' },
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

  it.each(BAD)('reports $what and never grants with it from hosts.allow', ({ text, code }) => {
    const allow = parseHostsAccess(text, ALLOW);
    expect(allow.errors.map((e) => [e.file, e.line, e.code])).toEqual([[ALLOW, 1, code]]);
    expect(allow.errors[0]!.message).not.toBe('');
    expect(allow.rules.map((r) => r.kind)).toEqual(['broken']);
    const deny = parseHostsAccess('ALL: ALL', DENY);
    for (const c of CLIENTS) {
      expect(checkHostsAccess(allow.rules, deny.rules, request(c))).toEqual({ verdict: 'deny', file: DENY, line: 1 });
      // Nor does it refuse from hosts.allow: it matches nothing there.
      expect(checkHostsAccess(allow.rules, [], request(c))).toEqual({ verdict: 'allow' });
    }
  });

  it.each(BAD)('reports $what in hosts.deny and refuses the clients of the daemons it names', ({ text, code, scope }) => {
    const deny = parseHostsAccess(text, DENY);
    expect(deny.errors.map((e) => [e.line, e.code])).toEqual([[1, code]]);
    const refused = { verdict: 'deny', file: DENY, line: 1, broken: true };
    for (const c of CLIENTS.filter((c) => c.daemons === undefined)) expect(checkHostsAccess([], deny.rules, request(c))).toEqual(refused);
    const other = checkHostsAccess([], deny.rules, request({ daemons: ['in.telnetd'] }));
    expect(other).toEqual(scope === 'every' ? refused : { verdict: 'allow' });
  });

  it('lets hosts.allow grant before a broken rule in hosts.deny refuses, as tcpd searches', () => {
    const allow = parseHostsAccess('sshd: 192.0.2.1', ALLOW);
    const deny = parseHostsAccess('sshd: ALL: spawn %z', DENY);
    expect(checkHostsAccess(allow.rules, deny.rules, request())).toEqual({ verdict: 'allow', file: ALLOW, line: 1 });
    expect(checkHostsAccess(allow.rules, deny.rules, request({ clientIp: '10.0.0.1' }))).toEqual({ verdict: 'deny', file: DENY, line: 1, broken: true });
  });
});
