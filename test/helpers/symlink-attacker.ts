// A local attacker for socket-file races: a process running as `nobody` that renames fresh
// symlinks to a victim file over a path, as fast as it can, until told to stop (or a bounded
// number of rounds, or 30 s). Needs root (to drop to nobody with setpriv).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as native from '../../src/native/index.js';

/** A running attacker. */
export interface SymlinkAttacker {
  /** Stops it and resolves with the number of renames it made. */
  stop(): Promise<number>;
  /** Ends it at once (cleanup). */
  kill(): void;
}

const SCRIPT = `
  const fs = require('node:fs');
  const [path, victim] = process.argv.slice(1);
  let stop = false, renames = 0;
  process.stdin.on('data', () => { stop = true; });
  process.stdin.resume();
  const tmp = path + '.' + process.pid;
  const round = () => {
    for (let i = 0; i < 2000 && !stop; i++) {
      try { fs.symlinkSync(victim, tmp); fs.renameSync(tmp, path); renames++; } catch {}
    }
    if (stop || renames >= 5000000) { console.log(String(renames)); process.exit(0); }
    setImmediate(round);
  };
  console.error('ready');
  round();
`;

/** Starts renaming symlinks to `victim` over `path`; resolves once it runs. */
export async function startSymlinkAttacker(path: string, victim: string): Promise<SymlinkAttacker> {
  const nobody = native.getpwnam('nobody')!;
  const asNobody = [`--reuid=${nobody.uid}`, `--regid=${nobody.gid}`, '--clear-groups'];
  const proc = spawn('/usr/bin/setpriv', [...asNobody, process.execPath, '-e', SCRIPT, path, victim], { stdio: ['pipe', 'pipe', 'pipe'] });
  const killer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  await once(proc.stderr, 'data'); // 'ready'
  return {
    async stop() {
      proc.stdin.end('stop\n');
      if (proc.exitCode === null) await once(proc, 'close');
      clearTimeout(killer);
      return Number(out.trim());
    },
    kill() {
      clearTimeout(killer);
      proc.kill('SIGKILL');
    },
  };
}
