// The daemon's command line as yargs reads it: its options and their checks, in a process of
// its own. cli.ts starts `node dist/cli-args.js ARGS…` with a pipe on fd 3 and never loads yargs
// itself: an ES module stays loaded for the life of the process, and yargs with what it loads
// (cliui, three copies of string-width with an Intl.Segmenter each, y18n) would keep about
// 5 MiB resident in the daemon for a parse done once. This program prints --help, --version and
// usage errors itself and exits 0 or 64, or writes the options as JSON to fd 3 and exits 0. It
// does not merge settings or decide anything (cli-run.ts does).
import { writeSync } from 'node:fs';
import { isIP } from 'node:net';
import yargs from 'yargs';
import { CONFIG_FORMATS } from './config/source.js';
import { CONTROL_COMMANDS, CONTROL_OPTIONS } from './control/commands.js';
import { ninetdVersion } from './control/snapshot.js';
import { EXIT } from './exit.js';
import { LOG_LEVELS } from './log/levels.js';

/** Settings file read when --settings is not given, if it exists (for --help; cli-run.ts reads it). */
const DEFAULT_SETTINGS = '/etc/ninetd.ini';
/** The fd the options are written to, as one JSON text. */
const OPTIONS_FD = 3;

/** Whole-number options, validated alike: each with its short flag ('' for none) and least value. Sorted. */
const COUNTS = {
  backlog: { short: 'q', min: 1 },
  'max-children': { short: 'c', min: 0 },
  'per-source': { short: 's', min: 0 },
  'per-source-rate': { short: 'C', min: 0 },
  rate: { short: 'R', min: 0 },
  'retry-time': { short: '', min: 1 },
} as const;

/** The text given last on the command line for `--name` or `-short` (yargs keeps only the number). */
function rawValue(argv: string[], name: string, short: string): string | undefined {
  let value: string | undefined;
  for (const [i, a] of argv.entries()) {
    if (a === '--') break;
    if (a === `--${name}` || (short && a === `-${short}`)) value = argv[i + 1];
    else if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3);
    else if (short && a.startsWith(`-${short}`) && !a.startsWith('--')) value = a.slice(2);
  }
  return value;
}

/** An address for -a: an IP literal (brackets allowed for IPv6) or `*`; null if it is not one. */
function bindAddress(text: string): string | null {
  const bare = /^\[(.*)\]$/.exec(text)?.[1] ?? text;
  return bare === '*' || isIP(bare) !== 0 ? bare : null;
}

function parseArgs(argv: string[]) {
  // No yargs defaults: an option left out must not override the settings file.
  return yargs(argv)
    .scriptName('ninetd')
    // A repeated option takes its last value, as getopt-based daemons do.
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .usage(
      `$0 [options] [config]\n$0 convert [options] config\n\nServe the services of an inetd.conf file (default /etc/inetd.conf) or of an xinetd.conf tree.\n\n` +
        [...Object.entries(CONTROL_COMMANDS).map(([cmd, what]) => `$0 ${cmd} --help: ${what}`), '$0 convert --help: convert between inetd.conf and xinetd.conf'].join('\n'),
    )
    .option('foreground', { alias: ['d', 'i'], type: 'boolean', describe: 'stay in the foreground and log to stderr [default: detach]' })
    .option('check', { type: 'boolean', describe: 'check the configuration and settings, print every error, and exit' })
    .option('log-connections', { alias: 'l', type: 'boolean', describe: 'log one record per connection' })
    .option('log-level', { choices: LOG_LEVELS, describe: 'least severe level logged [default: info]' })
    .option('log-file', { type: 'string', requiresArg: true, describe: 'log to this file (reopened on SIGUSR1)' })
    .option('format', { choices: CONFIG_FORMATS, describe: 'format of the config file: inetd.conf, an xinetd.conf tree, or told apart by its syntax [default: auto]' })
    .option('services', { type: 'string', requiresArg: true, describe: 'services database for names in the config [default: /etc/services]' })
    .option('rpc', { type: 'string', requiresArg: true, describe: 'rpc program database for names in rpc entries [default: /etc/rpc]' })
    .option('settings', { type: 'string', requiresArg: true, describe: `settings file [default: ${DEFAULT_SETTINGS} if it exists]` })
    .option('pidfile', { alias: 'p', type: 'string', describe: 'pid file, locked while ninetd runs; "" for none [default: /run/ninetd.pid]' })
    .option('rate', { alias: 'R', type: 'number', requiresArg: true, describe: 'spawns per minute per service before it is suspended, 0 for no limit [default: 256]' })
    .option('max-children', { alias: 'c', type: 'number', requiresArg: true, describe: 'children per service when the entry sets none, 0 for no limit [default: 0]' })
    .option('per-source', { alias: 's', type: 'number', requiresArg: true, describe: 'handlers at once per client address when the service sets none, 0 for no limit [default: 0]' })
    .option('per-source-rate', { alias: 'C', type: 'number', requiresArg: true, describe: 'connections per minute per client address when the service sets none, 0 for no limit [default: 0]' })
    .option('tcp-wrappers', { alias: ['w', 'W'], type: 'boolean', describe: 'check hosts.allow and hosts.deny before serving a client, internal services included' })
    .option('retry-time', { type: 'number', requiresArg: true, describe: 'seconds a suspended service waits, and between bind retries [default: 600]' })
    .option('backlog', { alias: 'q', type: 'number', requiresArg: true, describe: 'listen queue length of stream and seqpacket sockets [default: 1024]' })
    .option('bind-address', { alias: 'a', type: 'string', requiresArg: true, describe: 'address for entries without a host: prefix [default: *]' })
    .option('keep-env', { alias: 'E', type: 'boolean', describe: "FreeBSD inetd's -E, accepted: handlers never inherit ninetd's environment here (see passenv)" })
    // The console: the control socket, and --check --diff against the running daemon.
    .options(CONTROL_OPTIONS)
    .check((args) => {
      for (const [name, { short, min }] of Object.entries(COUNTS)) {
        const v = args[name] as number | undefined;
        if (v === undefined) continue;
        const given = rawValue(argv, name, short) ?? String(v);
        const flag = `--${name}${short ? ` (-${short})` : ''}`;
        // yargs reads '' as 0 and 'abc' as NaN.
        if (Number.isNaN(v) || given.trim() === '') throw new Error(`${flag}: "${given}" is not a number`);
        if (!Number.isInteger(v) || v < min) throw new Error(`${flag}: "${given}" is not a whole number of ${min} or more`);
      }
      const a = args['bind-address'];
      if (a !== undefined && bindAddress(a) === null) throw new Error(`--bind-address (-a): "${a}" is not an IP address or * (host names are not resolved)`);
      if (args._.length > 1) throw new Error(`only one config file may be given (got ${args._.length})`);
      if (args.diff && !args.check) throw new Error('--diff needs --check');
      return true;
    })
    .strictOptions()
    .version(ninetdVersion())
    .help()
    .alias('help', 'h')
    .alias('version', 'V')
    .wrap(100)
    .exitProcess(false)
    .fail((msg, err) => {
      throw new UsageError(msg || err?.message || 'bad usage');
    })
    .parseSync();
}

class UsageError extends Error {}

/** The daemon's options as yargs parsed them, `bind-address` without brackets, as cli-run.ts receives them. */
export type Args = ReturnType<typeof parseArgs>;

/** Parses argv; prints help, the version or a usage error, or writes the options to fd 3. */
function main(argv: string[]): number {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`ninetd: ${(err as Error).message}\nTry 'ninetd --help'.\n`);
    return EXIT.usage;
  }
  if (args.help || args.version) return EXIT.ok;
  const a = args['bind-address'];
  writeSync(OPTIONS_FD, JSON.stringify(a === undefined ? args : { ...args, 'bind-address': bindAddress(a) }));
  return EXIT.ok;
}

process.exitCode = main(process.argv.slice(2));
