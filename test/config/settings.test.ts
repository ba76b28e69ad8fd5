import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ini from 'ini';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings, parseSettings, type DaemonSettings } from '../../src/config/settings.js';
import { formatConfigError } from '../../src/config/types.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FILE = 'etc/ninetd.ini';

/** Every [daemon] key, sorted: the shipped file must show each of them. */
const DAEMON_KEYS = [
  'control_socket',
  'cps',
  'cwd',
  'default_family',
  'env',
  'hosts_allow',
  'hosts_deny',
  'log_connections',
  'log_destination',
  'log_file',
  'log_level',
  'max_children',
  'metrics_from',
  'metrics_listen',
  'nice',
  'passenv',
  'per_source',
  'pidfile',
  'rate',
  'retry_time',
  'reverse_lookup',
  'rlimit_as',
  'rlimit_cpu',
  'rlimit_nofile',
  'rlimit_nproc',
  'strict_modes',
  'syslog_format',
  'syslog_socket',
  'tcp_wrappers',
  'udp_loopback',
  'umask',
];

/** `[daemon]` followed by `lines`, one per line. */
const daemon = (...lines: string[]): string => ['[daemon]', ...lines, ''].join('\n');

/** [line, code] of every error in `text`. */
const problems = (text: string): [number, string][] => parseSettings(text, FILE).errors.map((e) => [e.line, e.code]);

describe('parseSettings', () => {
  const good: [string, string, DaemonSettings][] = [
    ['an empty file sets nothing', '', {}],
    ['an empty [daemon] section sets nothing', daemon(), {}],
    ['comments and blank lines are skipped', '# hash\n; semicolon\n\n   \n  # indented\n[daemon]\n\n; umask = 077\n', {}],
    [
      'every key is read into its type',
      daemon(
        'default_family = inet46',
        'log_connections = yes',
        'log_destination = file',
        'log_file = /var/log/ninetd.log',
        'log_level = debug',
        'max_children = 40',
        'pidfile = /run/ninetd.pid',
        'rate = 0',
        'retry_time = 1',
        'strict_modes = yes',
        'syslog_format = rfc5424',
        'syslog_socket = /dev/log',
        'udp_loopback = off',
        'umask = 027',
      ),
      {
        default_family: 'inet46',
        log_connections: true,
        log_destination: 'file',
        log_file: '/var/log/ninetd.log',
        log_level: 'debug',
        max_children: 40,
        pidfile: '/run/ninetd.pid',
        rate: 0,
        retry_time: 1,
        strict_modes: true,
        syslog_format: 'rfc5424',
        syslog_socket: '/dev/log',
        udp_loopback: false,
        umask: 0o27,
      },
    ],
    ['an empty pidfile means none', daemon('pidfile ='), { pidfile: '' }],
    ['an empty control_socket means none', daemon('control_socket ='), { control_socket: '' }],
    ['a control_socket path', daemon('control_socket = /run/x/ninetd.sock'), { control_socket: '/run/x/ninetd.sock' }],
    ['metrics_listen on an IPv4 address', daemon('metrics_listen = 127.0.0.1:9101'), { metrics_listen: { host: '127.0.0.1', port: 9101 } }],
    ['metrics_listen on an IPv6 address', daemon('metrics_listen = [::1]:0'), { metrics_listen: { host: '::1', port: 0 } }],
    ['metrics_listen on every address', daemon('metrics_listen = *:9101'), { metrics_listen: { host: '*', port: 9101 } }],
    ['an abstract syslog socket is @name', daemon('syslog_socket = @ninetd-log'), { syslog_socket: '@ninetd-log' }],
    ['umask 0 is accepted', daemon('umask = 0'), { umask: 0 }],
    ['umask may have a leading 0', daemon('umask = 0022'), { umask: 0o22 }],
    ['umask 0777 is the largest', daemon('umask = 0777'), { umask: 0o777 }],
    ['retry_time as long as a timer can wait', daemon('retry_time = 2147483'), { retry_time: 2147483 }],
    [
      'internal stream limits: idle timeout (0 is never) and the daemon-wide cap',
      daemon('internal_idle_timeout = 0', 'internal_max_connections = 500'),
      { internal_idle_timeout: 0, internal_max_connections: 500 },
    ],
    ['a comment may follow a value', daemon('umask = 077 ; tight', 'rate = 10 # per minute'), { umask: 0o77, rate: 10 }],
    ['a quoted value keeps ; and #', daemon('pidfile = "/run/a;b#c.pid"'), { pidfile: '/run/a;b#c.pid' }],
    ["a single-quoted number is still text to validate", daemon("rate = '12'"), { rate: 12 }],
    ['blanks around keys, values and headers do not matter', '  [ daemon ]  ; main\n\tlog_level=warn\n  rate   =   5  \n', { log_level: 'warn', rate: 5 }],
    ['CRLF line ends and a BOM are accepted', '\uFEFF[daemon]\r\nlog_level = error\r\n', { log_level: 'error' }],
    ['log_destination other than file needs no log_file', daemon('log_destination = syslog'), { log_destination: 'syslog' }],
    [
      'process defaults are read into their types',
      daemon('nice = -5', 'rlimit_as = 512M', 'rlimit_cpu = 30', 'rlimit_nofile = unlimited', 'rlimit_nproc = 64', 'env = LANG=C.UTF-8 EMPTY=', 'passenv = TZ HOME', 'cwd = /srv'),
      { nice: -5, rlimit_as: 512 * 2 ** 20, rlimit_cpu: 30, rlimit_nofile: -1, rlimit_nproc: 64, env: { LANG: 'C.UTF-8', EMPTY: '' }, passenv: ['TZ', 'HOME'], cwd: '/srv' },
    ],
  ];
  it.each(good)('%s', (_name, text, expected) => {
    expect(parseSettings(text, FILE)).toEqual({ settings: { daemon: expected, services: new Map() }, errors: [] });
  });

  it.each([
    ['true', true],
    ['false', false],
    ['yes', true],
    ['no', false],
    ['on', true],
    ['off', false],
    ['1', true],
    ['0', false],
  ])('reads the boolean spelling %s', (raw, value) => {
    expect(parseSettings(daemon(`log_connections = ${raw}`, `udp_loopback = ${raw}`), FILE).settings.daemon).toEqual({
      log_connections: value,
      udp_loopback: value,
    });
  });

  const bad: [string, string, [number, string][]][] = [
    ['umask that is not octal', daemon('umask = 999'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['umask above 0777', daemon('umask = 1777'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['an empty umask', daemon('umask ='), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a negative rate', daemon('rate = -1'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a fractional max_children', daemon('max_children = 1.5'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a max_children that is no number', daemon('max_children = many'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a rate beyond a C int', daemon('rate = 2147483648'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['retry_time 0', daemon('retry_time = 0'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['retry_time longer than a timer can wait', daemon('retry_time = 2147484'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['an unknown log level', daemon('log_level = loud'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['an unknown family', daemon('default_family = inet6'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['an unknown log destination', daemon('log_destination = journald'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['an unknown syslog format', daemon('syslog_format = rfc5425'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['words are spelled exactly', daemon('log_level = INFO'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a boolean that is none', daemon('log_connections = maybe'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['an empty boolean', daemon('udp_loopback ='), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a relative pidfile', daemon('pidfile = run/ninetd.pid'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['an empty log_file', daemon('log_file ='), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a relative syslog socket', daemon('syslog_socket = dev/log'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['an abstract syslog socket without a name', daemon('syslog_socket = @'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a syslog socket longer than sun_path', daemon(`syslog_socket = /${'x'.repeat(107)}`), [[2, 'ERR_SETTINGS_VALUE']]],
    ['log_destination file without log_file, on the log_destination line', daemon('log_level = info', 'log_destination = file'), [[3, 'ERR_SETTINGS_VALUE']]],
    ['log_destination file with a bad log_file, reported once', daemon('log_destination = file', 'log_file = x.log'), [[3, 'ERR_SETTINGS_VALUE']]],
    ['an unknown key', daemon('umaks = 022'), [[2, 'ERR_SETTINGS_KEY']]],
    ['keys are spelled exactly', daemon('Umask = 022', 'log-level = info'), [[2, 'ERR_SETTINGS_KEY'], [3, 'ERR_SETTINGS_KEY']]],
    ["an ini array key", daemon('rate[] = 1'), [[2, 'ERR_SETTINGS_KEY']]],
    ['an unknown section, whose keys are not checked', '[deamon]\numask = 999\nwhatever = 1\n', [[1, 'ERR_SETTINGS_SECTION']]],
    ['a daemon-only key in a service section', `${daemon('retry_time = 1')}[service:echo/tcp]\nretry_time = 5\n`, [[4, 'ERR_SETTINGS_KEY']]],
    ['a service section without a protocol', '[service:echo]\numask = 022\n', [[1, 'ERR_SETTINGS_SECTION']]],
    ['a nice value out of range', daemon('nice = 20'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a size suffix on a count limit', daemon('rlimit_nofile = 1K'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['an env entry without =', daemon('env = LANG'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a bad variable name in passenv', daemon('passenv = 1TZ'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a relative cwd', daemon('cwd = srv'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['an abstract control socket, which has no file mode', daemon('control_socket = @ninetd'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a relative control socket', daemon('control_socket = ninetd.sock'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['metrics_listen without a port', daemon('metrics_listen = 127.0.0.1'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['metrics_listen on a host name', daemon('metrics_listen = localhost:9101'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['metrics_listen with IPv6 outside brackets', daemon('metrics_listen = ::1:9101'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['metrics_listen with a port out of range', daemon('metrics_listen = 127.0.0.1:65536'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['metrics_listen empty', daemon('metrics_listen ='), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a host name in metrics_from', daemon('metrics_from = localhost'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a host name in only_from', '[service:echo/tcp]\nonly_from = 10.0.0.0/8 example.org\n', [[2, 'ERR_SETTINGS_VALUE']]],
    ['an empty no_access', '[service:echo/tcp]\nno_access =\n', [[2, 'ERR_SETTINGS_VALUE']]],
    ['a relative banner', '[service:echo/tcp]\nbanner = motd\n', [[2, 'ERR_SETTINGS_VALUE']]],
    ['xinetd cps syntax', '[service:echo/tcp]\ncps = 50 10\n', [[2, 'ERR_SETTINGS_VALUE']]],
    ['an access_times word that is no interval', '[service:echo/tcp]\naccess_times = 8-18\n', [[2, 'ERR_SETTINGS_VALUE']]],
    ['an access_times minute out of range', '[service:echo/tcp]\naccess_times = 8:60-9:00\n', [[2, 'ERR_SETTINGS_VALUE']]],
    ['an unknown log_on_success word', '[service:echo/tcp]\nlog_on_success = PID USERID\n', [[2, 'ERR_SETTINGS_VALUE']]],
    ['a zero rate_window', '[service:echo/tcp]\nrate_window = 0\n', [[2, 'ERR_SETTINGS_VALUE']]],
    ['a size suffix on rlimit_stack that is not K, M or G', '[service:echo/tcp]\nrlimit_stack = 8T\n', [[2, 'ERR_SETTINGS_VALUE']]],
    ['a daemon-only key (tcp_wrappers) in a service section', '[service:echo/tcp]\ntcp_wrappers = yes\n', [[2, 'ERR_SETTINGS_KEY']]],
    ['a dotted section name, which ini would nest', '[daemon.sub]\nrate = 1\n', [[1, 'ERR_SETTINGS_SECTION']]],
    ['[daemon] with a name', '[daemon:x]\n', [[1, 'ERR_SETTINGS_SECTION']]],
    ['a key before any section', 'rate = 1\n[daemon]\n', [[1, 'ERR_SETTINGS_SECTION']]],
    ['a key given twice', daemon('umask = 022', 'rate = 1', 'umask = 027'), [[4, 'ERR_SETTINGS_DUPLICATE']]],
    ['a key given twice, the second one bad', daemon('rate = 1', 'rate = x'), [[3, 'ERR_SETTINGS_DUPLICATE']]],
    ['a section given twice', `${daemon('rate = 1')}${daemon('umask = 022')}`, [[3, 'ERR_SETTINGS_DUPLICATE']]],
    ['a section given twice, repeating a key', `${daemon('rate = 1')}${daemon('rate = 2')}`, [[3, 'ERR_SETTINGS_DUPLICATE'], [4, 'ERR_SETTINGS_DUPLICATE']]],
    ['a section given twice, with an unknown key', `${daemon('rate = 1')}${daemon('ratee = 2')}`, [[3, 'ERR_SETTINGS_DUPLICATE'], [4, 'ERR_SETTINGS_KEY']]],
    ['a key without =', daemon('log_connections'), [[2, 'ERR_SETTINGS_SYNTAX']]],
    ['a value without a key', daemon(' = 022'), [[2, 'ERR_SETTINGS_SYNTAX']]],
    ['an unclosed header, whose keys are not checked', '[daemon\nrate = x\n', [[1, 'ERR_SETTINGS_SYNTAX']]],
    ['text after a header', '[daemon] rate = 1\n', [[1, 'ERR_SETTINGS_SYNTAX']]],
    [
      'every bad line, in line order',
      daemon('log_destination = file', 'umask = 8', 'nope = 1', 'umask = 022', 'rate'),
      [
        [2, 'ERR_SETTINGS_VALUE'],
        [3, 'ERR_SETTINGS_VALUE'],
        [4, 'ERR_SETTINGS_KEY'],
        [5, 'ERR_SETTINGS_DUPLICATE'],
        [6, 'ERR_SETTINGS_SYNTAX'],
      ],
    ],
  ];
  it.each(bad)('rejects %s', (_name, text, expected) => {
    expect(problems(text)).toEqual(expected);
  });

  it('keeps the good values of a file with errors, and none of the bad ones', () => {
    const { settings } = parseSettings(daemon('rate = 7', 'umask = 999', 'log_level = warn', 'log_level = info'), FILE);
    expect(settings.daemon).toEqual({ rate: 7, log_level: 'warn' });
  });

  it('reads every value as ini does', () => {
    const text = daemon('pidfile = "/run/x;y.pid"', 'log_file = /var/log/n\\#1.log ; comment', "syslog_socket = '@log'", 'log_level=debug');
    const { settings, errors } = parseSettings(text, FILE);
    expect(errors).toEqual([]);
    expect(settings.daemon).toEqual(ini.decode(text).daemon);
  });

  it('formats errors as file:line: message, naming section and key', () => {
    const { errors } = parseSettings('# settings\n[daemon]\numask = 999\n[services:echo/tcp]\nrate = 5\n', FILE);
    expect(errors.map(formatConfigError)).toEqual([
      'etc/ninetd.ini:3: [daemon] umask: "999" is not an octal mode (expected e.g. 022)',
      'etc/ninetd.ini:4: unknown section "[services:echo/tcp]" (expected [daemon] or [service:NAME/PROTO])',
    ]);
  });

  it('reads access keys of a service section', () => {
    const { settings, errors } = parseSettings('[service:echo/tcp]\nonly_from = 127.0.0.0/8, [::1]\nno_access = 127.0.0.2\ninstances = 4\nper_source = 2\ncps = 30\nbanner = /etc/motd\nbanner_fail = /etc/go-away\n', FILE);
    expect(errors).toEqual([]);
    const echo = settings.services.get('echo/tcp')!;
    expect(echo.only_from?.map((p) => p.text)).toEqual(['127.0.0.0/8', '[::1]']);
    expect(echo).toMatchObject({ instances: 4, per_source: 2, cps: 30, banner: '/etc/motd', banner_fail: '/etc/go-away' });
  });

  it('reads the xinetd-derived service keys', () => {
    const { settings, errors } = parseSettings(
      '[service:echo/tcp]\naccess_times = 8:00-18:30 20:00-24:00\nbanner_success = /etc/ok\ngroups = no\nkeepalive = yes\ntcp_nodelay = on\nlog_on_success = PID HOST DURATION\nlog_on_failure = none\nrate = 50\nrate_window = 1\nrate_suspend = 10\nrlimit_data = 64M\nrlimit_rss = unlimited\nrlimit_stack = 8M\n',
      FILE,
    );
    expect(errors).toEqual([]);
    expect(settings.services.get('echo/tcp')).toMatchObject({
      access_times: [[480, 1110], [1200, 1440]],
      banner_success: '/etc/ok',
      groups: false,
      keepalive: true,
      tcp_nodelay: true,
      log_on_success: ['PID', 'HOST', 'DURATION'],
      log_on_failure: [],
      rate: 50,
      rate_window: 1,
      rate_suspend: 10,
      rlimit_data: 64 << 20,
      rlimit_rss: -1,
      rlimit_stack: 8 << 20,
    });
  });

  it('reads each [service:NAME/PROTO] section by NAME/PROTO, with its line and the line of each key', () => {
    const { settings, errors } = parseSettings(`${daemon('umask = 022')}[service:echo/tcp]\nnice = 5\n[service:/run/x.sock/unix]\ncwd = /tmp\n`, FILE);
    expect(errors).toEqual([]);
    expect(settings.services).toEqual(
      new Map([
        ['echo/tcp', { nice: 5, line: 3, keyLines: { nice: 4 } }],
        ['/run/x.sock/unix', { cwd: '/tmp', line: 5, keyLines: { cwd: 6 } }],
      ]),
    );
  });
});

describe('the shipped etc/ninetd.ini', () => {
  const text = readFileSync(path.join(ROOT, 'etc', 'ninetd.ini'), 'utf8');

  it('parses with no error and sets only an empty pidfile', () => {
    expect(parseSettings(text, 'etc/ninetd.ini')).toEqual({ settings: { daemon: { pidfile: '' }, services: new Map() }, errors: [] });
  });

  it('shows every [daemon] key commented out, each with a valid value', () => {
    // Keep the comments, drop what is set, and turn `; key = value` lines back on.
    const shown = text
      .split('\n')
      .filter((line) => !/^\w+\s*=/.test(line))
      .map((line) => line.replace(/^;\s*(\w+\s*=)/, '$1'))
      .join('\n');
    const { settings, errors } = parseSettings(shown, 'etc/ninetd.ini');
    expect(errors).toEqual([]);
    expect(Object.keys(settings.daemon).sort()).toEqual(DAEMON_KEYS);
  });
});

describe('loadSettings', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ninetd-settings-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads and parses a file', async () => {
    const file = path.join(dir, 'ninetd.ini');
    writeFileSync(file, daemon('log_level = trace', 'umask = 077', 'rate = x'));
    expect(await loadSettings(file)).toEqual({
      settings: { daemon: { log_level: 'trace', umask: 0o77 }, services: new Map() },
      errors: [{ file, line: 4, code: 'ERR_SETTINGS_VALUE', message: expect.any(String) }],
      warnings: [],
    });
  });

  it('reports a missing file as ERR_SETTINGS_READ on line 0', async () => {
    const file = path.join(dir, 'nope.ini');
    expect(await loadSettings(file)).toEqual({
      settings: { daemon: {}, services: new Map() },
      errors: [{ file, line: 0, code: 'ERR_SETTINGS_READ', message: expect.any(String) }],
      warnings: [],
    });
  });

  it('reports a directory as ERR_SETTINGS_READ on line 0', async () => {
    const { errors } = await loadSettings(dir);
    expect(errors.map((e) => [e.line, e.code])).toEqual([[0, 'ERR_SETTINGS_READ']]);
  });
});

describe('the PROXY protocol keys of a service section', () => {
  const section = (...lines: string[]): string => ['[service:echo/tcp]', ...lines, ''].join('\n');

  it('reads proxy_protocol, proxy_from and proxy_direct', () => {
    const { settings, errors } = parseSettings(section('proxy_protocol = v2', 'proxy_from = 10.0.0.0/8 [::1]', 'proxy_direct = yes'), FILE);
    expect(errors).toEqual([]);
    const s = settings.services.get('echo/tcp')!;
    expect(s.proxy_protocol).toBe('v2');
    expect(s.proxy_from?.map((p) => p.text)).toEqual(['10.0.0.0/8', '[::1]']);
    expect(s.proxy_direct).toBe(true);
    expect(s.keyLines).toEqual({ proxy_protocol: 2, proxy_from: 3, proxy_direct: 4 });
  });

  it.each(['v1', 'v2', 'any'])('accepts proxy_protocol = %s with proxy_from', (v) => {
    expect(problems(section(`proxy_protocol = ${v}`, 'proxy_from = 127.0.0.1'))).toEqual([]);
  });

  it('accepts proxy_protocol = off alone, and keys kept beside it', () => {
    expect(problems(section('proxy_protocol = off'))).toEqual([]);
    expect(problems(section('proxy_protocol = off', 'proxy_from = 127.0.0.1', 'proxy_direct = no'))).toEqual([]);
  });

  it.each<[string, string, [number, string][]]>([
    ['an unknown version', section('proxy_protocol = v3', 'proxy_from = 127.0.0.1'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a version in capitals', section('proxy_protocol = V2', 'proxy_from = 127.0.0.1'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['proxy_protocol without proxy_from, on its own line', section('nice = 1', 'proxy_protocol = any'), [[3, 'ERR_SETTINGS_VALUE']]],
    ['proxy_from without proxy_protocol', section('proxy_from = 127.0.0.1'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['proxy_direct without proxy_protocol', section('proxy_direct = yes'), [[2, 'ERR_SETTINGS_VALUE']]],
    ['a host name in proxy_from', section('proxy_protocol = v1', 'proxy_from = lb.example.org'), [[3, 'ERR_SETTINGS_VALUE']]],
    ['an empty proxy_from', section('proxy_protocol = v1', 'proxy_from ='), [[3, 'ERR_SETTINGS_VALUE']]],
    ['proxy_direct that is no boolean', section('proxy_protocol = v1', 'proxy_from = 127.0.0.1', 'proxy_direct = sometimes'), [[4, 'ERR_SETTINGS_VALUE']]],
    ['proxy_protocol in [daemon]', daemon('proxy_protocol = v2'), [[2, 'ERR_SETTINGS_KEY']]],
  ])('rejects %s', (_what, text, expected) => {
    expect(problems(text)).toEqual(expected);
  });
});
