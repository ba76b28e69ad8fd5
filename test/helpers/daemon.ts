// Starts the real built ninetd (dist/cli.js) as a child process and reads its JSON log, so tests
// can wait on events ("listening", "looping") instead of sleeping.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** Repository root. */
export const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** The built command line entry point. */
export const CLI = path.join(ROOT, 'dist', 'cli.js');
/** Compiled C fixture handlers and a copy of the addon, readable by every user (test/global-setup.ts). */
export const FIXTURE_BIN = (() => {
  const bin = process.env.NINETD_TEST_BIN;
  if (!bin) throw new Error('NINETD_TEST_BIN is not set: run the tests through vitest (test/global-setup.ts)');
  return bin;
})();
/** Shell fixture handlers. */
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'handlers');

/** One JSON log record. */
export type LogRecord = Record<string, unknown> & { msg?: string; level?: number };

/** A services file naming nothing; entries in test configs use numeric ports (0 = ephemeral). */
const EMPTY_SERVICES = '# test services database\n';

/** A running daemon under test. */
export interface RunningDaemon {
  proc: ChildProcess;
  pid: number;
  dir: string;
  config: string;
  records: LogRecord[];
  /** Port the daemon bound for the entry on `line` of the config (first listening record there). */
  port(name: string): number;
  /** Resolves with the first record (past or future) that matches. */
  waitFor(match: (r: LogRecord) => boolean, what?: string, ms?: number): Promise<LogRecord>;
  /** Rewrites the config file. */
  writeConfig(text: string): void;
  /** Sends SIGTERM and waits for the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Options for startDaemon. */
export interface StartOptions {
  args?: string[];
  services?: string;
  /** Do not wait for "started" (for tests of failing starts). */
  noWait?: boolean;
  /** Start under `ulimit -n` of this many fds. */
  fdLimit?: number;
  /** Extra environment for the daemon. */
  env?: Record<string, string>;
  /** A command prefix to run the daemon through, such as nsenter into a test's namespaces. */
  wrap?: string[];
}

/** Writes `config` to a temp dir and starts `ninetd -d` on it, waiting until it has started. */
export async function startDaemon(config: string, opts: StartOptions = {}): Promise<RunningDaemon> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-test-'));
  const configPath = path.join(dir, 'inetd.conf');
  const servicesPath = path.join(dir, 'services');
  writeFileSync(configPath, config);
  writeFileSync(servicesPath, opts.services ?? EMPTY_SERVICES);
  const env = { ...process.env, ...opts.env };
  const argv = [CLI, '-d', '--log-level', 'debug', '-p', path.join(dir, 'ninetd.pid'), '--services', servicesPath, ...(opts.args ?? []), configPath];
  const proc = opts.fdLimit
    ? spawn('/bin/sh', ['-c', `ulimit -n ${opts.fdLimit} && exec "$0" "$@"`, process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env })
    : opts.wrap
      ? spawn(opts.wrap[0]!, [...opts.wrap.slice(1), process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env })
      : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const records: LogRecord[] = [];
  const waiters: Array<{ match: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }> = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    let rec: LogRecord;
    try {
      rec = JSON.parse(line) as LogRecord;
    } catch {
      rec = { msg: line, raw: true };
    }
    records.push(rec);
    for (const w of [...waiters]) {
      if (w.match(rec)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(rec);
      }
    }
  });
  proc.stdout!.resume();
  const waitFor = (match: (r: LogRecord) => boolean, what = 'log record', ms = 10_000): Promise<LogRecord> => {
    const seen = records.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; log:\n${records.map((r) => JSON.stringify(r)).join('\n')}`)), ms);
      const w = { match, resolve: (r: LogRecord) => (clearTimeout(timer), resolve(r)) };
      waiters.push(w);
      void exited.then(() => {
        // Let the last lines arrive before giving up on a daemon that exited.
        setImmediate(() => {
          if (waiters.includes(w)) {
            clearTimeout(timer);
            reject(new Error(`daemon exited before ${what}; log:\n${records.map((r) => JSON.stringify(r)).join('\n')}`));
          }
        });
      });
    });
  };
  const d: RunningDaemon = {
    proc,
    pid: proc.pid!,
    dir,
    config: configPath,
    records,
    exited,
    port(name: string): number {
      const rec = records.find((r) => r.msg === 'listening' && r.service === name);
      if (!rec) throw new Error(`no listening record for ${name}`);
      return rec.port as number;
    },
    waitFor,
    writeConfig(text: string) {
      writeFileSync(configPath, text);
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
  if (!opts.noWait) await waitFor((r) => r.msg === 'started', '"started"');
  return d;
}
