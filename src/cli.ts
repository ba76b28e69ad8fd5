#!/usr/bin/env -S node --max-semi-space-size=1 --no-turbofan --no-sparkplug --expose-gc
// Command line → command → exit code. The only place that calls process.exit. `ninetd convert`
// and the console commands (`status`, `reload`) are short-lived and load yargs here. The daemon's
// own command line is read by yargs in a process of its own (cli-args.ts), so that the daemon
// never loads yargs (an ES module is never unloaded), while the modules that check or serve
// (cli-run.ts) load here. Those are imported only once that process is started: the sooner it
// starts, the less start-up waits for it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Args } from './cli-args.js';
import { EXIT } from './exit.js';

/**
 * Reads the command line in a process of its own (cli-args.ts), which prints --help, --version
 * and usage errors itself: resolves to the options, or to the exit code when there are none.
 */
async function readArgs(argv: string[]): Promise<Args | number> {
  const script = fileURLToPath(new URL('./cli-args.js', import.meta.url));
  const child = spawn(process.execPath, [script, ...argv], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdio[3]!.on('data', (chunk: Buffer) => chunks.push(chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== EXIT.ok) return code ?? EXIT.software;
  return chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Args) : EXIT.ok;
}

/** Runs ninetd with `argv` (without node and script); resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  // `ninetd convert …`: a command of its own, with its own options (cli-convert.ts).
  if (argv[0] === 'convert') return (await import('./cli-convert.js')).runConvert(argv.slice(1));
  const commands = await import('./control/commands.js');
  if (commands.isControlCommand(argv)) return commands.runControlCommand(argv);
  const parsed = readArgs(argv);
  const running = import('./cli-run.js');
  // Both are awaited: a failure of either is the run's.
  const [args, { runParsed }] = await Promise.all([parsed, running]);
  if (typeof args === 'number') return args;
  return runParsed(args, argv);
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A missing addon is an installation fault, not a bug: one line naming the file and the fix.
    if ((err as { code?: unknown })?.code === 'ERR_NATIVE_MISSING') {
      process.stderr.write(`ninetd: ${(err as Error).message}\n`);
      process.exit(EXIT.oserr);
    }
    process.stderr.write(`ninetd: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(EXIT.software);
  },
);
