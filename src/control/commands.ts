// The operator's commands against a running daemon, found through its control socket:
// `ninetd status [SERVICE…] [--json]`, `ninetd reload`, and the dry run behind
// `ninetd --check --diff [config]`. Each asks one question, prints the answer and returns the
// exit status (cli.ts exits with it). It serves nothing; the daemon answers (daemon.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { formatOutcome, type Outcome } from './changes.js';
import { ask, ControlClientError } from './client.js';
import { controlSocketPath } from './path.js';
import type { Reply, Request } from './protocol.js';
import type { DaemonSnapshot } from './snapshot.js';
import { formatStatus, pickServices } from './status.js';

/** The subcommands, with what they do (for --help). Sorted. */
export const CONTROL_COMMANDS = {
  reload: 'ask the running ninetd to reload its configuration, and print what changed',
  status: 'print the state and counters of the running ninetd and its services',
} as const;

/** Options of the daemon's own command line that belong to the console. */
export const CONTROL_OPTIONS = {
  'control-socket': {
    type: 'string',
    describe: 'control socket for `ninetd status` and `ninetd reload`; "" for none [default: the pid file with .sock, /run/ninetd.sock]',
  },
  diff: { type: 'boolean', describe: 'with --check: print what a reload of the file would change in the running ninetd, changing nothing' },
} as const;

/** sysexits(3) codes of these commands. */
const EXIT = { ok: 0, usage: 64, unavailable: 69, config: 78 } as const;

/** Settings file read when --settings names none, if it exists (as the daemon does). */
const DEFAULT_SETTINGS = '/etc/ninetd.ini';
/** Seconds to wait for an answer, unless --timeout says otherwise. */
const DEFAULT_TIMEOUT_S = 60;

/** Whether `argv` runs a console subcommand rather than the daemon. */
export function isControlCommand(argv: readonly string[]): boolean {
  return argv[0] !== undefined && Object.hasOwn(CONTROL_COMMANDS, argv[0]);
}

/** Where the daemon's control socket is, as the daemon itself would resolve it from the same flags and settings. */
export async function findControlSocket(flags: { controlSocket?: string; pidfile?: string; settings?: string }): Promise<string | null> {
  const file = flags.settings ?? (existsSync(DEFAULT_SETTINGS) ? DEFAULT_SETTINGS : null);
  // Only two keys are needed; a settings file with errors elsewhere still gives them.
  const { loadSettings } = await import('../config/settings.js');
  const daemon = file ? (await loadSettings(path.resolve(file))).settings.daemon : {};
  return controlSocketPath(flags.controlSocket, daemon.control_socket, flags.pidfile ?? daemon.pidfile ?? '/run/ninetd.pid');
}

/** Asks and returns the reply, or prints why it could not and returns the exit status. */
async function request(socket: string | null, req: Request, timeoutS: number): Promise<Reply | number> {
  if (!socket) {
    process.stderr.write('ninetd: no control socket (control_socket is empty, or there is no pid file to find it by): cannot reach the daemon\n');
    return EXIT.unavailable;
  }
  let reply: Reply;
  try {
    reply = await ask(socket, req, timeoutS * 1000);
  } catch (err) {
    if (err instanceof ControlClientError) {
      process.stderr.write(`ninetd: ${err.message}\n`);
      return EXIT.unavailable;
    }
    throw err;
  }
  if (!reply.ok) {
    process.stderr.write(`ninetd: ${socket}: ${reply.error.message} (${reply.error.code})\n`);
    return EXIT.unavailable;
  }
  return reply;
}

/** Prints an outcome (changes, or errors) and returns 0 or 78. */
function printOutcome(o: Outcome, dryRun: boolean, json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify(o, null, 2)}\n`);
  else (o.accepted ? process.stdout : process.stderr).write(formatOutcome(o, dryRun));
  return o.accepted ? EXIT.ok : EXIT.config;
}

/** `ninetd --check --diff [config]`: what a reload of `config` (default: the daemon's own file) would change. */
export async function checkDiff(socket: string | null, config: string | undefined): Promise<number> {
  const reply = await request(socket, config ? { cmd: 'diff', config: path.resolve(config) } : { cmd: 'diff' }, DEFAULT_TIMEOUT_S);
  if (typeof reply === 'number') return reply;
  return printOutcome((reply as { diff: Outcome }).diff, true, false);
}

// yargs is loaded by the command that runs (runControlCommand): cli.ts imports this file on every start.
function parseCommand(yargs: typeof import('yargs').default, argv: string[]) {
  return yargs(argv)
    .scriptName('ninetd')
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .command('status [services..]', CONTROL_COMMANDS.status, (y) =>
      y.positional('services', { type: 'string', array: true, describe: 'only these services (NAME or NAME/PROTO)' }).option('json', { type: 'boolean', describe: 'print the snapshot as JSON' }),
    )
    .command('reload', CONTROL_COMMANDS.reload, (y) => y.option('json', { type: 'boolean', describe: 'print the result as JSON' }))
    .option('control-socket', { type: 'string', requiresArg: true, describe: CONTROL_OPTIONS['control-socket'].describe })
    .option('pidfile', { alias: 'p', type: 'string', describe: 'the daemon\'s pid file, to find its control socket by [default: /run/ninetd.pid]' })
    .option('settings', { type: 'string', requiresArg: true, describe: `the daemon's settings file [default: ${DEFAULT_SETTINGS} if it exists]` })
    .option('timeout', { type: 'number', requiresArg: true, describe: `seconds to wait for the answer [default: ${DEFAULT_TIMEOUT_S}]` })
    .check((a) => {
      if (a.timeout !== undefined && !(a.timeout > 0)) throw new Error('--timeout must be more than 0');
      return true;
    })
    .strict()
    .help()
    .alias('help', 'h')
    .version(false)
    .wrap(100)
    .exitProcess(false)
    .fail((msg, err) => {
      throw new Error(msg || err?.message || 'bad usage');
    })
    .parseSync();
}

/** Runs `ninetd status …` or `ninetd reload …`; resolves to the exit status. */
export async function runControlCommand(argv: string[]): Promise<number> {
  const { default: yargs } = await import('yargs');
  let args: ReturnType<typeof parseCommand>;
  try {
    args = parseCommand(yargs, argv);
  } catch (err) {
    process.stderr.write(`ninetd: ${(err as Error).message}\nTry 'ninetd ${argv[0]} --help'.\n`);
    return EXIT.usage;
  }
  if (args.help) return EXIT.ok;
  const socket = await findControlSocket({ controlSocket: args['control-socket'], pidfile: args.pidfile, settings: args.settings });
  const timeout = args.timeout ?? DEFAULT_TIMEOUT_S;
  const json = Boolean(args.json);
  if (args._[0] === 'reload') {
    const reply = await request(socket, { cmd: 'reload' }, timeout);
    if (typeof reply === 'number') return reply;
    return printOutcome((reply as { reload: Outcome }).reload, false, json);
  }
  const reply = await request(socket, { cmd: 'status' }, timeout);
  if (typeof reply === 'number') return reply;
  const snap = (reply as { status: DaemonSnapshot }).status;
  const names = (args.services as string[] | undefined) ?? [];
  const { picked, unknown } = pickServices(snap.services, names);
  if (unknown.length > 0) {
    process.stderr.write(`ninetd: no service named ${unknown.map((n) => `"${n}"`).join(', ')} (see \`ninetd status\` for every service)\n`);
    return EXIT.usage;
  }
  const shown = { ...snap, services: picked };
  process.stdout.write(json ? `${JSON.stringify(shown, null, 2)}\n` : formatStatus(shown));
  return EXIT.ok;
}
