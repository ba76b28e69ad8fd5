import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, type Lookups, type ParseOptions } from '../../src/config/parse.js';
import { formatConfigError, type ServiceEntry } from '../../src/config/types.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FILE = '/etc/inetd.conf';

/** A small fake system: the services, users and groups the real lines below need. */
const PORTS: Record<string, number> = {
  'auth/tcp': 113,
  'biff/udp': 512,
  'chargen/tcp': 19,
  'chargen/udp': 19,
  'comsat/udp': 512,
  'cvspserver/tcp': 2401,
  'daytime/tcp': 13,
  'daytime/udp': 13,
  'discard/tcp': 9,
  'echo/tcp': 7,
  'echo/udp': 7,
  'finger/tcp': 79,
  'ftp/tcp': 21,
  'ident/tcp': 113,
  'netbios-ssn/tcp': 139,
  'ntalk/udp': 518,
  'pop-3/tcp': 110,
  'shell/tcp': 514,
  'smtp/tcp': 25,
  'ssh/tcp': 22,
  'swat/tcp': 901,
  'telnet/tcp': 23,
  'tftp/udp': 69,
  'time/tcp': 37,
  'time/udp': 37,
  'tcpmux/tcp': 1,
};
const USERS: Record<string, { uid: number; gid: number }> = {
  _identd: { uid: 73, gid: 73 },
  daemon: { uid: 1, gid: 1 },
  guest: { uid: 1002, gid: 1002 },
  'john.doe': { uid: 1500, gid: 100 },
  nobody: { uid: 65534, gid: 65534 },
  qmaild: { uid: 1001, gid: 1001 },
  root: { uid: 0, gid: 0 },
  telnetd: { uid: 1003, gid: 1003 },
  tty: { uid: 4, gid: 5 },
  'www-data': { uid: 33, gid: 33 },
};
const GROUPS: Record<string, number> = { daemon: 1, nogroup: 65534, staff: 50, telnetd: 1003, tty: 5, users: 100, wheel: 10, 'www-data': 33 };
const SUPPLEMENTARY: Record<string, number[]> = { root: [10], 'john.doe': [50] };

/** An rpc database: /etc/rpc's names of the programs below. */
const PROGRAMS: Record<string, number> = { mountd: 100005, portmapper: 100000, rquotad: 100011, rstatd: 100001, rup: 100001, rusersd: 100002, walld: 100008 };

const fake: Lookups = {
  port: (name, transport) => PORTS[`${name}/${transport}`] ?? null,
  rpc: (name) => (Object.hasOwn(PROGRAMS, name) ? PROGRAMS[name]! : null),
  user: (name) => (Object.hasOwn(USERS, name) ? USERS[name]! : null),
  group: (name) => (Object.hasOwn(GROUPS, name) ? GROUPS[name]! : null),
  groups: (user, gid) => [...new Set([gid, ...(SUPPLEMENTARY[user] ?? [])])],
  executable: (file) => path.isAbsolute(file) && !/missing|noexec/.test(file),
};

const parse = (text: string, options?: ParseOptions) => parseConfig(text, FILE, fake, options);

/** The one entry a single good line yields; fails loudly with the errors otherwise. */
function only(text: string, options?: ParseOptions): ServiceEntry {
  const { entries, errors } = parse(text, options);
  expect(errors).toEqual([]);
  expect(entries).toHaveLength(1);
  return entries[0]!;
}

// anchors-features §c.2, each line exactly as published, minus its leading "#" (and the note
// after the time line). The expectation is an error code or the fields the entry must have.
type Expect = string | Partial<ServiceEntry>;
const REAL_LINES: Array<[string, Expect]> = [
  // FreeBSD usr.sbin/inetd/inetd.conf
  ['ftp\tstream\ttcp6\tnowait\troot\t/usr/libexec/ftpd\tftpd -l', { name: 'ftp', port: 21, socketType: 'stream', transport: 'tcp', family: 'inet6', host: '*', wait: false, user: 'root', uid: 0, gid: 0, groups: [0, 10], server: '/usr/libexec/ftpd', argv: ['ftpd', '-l'] }],
  ['ssh\tstream\ttcp\tnowait\troot\t/usr/sbin/sshd\t\tsshd -i -4', { port: 22, family: 'inet4', server: '/usr/sbin/sshd', argv: ['sshd', '-i', '-4'] }],
  ['finger\tstream\ttcp\tnowait/3/10 nobody /usr/libexec/fingerd\tfingerd -k -s', { port: 79, wait: false, instances: 3, cps: 10, perSource: 0, rate: 0, user: 'nobody', uid: 65534, argv: ['fingerd', '-k', '-s'] }],
  ['comsat\tdgram\tudp\twait\ttty:tty\t/usr/libexec/comsat\tcomsat', { port: 512, socketType: 'dgram', transport: 'udp', family: 'inet4', wait: true, user: 'tty', group: 'tty', uid: 4, gid: 5, argv: ['comsat'] }],
  ['tftp\tdgram\tudp\twait\troot\t/usr/libexec/tftpd\ttftpd -l -s /tftpboot', { port: 69, wait: true, argv: ['tftpd', '-l', '-s', '/tftpboot'] }],
  ['time\t dgram\tudp\twait\troot\tinternal', { port: 37, socketType: 'dgram', transport: 'udp', server: 'internal', argv: ['time'] }],
  [
    'rstatd/1-3\tdgram rpc/udp wait root\t/usr/libexec/rpc.rstatd\t rpc.rstatd',
    { name: 'rstatd/1-3', service: 'rstatd', protocol: 'rpc/udp', socketType: 'dgram', transport: 'udp', family: 'inet4', host: '*', port: 0, wait: true, rpc: { name: 'rstatd', program: 100001, low: 1, high: 3, netids: ['udp'] }, argv: ['rpc.rstatd'] },
  ],
  ['rquotad/1\tdgram rpc/udp6 wait root\t/usr/libexec/rpc.rquotad rpc.rquotad', { service: 'rquotad', family: 'inet6', port: 0, rpc: { name: 'rquotad', program: 100011, low: 1, high: 1, netids: ['udp6'] } }],
  // FreeBSD's auth (RFC 1413) is not one of ninetd's builtins, so this real line is refused.
  ['auth\tstream\ttcp\tnowait\troot\tinternal\tauth -r -f -n -o UNKNOWN -t 30', 'ERR_CONFIG_INTERNAL'],
  ['smtp\tstream\ttcp\tnowait\tqmaild\t/var/qmail/bin/tcp-env\ttcp-env /var/qmail/bin/qmail-smtpd', { port: 25, user: 'qmaild', uid: 1001, server: '/var/qmail/bin/tcp-env', argv: ['tcp-env', '/var/qmail/bin/qmail-smtpd'] }],
  ['swat\tstream\ttcp\tnowait/400\troot\t/usr/local/sbin/swat\tswat', { port: 901, instances: 400, rate: 0, argv: ['swat'] }],
  ['cvspserver\tstream\ttcp\tnowait\troot\t/usr/local/bin/cvs\tcvs --allow-root=/your/cvsroot/here pserver', { port: 2401, argv: ['cvs', '--allow-root=/your/cvsroot/here', 'pserver'] }],
  // FreeBSD inetd(8) EXAMPLES
  ['ntalk        dgram   udp   wait   root  /usr/libexec/ntalkd      ntalkd', { port: 518, transport: 'udp', wait: true, argv: ['ntalkd'] }],
  ['telnet       stream  tcp6  nowait root  /usr/libexec/telnetd  telnetd', { port: 23, family: 'inet6', argv: ['telnetd'] }],
  ['shell        stream  tcp46  nowait root  /usr/libexec/rshd rshd', { port: 514, family: 'inet46', protocol: 'tcp46', argv: ['rshd'] }],
  ['tcpmux/+date stream  tcp   nowait guest /bin/date                date', { name: 'tcpmux/+date', service: 'tcpmux/date', port: 1, tcpmux: { name: 'date', plus: true }, user: 'guest', server: '/bin/date', argv: ['date'] }],
  ['tcpmux/phonebook stream tcp nowait guest /usr/local/bin/phonebook phonebook', { port: 1, tcpmux: { name: 'phonebook', plus: false }, argv: ['phonebook'] }],
  ['rstatd/1-3   dgram   rpc/udp wait root  /usr/libexec/rpc.rstatd  rpc.rstatd', { service: 'rstatd', rpc: { name: 'rstatd', program: 100001, low: 1, high: 3, netids: ['udp'] } }],
  ['/var/run/echo stream unix  nowait root\tinternal', { name: '/var/run/echo', service: '/var/run/echo', transport: 'unix', family: 'unix', host: '', port: 0, path: '/var/run/echo', unixOwner: { user: '', group: '', mode: 0o666 }, server: 'internal', argv: ['echo'] }],
  ['chargen      stream  tcp   nowait root  internal', { port: 19, server: 'internal', argv: ['chargen'] }],
  // Debian (update-inetd managed, user-posted)
  ['netbios-ssn\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\t/usr/sbin/smbd', { port: 139, server: '/usr/sbin/tcpd', argv: ['/usr/sbin/smbd'] }],
  ['swat\t\tstream\ttcp\tnowait.400\troot\t/usr/sbin/tcpd\t/usr/sbin/swat', { port: 901, rate: 400, instances: 0, argv: ['/usr/sbin/swat'] }],
  ['telnet\t\tstream\ttcp\tnowait\ttelnetd.telnetd\t/usr/sbin/tcpd\t/usr/sbin/in.telnetd', { user: 'telnetd', group: 'telnetd', uid: 1003, gid: 1003, argv: ['/usr/sbin/in.telnetd'] }],
  ['pop-3\t\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\t/usr/sbin/in.pop3d', { port: 110, argv: ['/usr/sbin/in.pop3d'] }],
  // Debian's rstatd, rusersd and rwalld postinst scripts (update-inetd --group RPC --add)
  ['rstatd/1-5\tdgram\trpc/udp\twait\tnobody\t/usr/sbin/tcpd\t/usr/sbin/rpc.rstatd', { service: 'rstatd', user: 'nobody', server: '/usr/sbin/tcpd', argv: ['/usr/sbin/rpc.rstatd'], rpc: { name: 'rstatd', program: 100001, low: 1, high: 5, netids: ['udp'] } }],
  ['rusersd/2-3\tdgram\trpc/udp\twait\tnobody\t/usr/sbin/tcpd\t/usr/sbin/rpc.rusersd', { service: 'rusersd', rpc: { name: 'rusersd', program: 100002, low: 2, high: 3, netids: ['udp'] } }],
  ['walld/1\t\tdgram\trpc/udp\twait\tnobody:tty\t/usr/sbin/tcpd\t/usr/sbin/rpc.rwalld', { service: 'walld', group: 'tty', rpc: { name: 'walld', program: 100008, low: 1, high: 1, netids: ['udp'] } }],
];

describe('parseConfig on the real lines of anchors-features §c.2', () => {
  it.each(REAL_LINES)('%j → %j', (line, want) => {
    const { entries, errors } = parse(`${line}\n`);
    if (typeof want === 'string') {
      expect(entries).toEqual([]);
      expect(errors).toEqual([expect.objectContaining({ file: FILE, line: 1, code: want })]);
    } else {
      expect(errors).toEqual([]);
      expect(entries).toEqual([expect.objectContaining({ file: FILE, line: 1, ...want })]);
    }
  });

  it('reads the FreeBSD EXAMPLES block as a file, ignoring the #@ ipsec lines', () => {
    const text = [
      'ntalk        dgram   udp   wait   root  /usr/libexec/ntalkd      ntalkd',
      'telnet       stream  tcp6  nowait root  /usr/libexec/telnetd  telnetd',
      'shell        stream  tcp46  nowait root  /usr/libexec/rshd rshd',
      'tcpmux/+date stream  tcp   nowait guest /bin/date                date',
      'tcpmux/phonebook stream tcp nowait guest /usr/local/bin/phonebook phonebook',
      'rstatd/1-3   dgram   rpc/udp wait root  /usr/libexec/rpc.rstatd  rpc.rstatd',
      '/var/run/echo stream unix  nowait root\tinternal',
      '#@ ipsec ah/require',
      'chargen      stream  tcp   nowait root  internal',
      '#@',
      '',
    ].join('\n');
    const { entries, errors } = parse(text);
    expect(entries.map((e) => [e.line, e.service])).toEqual([
      [1, 'ntalk'],
      [2, 'telnet'],
      [3, 'shell'],
      [4, 'tcpmux/date'],
      [5, 'tcpmux/phonebook'],
      [6, 'rstatd'],
      [7, '/var/run/echo'],
      [9, 'chargen'],
    ]);
    expect(errors).toEqual([]);
  });

  it('reads the Debian block: #<off># and #:LABEL: lines are comments', () => {
    const text = [
      '#<off># netbios-ssn\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\t/usr/sbin/smbd',
      'swat\t\tstream\ttcp\tnowait.400\troot\t/usr/sbin/tcpd\t/usr/sbin/swat',
      'telnet\t\tstream\ttcp\tnowait\ttelnetd.telnetd\t/usr/sbin/tcpd\t/usr/sbin/in.telnetd',
      '#:INTERNAL: Internal services',
    ].join('\n');
    const { entries, errors } = parse(text);
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.line, e.service])).toEqual([
      [2, 'swat'],
      [3, 'telnet'],
    ]);
  });

  it('reads the FreeBSD inetd.conf as shipped, all commented out, as an empty config', () => {
    const text = REAL_LINES.slice(0, 12)
      .map(([line]) => `#${line}`)
      .join('\n');
    expect(parse(text)).toEqual({ entries: [], errors: [] });
  });
});

describe('parseConfig on good lines', () => {
  const GOOD: Array<[string, string, Partial<ServiceEntry>]> = [
    ['takes a numeric port', '8007 stream tcp nowait root internal echo', { name: '8007', service: '8007', port: 8007, argv: ['echo'] }],
    ['takes port 0 for a port the kernel picks', '0 stream tcp nowait root internal echo', { port: 0, service: '0' }],
    ['takes the highest port', '65535 dgram udp wait root internal echo', { port: 65535 }],
    ['reads a port with leading zeros as decimal', '007 stream tcp nowait root internal echo', { port: 7, service: '7', name: '007' }],
    ['takes "-" as the user to run as the supervisor', 'echo stream tcp nowait - internal', { user: '-', group: '', uid: -1, gid: -1, groups: [] }],
    ['takes an IPv4 host prefix', '127.0.0.1:echo stream tcp nowait root internal', { host: '127.0.0.1', family: 'inet4', port: 7 }],
    ['takes a bracketed IPv6 host and binds IPv6 even for plain tcp', '[::1]:7 stream tcp nowait root internal echo', { host: '::1', family: 'inet6', port: 7 }],
    ['takes a scoped IPv6 host', '[fe80::1%lo]:echo stream tcp nowait root internal', { host: 'fe80::1%lo', family: 'inet6' }],
    ['takes a bare IPv6 host, splitting at the last colon', '::1:echo stream tcp6 nowait root internal', { host: '::1', family: 'inet6' }],
    ['binds an IPv4 host given with tcp46 as IPv4', '127.0.0.1:echo stream tcp46 nowait root internal', { host: '127.0.0.1', family: 'inet4' }],
    ['binds [::] with tcp46 dual stack', '[::]:echo stream tcp46 nowait root internal', { host: '::', family: 'inet46' }],
    ['binds * with tcp6 to IPv6 only', '*:echo stream tcp6 nowait root internal', { host: '*', family: 'inet6' }],
    ['takes udp4', 'echo dgram udp4 wait root internal', { transport: 'udp', family: 'inet4', protocol: 'udp4' }],
    ['takes udp6', 'echo dgram udp6 wait root internal', { transport: 'udp', family: 'inet6' }],
    ['takes udp46', 'daytime dgram udp46 wait root internal', { family: 'inet46', port: 13, argv: ['daytime'] }],
    ['takes tcp4', 'discard stream tcp4 nowait root internal', { family: 'inet4', port: 9 }],
    ['takes a seqpacket unix socket', '/run/x.sock seqpacket unix nowait root /bin/prog', { socketType: 'seqpacket', transport: 'unix', family: 'unix', path: '/run/x.sock', argv: ['prog'] }],
    ['takes a datagram unix socket with nowait', '/run/d.sock dgram unix nowait root /bin/prog', { socketType: 'dgram', wait: false }],
    [
      'takes a FreeBSD owner, group and mode prefix on a unix path',
      ':daemon:staff:660:/run/y.sock stream unix nowait root /bin/prog prog -v',
      { name: ':daemon:staff:660:/run/y.sock', service: '/run/y.sock', path: '/run/y.sock', unixOwner: { user: 'daemon', group: 'staff', mode: 0o660 }, argv: ['prog', '-v'] },
    ],
    ['leaves empty owner fields to the defaults', '::::/run/z.sock stream unix nowait root /bin/prog', { path: '/run/z.sock', unixOwner: { user: '', group: '', mode: 0o666 } }],
    ['takes a Linux abstract unix socket', '@ninetd-test stream unix nowait root /bin/prog', { path: '@ninetd-test', service: '@ninetd-test' }],
    ['takes a unix path of 107 bytes', `/${'p'.repeat(106)} stream unix nowait root /bin/prog`, { path: `/${'p'.repeat(106)}` }],
    ['takes user:group', 'echo stream tcp nowait root:wheel internal', { user: 'root', group: 'wheel', uid: 0, gid: 10, groups: [10] }],
    ['takes user.group', 'echo stream tcp nowait root.wheel internal', { user: 'root', group: 'wheel', gid: 10 }],
    ['reads a dotted name as a user when that user exists', 'echo stream tcp nowait john.doe internal', { user: 'john.doe', group: '', uid: 1500, gid: 100, groups: [100, 50] }],
    ['splits a dotted name at the last dot otherwise', 'echo stream tcp nowait john.doe.staff internal', { user: 'john.doe', group: 'staff', gid: 50 }],
    ['ignores a FreeBSD login class', 'echo stream tcp nowait nobody:nogroup/daemon internal', { user: 'nobody', group: 'nogroup', gid: 65534 }],
    ['ignores a login class without a group', 'echo stream tcp nowait root/staff internal', { user: 'root', group: '', gid: 0 }],
    ['takes an empty group as the primary group', 'echo stream tcp nowait root: internal', { user: 'root', group: '', gid: 0 }],
    ['resolves a relative server against the config directory', 'echo stream tcp nowait root handlers/hello.sh', { server: '/etc/handlers/hello.sh', argv: ['hello.sh'] }],
    ['resolves ../ in a relative server', 'echo stream tcp nowait root ../opt/x/run x -q', { server: '/opt/x/run', argv: ['x', '-q'] }],
    ['forces tcpmux sub-services to nowait', 'tcpmux/+date stream tcp wait guest /bin/date date', { wait: false, tcpmux: { name: 'date', plus: true } }],
    ['takes a host prefix on a tcpmux sub-service', '127.0.0.1:tcpmux/x stream tcp4 nowait root /bin/x', { host: '127.0.0.1', port: 1 }],
    ['takes a NetBSD :rate', 'echo stream tcp nowait:40 root internal', { rate: 40 }],
    ['takes a FreeBSD max-child on wait', 'echo dgram udp wait/5 root internal', { wait: true, instances: 5 }],
    ['takes all three FreeBSD limits', 'echo stream tcp nowait/3/10/2 root internal', { instances: 3, cps: 10, perSource: 2 }],
    ['takes zero limits', 'echo stream tcp nowait/0/0/0 root internal', { instances: 0 }],
    ['keeps quoted arguments whole', 'echo stream tcp nowait root /bin/sh sh -c "exec cat"', { argv: ['sh', '-c', 'exec cat'] }],
    ['keeps extra arguments of a builtin', 'echo stream tcp nowait root internal echo -x', { argv: ['echo', '-x'] }],
    ['picks the builtin by argv[0] over the service name', '9999 dgram udp wait root internal time', { argv: ['time'], port: 9999, builtin: 'time' }],
    ['takes a single-quoted field anywhere', "'echo' stream tcp nowait root internal", { service: 'echo' }],
    ['reads an indented first line as an entry', '  echo stream tcp nowait root internal', { service: 'echo' }],
    ['keeps a # inside the arguments', 'echo stream tcp nowait root /bin/prog prog #1', { argv: ['prog', '#1'] }],
    ['takes an rpc program by number, without leading zeros', '0300019/1 stream rpc/tcp nowait root /bin/prog', { name: '0300019/1', service: '300019', rpc: { name: '300019', program: 300019, low: 1, high: 1, netids: ['tcp'] } }],
    ['takes an rpc program by alias', 'rup/2-4 dgram rpc/udp wait root /bin/prog', { service: 'rup', rpc: { name: 'rup', program: 100001, low: 2, high: 4, netids: ['udp'] } }],
    ['takes the largest rpc program and version', '4294967295/4294967295 dgram rpc/udp wait root /bin/prog', { rpc: { name: '4294967295', program: 4294967295, low: 4294967295, high: 4294967295, netids: ['udp'] } }],
    ['takes rpc version 0', 'rstatd/0 dgram rpc/udp wait root /bin/prog', { rpc: { name: 'rstatd', program: 100001, low: 0, high: 0, netids: ['udp'] } }],
    ['takes 64 rpc versions', 'rstatd/1-64 dgram rpc/udp wait root /bin/prog', { rpc: { name: 'rstatd', program: 100001, low: 1, high: 64, netids: ['udp'] } }],
    ['takes rpc/tcp as IPv4 tcp on an ephemeral port', 'mountd/1-3 stream rpc/tcp nowait root /bin/prog', { transport: 'tcp', family: 'inet4', port: 0, wait: false, rpc: { name: 'mountd', program: 100005, low: 1, high: 3, netids: ['tcp'] } }],
    ['takes rpc/udp4', 'rstatd/1 dgram rpc/udp4 wait root /bin/prog', { family: 'inet4', protocol: 'rpc/udp4' }],
    ['takes rpc/tcp6 as IPv6 only, netid tcp6', 'mountd/1 stream rpc/tcp6 nowait root /bin/prog', { family: 'inet6', rpc: { name: 'mountd', program: 100005, low: 1, high: 1, netids: ['tcp6'] } }],
    ['takes rpc/udp46 as dual stack, both netids', 'rstatd/1 dgram rpc/udp46 wait root /bin/prog', { family: 'inet46', rpc: { name: 'rstatd', program: 100001, low: 1, high: 1, netids: ['udp', 'udp6'] } }],
    ['registers rpc/tcp46 on one IPv6 address as tcp6 only', '[::1]:mountd/1 stream rpc/tcp46 nowait root /bin/prog', { family: 'inet46', host: '::1', rpc: { name: 'mountd', program: 100005, low: 1, high: 1, netids: ['tcp6'] } }],
    ['takes a host prefix on an rpc service', '127.0.0.1:rstatd/1-5 dgram rpc/udp wait root /bin/prog', { host: '127.0.0.1', family: 'inet4', service: 'rstatd', name: 'rstatd/1-5' }],
    ['takes an IPv6 host with plain rpc/udp as IPv6', '[::1]:rstatd/1 dgram rpc/udp wait root /bin/prog', { host: '::1', family: 'inet6', rpc: { name: 'rstatd', program: 100001, low: 1, high: 1, netids: ['udp6'] } }],
    ['takes nowait on rpc/udp (run as wait)', 'rstatd/1 dgram rpc/udp nowait root /bin/prog', { wait: false, socketType: 'dgram' }],
    ['takes a redirect to an address and port', '8080 stream tcp nowait nobody redirect 10.0.0.5 80', { server: 'redirect', redirect: { host: '10.0.0.5', port: 80 } }],
    ['takes a redirect to a bracketed ipv6 address', '8080 stream tcp6 nowait nobody redirect [::1] 8000', { redirect: { host: '::1', port: 8000 } }],
  ];
  it.each(GOOD)('%s', (_what, line, want) => {
    expect(only(line)).toEqual(expect.objectContaining({ file: FILE, line: 1, ...want }));
  });

  it('keeps rpc/udp and rpc/tcp IPv4 under a dual-stack default, as the netids udp and tcp', () => {
    const { entries, errors } = parse('rstatd/1 dgram rpc/udp wait root /bin/prog\nmountd/1 stream rpc/tcp nowait root /bin/prog\necho stream tcp nowait root internal\n', { defaultFamily: 'inet46' });
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.family, e.rpc?.netids])).toEqual([
      ['inet4', ['udp']],
      ['inet4', ['tcp']],
      ['inet46', undefined],
    ]);
  });

  it('applies a host line to rpc entries, one entry per address', () => {
    const { entries, errors } = parse('127.0.0.1,[::1]:\nrstatd/1-2 dgram rpc/udp wait root /bin/prog\n');
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.host, e.family, e.rpc?.netids])).toEqual([
      ['127.0.0.1', 'inet4', ['udp']],
      ['::1', 'inet6', ['udp6']],
    ]);
  });

  it('gives every field of an entry', () => {
    expect(only('127.0.0.1:echo stream tcp nowait.10 root internal')).toEqual({
      file: FILE,
      line: 1,
      name: 'echo',
      service: 'echo',
      protocol: 'tcp',
      socketType: 'stream',
      transport: 'tcp',
      family: 'inet4',
      host: '127.0.0.1',
      port: 7,
      path: '',
      wait: false,
      instances: 0,
      cps: 0,
      perSource: 0,
      rate: 10,
      user: 'root',
      group: '',
      uid: 0,
      gid: 0,
      groups: [0, 10],
      server: 'internal',
      argv: ['echo'],
      builtin: 'echo',
    });
  });

  it.each([
    ['tcp', undefined, 'inet4'],
    ['tcp', 'inet4', 'inet4'],
    ['tcp', 'inet46', 'inet46'],
    ['tcp4', 'inet46', 'inet4'],
    ['tcp6', 'inet46', 'inet6'],
  ] as const)('binds plain %s with defaultFamily %s as %s', (protocol, defaultFamily, family) => {
    const options = defaultFamily ? { defaultFamily } : {};
    expect(only(`echo stream ${protocol} nowait root internal`, options).family).toBe(family);
  });

  it('binds an IPv4 host with plain tcp as IPv4 even when the default is dual stack', () => {
    expect(only('127.0.0.1:echo stream tcp nowait root internal', { defaultFamily: 'inet46' }).family).toBe('inet4');
  });

  it('yields one entry per host of a comma list, all on the same line', () => {
    const { entries, errors } = parse('# x\n10.0.0.1,10.0.0.2,[::1]:echo stream tcp nowait root internal\n');
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.line, e.host, e.family])).toEqual([
      [2, '10.0.0.1', 'inet4'],
      [2, '10.0.0.2', 'inet4'],
      [2, '::1', 'inet6'],
    ]);
  });

  it('resolves relative servers against baseDir when given', () => {
    const { entries } = parseConfig('echo stream tcp nowait root bin/x\n', 'etc/inetd.conf', fake, { baseDir: '/srv/ninetd/etc' });
    expect(entries[0]?.server).toBe('/srv/ninetd/etc/bin/x');
  });

  it('gives an abstract unix socket no owner, since it has no file', () => {
    expect(only('@ninetd-test stream unix nowait root /bin/prog')).not.toHaveProperty('unixOwner');
  });

  it('gives a plain unix path the default owner and mode 0666', () => {
    expect(only('/run/p.sock stream unix nowait root /bin/prog').unixOwner).toEqual({ user: '', group: '', mode: 0o666 });
  });

  it('gives each entry its own argv array', () => {
    const { entries } = parse('1.1.1.1,2.2.2.2:echo stream tcp nowait root internal\n');
    expect(entries[0]!.argv).not.toBe(entries[1]!.argv);
  });
});

describe('parseConfig on bad lines', () => {
  const BAD: Array<[string, string, string]> = [
    ['an unknown socket type', 'echo strem tcp nowait root internal', 'ERR_CONFIG_SOCKET_TYPE'],
    ['a raw socket', 'echo raw tcp nowait root internal', 'ERR_CONFIG_SOCKET_UNSUPPORTED'],
    ['an rdm socket', 'echo rdm tcp nowait root internal', 'ERR_CONFIG_SOCKET_UNSUPPORTED'],
    ['an unknown protocol', 'echo stream tcpx nowait root internal', 'ERR_CONFIG_PROTOCOL'],
    ['an upper-case protocol', 'echo stream TCP nowait root internal', 'ERR_CONFIG_PROTOCOL'],
    ['NetBSD socket buffer options', 'echo stream tcp,sndbuf=64k nowait root internal', 'ERR_CONFIG_PROTOCOL'],
    ['stream over udp', 'echo stream udp nowait root internal', 'ERR_CONFIG_PROTOCOL'],
    ['dgram over tcp', 'echo dgram tcp wait root internal', 'ERR_CONFIG_PROTOCOL'],
    ['seqpacket over tcp', 'echo seqpacket tcp nowait root internal', 'ERR_CONFIG_PROTOCOL'],
    ['an rpc service without a version', 'rstatd dgram rpc/udp wait root /usr/libexec/rpc.rstatd', 'ERR_CONFIG_RPC'],
    ['an rpc service without a program', '/1 dgram rpc/udp wait root /usr/libexec/rpc.rstatd', 'ERR_CONFIG_RPC'],
    ['an rpc version that is not a number', 'rstatd/one dgram rpc/udp wait root /usr/libexec/rpc.rstatd', 'ERR_CONFIG_RPC'],
    ['an rpc version range with an empty end', 'rstatd/1- dgram rpc/udp wait root /usr/libexec/rpc.rstatd', 'ERR_CONFIG_RPC'],
    ['an rpc version above 2^32-1', 'rstatd/4294967296 dgram rpc/udp wait root /usr/libexec/rpc.rstatd', 'ERR_CONFIG_RPC'],
    ['an rpc version range that runs backwards', 'rstatd/5-1 dgram rpc/udp wait root /usr/libexec/rpc.rstatd', 'ERR_CONFIG_RPC'],
    ['an rpc version range of 65 versions', 'rstatd/1-65 dgram rpc/udp wait root /usr/libexec/rpc.rstatd', 'ERR_CONFIG_RPC'],
    ['an rpc program number above 2^32-1', '4294967296/1 dgram rpc/udp wait root /usr/libexec/rpc.rstatd', 'ERR_CONFIG_RPC'],
    ['rpcbind\'s own program by number', '100000/2 dgram rpc/udp wait root /usr/libexec/rpc.rstatd', 'ERR_CONFIG_RPC'],
    ['rpcbind\'s own program by name', 'portmapper/2 stream rpc/tcp nowait root /usr/libexec/x', 'ERR_CONFIG_RPC'],
    ['an internal rpc service', '200000/1 dgram rpc/udp wait root internal echo', 'ERR_CONFIG_RPC'],
    ['an rpc program not in the rpc database', 'nosuchprog/1 dgram rpc/udp wait root /usr/libexec/x', 'ERR_CONFIG_RPC_PROGRAM'],
    ['an rpc service over a unix socket', 'rstatd/1 stream rpc/unix nowait root /usr/libexec/x', 'ERR_CONFIG_PROTOCOL'],
    ['an unknown rpc protocol', 'rstatd/1 dgram rpc/ip wait root /usr/libexec/x', 'ERR_CONFIG_PROTOCOL'],
    ['an rpc/tcp service over dgram', 'mountd/1 dgram rpc/tcp wait root /usr/libexec/x x', 'ERR_CONFIG_PROTOCOL'],
    ['an rpc/udp service over stream', 'rstatd/1 stream rpc/udp nowait root /usr/libexec/x x', 'ERR_CONFIG_PROTOCOL'],
    ['an IPv6 host with rpc/udp4', '[::1]:rstatd/1 dgram rpc/udp4 wait root /usr/libexec/x', 'ERR_CONFIG_HOST'],
    ['an IPv4 host with rpc/tcp6', '127.0.0.1:mountd/1 stream rpc/tcp6 nowait root /usr/libexec/x', 'ERR_CONFIG_HOST'],
    ['an xinetd "no" in the wait field (seen in the wild)', 'cvspserver stream tcp no root /usr/local/bin/cvs cvs pserver', 'ERR_CONFIG_WAIT'],
    ['an xinetd "yes" in the wait field', 'echo dgram udp yes root internal', 'ERR_CONFIG_WAIT'],
    ['an unknown wait mode', 'echo stream tcp nowiat root internal', 'ERR_CONFIG_WAIT'],
    ['an upper-case wait mode', 'echo stream tcp NOWAIT root internal', 'ERR_CONFIG_WAIT'],
    ['a rate that is not a number', 'echo stream tcp nowait.x root internal', 'ERR_CONFIG_WAIT'],
    ['an empty rate', 'echo stream tcp nowait. root internal', 'ERR_CONFIG_WAIT'],
    ['an empty max-child', 'echo stream tcp nowait/ root internal', 'ERR_CONFIG_WAIT'],
    ['four FreeBSD limits', 'echo stream tcp nowait/1/2/3/4 root internal', 'ERR_CONFIG_WAIT'],
    ['both a rate and limits', 'echo stream tcp nowait.400/3 root internal', 'ERR_CONFIG_WAIT'],
    ['a negative limit', 'echo stream tcp nowait/-1 root internal', 'ERR_CONFIG_WAIT'],
    ['a limit beyond a C int', 'echo stream tcp nowait.99999999999 root internal', 'ERR_CONFIG_WAIT'],
    ['an unknown user', 'echo stream tcp nowait nosuchuser internal', 'ERR_CONFIG_USER'],
    ['an unknown user before a dot', 'echo stream tcp nowait nosuch.wheel internal', 'ERR_CONFIG_USER'],
    ['an empty user before a group', 'echo stream tcp nowait :wheel internal', 'ERR_CONFIG_USER'],
    ['an unknown group', 'echo stream tcp nowait root:nosuchgroup internal', 'ERR_CONFIG_GROUP'],
    ['an unknown group after a dot', 'echo stream tcp nowait root.nosuchgroup internal', 'ERR_CONFIG_GROUP'],
    ['a missing server program', 'echo stream tcp nowait root /usr/libexec/missing x', 'ERR_CONFIG_SERVER'],
    ['a server program that is not executable', 'echo stream tcp nowait root /usr/libexec/noexec', 'ERR_CONFIG_SERVER'],
    ['a missing relative server program', 'echo stream tcp nowait root missing.sh', 'ERR_CONFIG_SERVER'],
    ['an internal service that is no builtin', 'ftp stream tcp nowait root internal', 'ERR_CONFIG_INTERNAL'],
    ['a redirect to a host name', '8080 stream tcp nowait root redirect db.example 80', 'ERR_CONFIG_REDIRECT'],
    ['a redirect without a port', '8080 stream tcp nowait root redirect 10.0.0.5', 'ERR_CONFIG_REDIRECT'],
    ['a redirect with a port out of range', '8080 stream tcp nowait root redirect 10.0.0.5 70000', 'ERR_CONFIG_REDIRECT'],
    ['a wait redirect', '8080 stream tcp wait root redirect 10.0.0.5 80', 'ERR_CONFIG_REDIRECT'],
    ['a datagram redirect', '8080 dgram udp wait root redirect 10.0.0.5 80', 'ERR_CONFIG_REDIRECT'],
    ['a redirected tcpmux sub-service', 'tcpmux/x stream tcp nowait root redirect 10.0.0.5 80', 'ERR_CONFIG_REDIRECT'],
    ['an internal service on a numeric port without argv[0]', '8007 stream tcp nowait root internal', 'ERR_CONFIG_INTERNAL'],
    ['an internal argv[0] that is no builtin on a numeric port', '8007 stream tcp nowait root internal gopher', 'ERR_CONFIG_INTERNAL'],
    ['a builtin on a socket type it does not serve', '/run/echo seqpacket unix nowait root internal', 'ERR_CONFIG_INTERNAL'],
    ['a builtin on a unix path not named after one', '/run/foo stream unix nowait root internal', 'ERR_CONFIG_INTERNAL'],
    ['a port above 65535', '65536 stream tcp nowait root internal echo', 'ERR_CONFIG_PORT'],
    ['a much larger port', '99999999999999999999 stream tcp nowait root internal echo', 'ERR_CONFIG_PORT'],
    ['an unknown service name', 'gopher stream tcp nowait root /bin/gopherd', 'ERR_CONFIG_SERVICE'],
    ['a service listed for the other transport', 'biff stream tcp nowait root /bin/biffd', 'ERR_CONFIG_SERVICE'],
    ['a negative port', '-1 stream tcp nowait root internal echo', 'ERR_CONFIG_SERVICE'],
    ['a host prefix without a service', '127.0.0.1: stream tcp nowait root internal echo', 'ERR_CONFIG_SERVICE'],
    ['five fields', 'echo stream tcp nowait root', 'ERR_CONFIG_FIELDS'],
    ['one field', 'echo', 'ERR_CONFIG_FIELDS'],
    ['a host name', 'localhost:echo stream tcp nowait root internal', 'ERR_CONFIG_HOST'],
    ['an empty host in a list', '10.0.0.1,,10.0.0.2:echo stream tcp nowait root internal', 'ERR_CONFIG_HOST'],
    ['an empty host', ':echo stream tcp nowait root internal', 'ERR_CONFIG_HOST'],
    ['an IPv4 address in brackets', '[127.0.0.1]:echo stream tcp nowait root internal', 'ERR_CONFIG_HOST'],
    ['a bracketed star', '[*]:echo stream tcp nowait root internal', 'ERR_CONFIG_HOST'],
    ['an IPv4 address with a leading zero', '127.0.0.01:echo stream tcp nowait root internal', 'ERR_CONFIG_HOST'],
    ['an IPv6 host with tcp4', '[::1]:echo stream tcp4 nowait root internal', 'ERR_CONFIG_HOST'],
    ['an IPv4 host with udp6', '127.0.0.1:echo dgram udp6 wait root internal', 'ERR_CONFIG_HOST'],
    ['a tcpmux sub-service over udp', 'tcpmux/+x dgram udp wait root /bin/x', 'ERR_CONFIG_TCPMUX'],
    ['a tcpmux sub-service without a name', 'tcpmux/+ stream tcp nowait root /bin/x', 'ERR_CONFIG_TCPMUX'],
    ['a tcpmux sub-service named help', 'tcpmux/HELP stream tcp nowait root /bin/x', 'ERR_CONFIG_TCPMUX'],
    ['a relative unix path', 'run/x.sock stream unix nowait root /bin/prog', 'ERR_CONFIG_UNIX'],
    ['a unix path of 108 bytes', `/${'p'.repeat(107)} stream unix nowait root /bin/prog`, 'ERR_CONFIG_UNIX'],
    ['a unix path over 107 bytes in UTF-8', `/${'é'.repeat(54)} stream unix nowait root /bin/prog`, 'ERR_CONFIG_UNIX'],
    ['a unix mode that is not octal', ':root:wheel:999:/run/x stream unix nowait root /bin/prog', 'ERR_CONFIG_UNIX'],
    ['a unix owner prefix with too few parts', ':root:wheel:/run/x stream unix nowait root /bin/prog', 'ERR_CONFIG_UNIX'],
    ['an owner prefix on an abstract socket', ':root:wheel:600:@x stream unix nowait root /bin/prog', 'ERR_CONFIG_UNIX'],
    ['an unknown unix socket owner', ':nosuch:wheel:660:/run/x stream unix nowait root /bin/prog', 'ERR_CONFIG_USER'],
    ['an unknown unix socket group', ':root:nosuch:660:/run/x stream unix nowait root /bin/prog', 'ERR_CONFIG_GROUP'],
    ['an unterminated quote', 'echo stream tcp nowait root /bin/sh sh -c "exec cat', 'ERR_CONFIG_QUOTE'],
  ];
  it.each(BAD)('reports %s on its line', (_what, line, code) => {
    const { entries, errors } = parse(`# header\n\n${line}\n`);
    expect(entries).toEqual([]);
    expect(errors).toEqual([{ file: FILE, line: 3, code, message: expect.any(String) }]);
  });

  it('writes every message in the house style: lowercase start, a quoted token, an expectation, no period', () => {
    const { errors } = parse(BAD.map(([, line]) => line).join('\n'));
    expect(errors).toHaveLength(BAD.length);
    for (const e of errors) {
      expect(e.message).toMatch(/^[a-z]/);
      expect(e.message).toMatch(/"[^"]*"/);
      expect(e.message).toMatch(/\(expected [^)]+\)$/);
      expect(e.message).not.toMatch(/\.$/);
    }
  });

  it('never throws, whatever the input', () => {
    const junk = ['\0', '[', ']', ':', '::::', '"', "'", '[::1', 'tcpmux/', ':::::', '* * * * * *', '\u00ff\ufffd', 'a'.repeat(5000), '\t\t\t', '\r\n\r\n'];
    const text = junk.flatMap((j) => [j, `${j} stream tcp nowait root internal`, `echo ${j} ${j} ${j} ${j} ${j}`, `${j}:`]).join('\n');
    expect(() => parse(text)).not.toThrow();
    expect(parse(text).errors.length).toBeGreaterThan(0);
  });
});

describe('parseConfig on whole files', () => {
  it('keeps the good lines of a file with bad lines among them', () => {
    const text = [
      '# ninetd test config',
      'echo stream tcp nowait root internal',
      'echo strem tcp nowait root internal',
      '',
      'daytime dgram udp wait root internal',
      'rstatd/1-3 dgram rpc/udp wait root /usr/libexec/rpc.rstatd rpc.rstatd',
      'cvspserver stream tcp no root /usr/local/bin/cvs cvs pserver',
      '8007 stream tcp nowait nosuchuser internal echo',
      'time stream tcp nowait root internal',
      '70000 stream tcp nowait root internal echo',
      'chargen dgram udp wait root internal',
    ].join('\n');
    const { entries, errors } = parse(text);
    expect(entries.map((e) => [e.line, e.service, e.transport])).toEqual([
      [2, 'echo', 'tcp'],
      [5, 'daytime', 'udp'],
      [6, 'rstatd', 'udp'],
      [9, 'time', 'tcp'],
      [11, 'chargen', 'udp'],
    ]);
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [3, 'ERR_CONFIG_SOCKET_TYPE'],
      [7, 'ERR_CONFIG_WAIT'],
      [8, 'ERR_CONFIG_USER'],
      [10, 'ERR_CONFIG_PORT'],
    ]);
  });

  it('returns nothing for an empty file, a blank file and a comments-only file', () => {
    for (const text of ['', '\n\n', '  \t\n', '# a\n#b\n  # c\n#<off># echo stream tcp nowait root internal\n#:INTERNAL: x\n#@ ipsec\n']) {
      expect(parse(text)).toEqual({ entries: [], errors: [] });
    }
  });

  it('reads a last line without a newline', () => {
    const { entries } = parse('echo stream tcp nowait root internal\ntime stream tcp nowait root internal');
    expect(entries.map((e) => [e.line, e.service])).toEqual([
      [1, 'echo'],
      [2, 'time'],
    ]);
  });

  it('reads CRLF line endings', () => {
    const { entries, errors } = parse('# dos\r\necho stream tcp nowait root /bin/prog prog -x\r\n\r\ntime dgram udp wait root internal\r\n');
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.line, e.argv])).toEqual([
      [2, ['prog', '-x']],
      [4, ['time']],
    ]);
  });

  it('ignores a byte order mark at the start', () => {
    expect(only('\uFEFFecho stream tcp nowait root internal\n').service).toBe('echo');
  });

  it('treats a Debian #<off># line as commented out', () => {
    const { entries, errors } = parse('#<off># echo stream tcp nowait root internal\ntime stream tcp nowait root internal\n');
    expect(errors).toEqual([]);
    expect(entries.map((e) => e.service)).toEqual(['time']);
  });
});

describe('parseConfig on continuation lines', () => {
  it.each([
    ['joins fields continued on a tab-indented line', 'echo stream tcp\n\tnowait root internal\n', [[1, ['echo']]]],
    ['joins arguments continued on space-indented lines', 'echo stream tcp nowait root /bin/prog prog\n  -a\n  -b "c d"\n', [[1, ['prog', '-a', '-b', 'c d']]]],
    ['joins a continuation in a CRLF file', 'echo stream tcp nowait root /bin/prog prog\r\n\t-a\r\n', [[1, ['prog', '-a']]]],
    ['does not take an indented comment as arguments', 'echo stream tcp nowait root internal\n   # a note\n', [[1, ['echo']]]],
    ['starts a new entry on an unindented line', 'echo stream tcp nowait root internal\ntime stream tcp nowait root internal\n', [[1, ['echo']], [2, ['time']]]],
    ['reads an indented line after a comment as a new entry', '# c\n\techo stream tcp nowait root internal\n', [[2, ['echo']]]],
    ['reads an indented line after a blank line as a new entry', 'echo stream tcp nowait root internal\n\n\ttime stream tcp nowait root internal\n', [[1, ['echo']], [3, ['time']]]],
  ] as const)('%s', (_what, text, want) => {
    const { entries, errors } = parse(text);
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.line, e.argv])).toEqual(want);
  });

  it('ends an entry at a whitespace-only line, so what follows is a new entry', () => {
    const { entries, errors } = parse('echo stream tcp\n \t\n\tnowait root internal\n');
    expect(entries).toEqual([]);
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [1, 'ERR_CONFIG_FIELDS'],
      [3, 'ERR_CONFIG_FIELDS'],
    ]);
  });

  it('ends an entry at a comment line', () => {
    const { errors } = parse('echo stream tcp\n# note\n nowait root internal\n');
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [1, 'ERR_CONFIG_FIELDS'],
      [3, 'ERR_CONFIG_FIELDS'],
    ]);
  });

  it('drops an entry whose continuation line has an unterminated quote, and goes on', () => {
    const { entries, errors } = parse('echo stream tcp nowait root /bin/prog prog\n  "oops\n  more\ntime stream tcp nowait root internal\n');
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [2, 'ERR_CONFIG_QUOTE'],
      [3, 'ERR_CONFIG_FIELDS'],
    ]);
    expect(entries.map((e) => [e.line, e.service])).toEqual([[4, 'time']]);
  });

  it('keeps the entry before a line with an unterminated quote', () => {
    const { entries, errors } = parse('echo stream tcp nowait root internal\ntime stream tcp nowait root /bin/sh sh -c "x\n');
    expect(entries.map((e) => e.line)).toEqual([1]);
    expect(errors.map((e) => [e.line, e.code])).toEqual([[2, 'ERR_CONFIG_QUOTE']]);
  });

  it('reports an error in a continued entry on its first line', () => {
    const { errors } = parse('# x\necho stream tcp nowait\n\tnosuchuser internal\n');
    expect(errors.map((e) => [e.line, e.code])).toEqual([[2, 'ERR_CONFIG_USER']]);
  });
});

describe('parseConfig on sticky host lines', () => {
  it('applies an OpenBSD host: line to later entries until *: resets it', () => {
    const text = [
      '127.0.0.1:',
      'ftp  stream tcp nowait root /usr/libexec/ftpd ftpd -US',
      '*:',
      '10.0.0.1,10.0.0.2:ident stream tcp nowait _identd /usr/libexec/identd identd -el',
      'echo stream tcp nowait root internal',
    ].join('\n');
    const { entries, errors } = parse(text);
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.line, e.service, e.host])).toEqual([
      [2, 'ftp', '127.0.0.1'],
      [4, 'ident', '10.0.0.1'],
      [4, 'ident', '10.0.0.2'],
      [5, 'echo', '*'],
    ]);
  });

  it('lets an entry name its own host over the sticky one', () => {
    const { entries } = parse('127.0.0.1:\n10.1.1.1:echo stream tcp nowait root internal\n');
    expect(entries.map((e) => e.host)).toEqual(['10.1.1.1']);
  });

  it('applies a host list line as one entry per host', () => {
    const { entries } = parse('127.0.0.1,[::1]:\necho stream tcp nowait root internal\n');
    expect(entries.map((e) => [e.host, e.family])).toEqual([
      ['127.0.0.1', 'inet4'],
      ['::1', 'inet6'],
    ]);
  });

  it('does not apply a host to unix sockets', () => {
    const { entries, errors } = parse('127.0.0.1:\n/run/e.sock stream unix nowait root /bin/prog\n');
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.host, e.path])).toEqual([['', '/run/e.sock']]);
  });

  it('starts with the defaultHost option (-a) for entries before any host: line', () => {
    const text = 'echo stream tcp nowait root internal\necho stream tcp6 nowait root internal\n*:\ndaytime stream tcp nowait root internal\n';
    const { entries, errors } = parseConfig(text, 'x.conf', fake, { defaultHost: '127.0.0.2' });
    expect(errors).toEqual([]);
    // An IPv4 -a leaves IPv6-only entries on the wildcard, as FreeBSD's -a does.
    expect(entries.map((e) => [e.service, e.family, e.host])).toEqual([
      ['echo', 'inet4', '127.0.0.2'],
      ['echo', 'inet6', '*'],
      ['daytime', 'inet4', '*'],
    ]);
  });

  it('replaces one sticky host with the next', () => {
    const { entries } = parse('127.0.0.1:\n127.0.0.2:\necho stream tcp nowait root internal\n');
    expect(entries.map((e) => e.host)).toEqual(['127.0.0.2']);
  });

  it('reports a bad host line and refuses the entries that rely on it, until the next good one', () => {
    const text = [
      'bogus:',
      'echo stream tcp nowait root internal',
      '127.0.0.1:time stream tcp nowait root internal',
      '*:',
      'daytime stream tcp nowait root internal',
    ].join('\n');
    const { entries, errors } = parse(text);
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [1, 'ERR_CONFIG_HOST'],
      [2, 'ERR_CONFIG_HOST'],
    ]);
    expect(entries.map((e) => [e.line, e.service, e.host])).toEqual([
      [3, 'time', '127.0.0.1'],
      [5, 'daytime', '*'],
    ]);
  });

  it('checks a sticky IPv6 host against the protocol of each entry', () => {
    const { entries, errors } = parse('[::1]:\necho stream tcp4 nowait root internal\ntime stream tcp nowait root internal\n');
    expect(errors.map((e) => [e.line, e.code])).toEqual([[2, 'ERR_CONFIG_HOST']]);
    expect(entries.map((e) => [e.line, e.family])).toEqual([[3, 'inet6']]);
  });
});

describe('config error rendering (golden)', () => {
  it('prints file:line: message for a few typical mistakes', () => {
    const text = [
      'echo strem tcp nowait root internal',
      'cvspserver stream tcp no root /usr/local/bin/cvs cvs pserver',
      'rstatd/3-1 dgram rpc/udp wait root /usr/libexec/rpc.rstatd rpc.rstatd',
      'gopher stream tcp nowait root /usr/libexec/gopherd',
      'echo stream tcp nowait nosuchuser internal',
      'echo stream tcp',
    ].join('\n');
    const { errors } = parseConfig(text, 'etc/inetd.conf', fake);
    expect(errors.map(formatConfigError)).toEqual([
      'etc/inetd.conf:1: unknown socket type "strem" (expected stream, dgram or seqpacket)',
      'etc/inetd.conf:2: unknown wait mode "no" (expected wait or nowait; xinetd\'s "no" is "nowait" here)',
      'etc/inetd.conf:3: rpc version range "3-1" runs backwards (expected LOW-HIGH with LOW at most HIGH)',
      'etc/inetd.conf:4: unknown service "gopher" for tcp in /etc/services (expected a name listed there, a port number, or --services FILE)',
      'etc/inetd.conf:5: unknown user "nosuchuser" (expected a user from the password database)',
      'etc/inetd.conf:6: too few fields: found 3 in "echo stream tcp" (expected service, socket type, protocol, wait, user, server, then arguments)',
    ]);
  });
});

describe('docs/inetd.conf.5.md', () => {
  it('has EXAMPLES that all parse without errors', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'inetd.conf.5.md'), 'utf8');
    const examples = doc.slice(doc.indexOf('## EXAMPLES'), doc.indexOf('## SEE ALSO'));
    const blocks = [...examples.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThan(5);
    for (const block of blocks) expect(parse(block).errors).toEqual([]);
  });
});

describe('docs/errors.md', () => {
  it('lists every ERR_CONFIG code the config modules can produce', () => {
    const dir = path.join(ROOT, 'src', 'config');
    const source = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
    const codes = new Set(source.match(/ERR_CONFIG_[A-Z_]+/g));
    const doc = readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
    const missing = [...codes].filter((c) => !doc.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });
});
