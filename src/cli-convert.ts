// `ninetd convert`: prints the inetd.conf lines and `[service:…]` sections equivalent to an
// xinetd.conf tree, or the xinetd.conf file equivalent to an inetd.conf file and its settings.
// Reads, converts, prints; returns the exit code (cli.ts exits). Configuration errors are
// printed as `file:line: message` and nothing is converted (exit 78).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { keyEntries } from './config/diff.js';
import { resolveLimitDefaults, resolveServices } from './config/resolve.js';
import { loadSettings } from './config/settings.js';
import { loadSource } from './config/source.js';
import { formatConfigError, type ConfigError } from './config/types.js';
import { toInetd, toXinetd } from './config/xinetd/convert.js';

/** Runs `ninetd convert` with the arguments after `convert`. */
export async function runConvert(argv: string[]): Promise<number> {
  let args;
  try {
    args = yargs(argv)
      .scriptName('ninetd convert')
      .usage('$0 [options] FILE\n\nPrint FILE in the other format: an xinetd.conf tree as inetd.conf lines and [service:] sections, or an inetd.conf file (with --settings) as xinetd.conf.')
      .option('services', { type: 'string', requiresArg: true, describe: 'services database [default: /etc/services]' })
      .option('settings', { type: 'string', requiresArg: true, describe: 'inetd.conf to xinetd: the settings file whose [service:] sections go with it' })
      .option('settings-out', { type: 'string', requiresArg: true, describe: 'xinetd to inetd.conf: write the [service:] sections to this file instead of after the lines' })
      .strict()
      .demandCommand(1, 1, 'name the file to convert', 'convert one file at a time')
      .exitProcess(false)
      .fail((msg, err) => {
        throw new Error(msg || err?.message || 'bad usage');
      })
      .help()
      .parseSync();
  } catch (err) {
    process.stderr.write(`ninetd convert: ${(err as Error).message}\n`);
    return 64;
  }
  if (args.help) return 0;
  const file = path.resolve(String(args._[0]));
  const servicesFile = path.resolve(args.services ?? '/etc/services');
  const src = await loadSource(file, { servicesFile });
  const { byKey, errors } = keyEntries(src.entries);
  const fail = (all: ConfigError[]): number => {
    for (const e of all) process.stderr.write(`${formatConfigError(e)}\n`);
    return 78;
  };
  if (src.errors.length + errors.length > 0) return fail([...src.errors, ...errors]);
  for (const w of src.warnings) process.stderr.write(`${w.file}:${w.line}: warning: ${w.message}\n`);
  if (src.xinetd) {
    const { inetd, ini } = toInetd(src.xinetd.lowered, file);
    if (args['settings-out']) {
      writeFileSync(args['settings-out'], ini);
      process.stdout.write(inetd);
    } else {
      process.stdout.write(`${inetd}\n${ini}`);
    }
    return 0;
  }
  const settings = args.settings ? await loadSettings(path.resolve(args.settings)) : null;
  if (settings && settings.errors.length > 0) return fail(settings.errors);
  const daemon = settings?.settings.daemon ?? {};
  const plans = resolveServices(byKey.values(), settings?.settings.services ?? new Map(), resolveLimitDefaults({}, daemon), daemon);
  process.stdout.write(toXinetd(plans, file));
  return 0;
}
