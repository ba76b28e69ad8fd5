// A private network and mount namespace for tests of real RPC programs: its own loopback
// interface and an empty tmpfs over /run, so the rpcbind a test starts binds port 111 and
// /run/rpcbind.sock without touching (or meeting) the machine's. Commands run inside with
// nsenter; the test process reaches the namespace's files through /proc/PID/root.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { until } from '../helpers/wait.js';

/** Programs the sandbox itself needs (util-linux, iproute2). */
const TOOLS = ['unshare', 'nsenter', 'ip', 'mount'] as const;

/** The first of `programs` that is not on the PATH, or null when all are. */
export function missingProgram(programs: readonly string[]): string | null {
  for (const p of programs) {
    try {
      execFileSync('sh', ['-c', `command -v "$0"`, p], { stdio: 'ignore' });
    } catch {
      return p;
    }
  }
  return null;
}

/** Why sandboxed tests cannot run here, or null when they can. */
export function sandboxSkipReason(programs: readonly string[] = []): string | null {
  if (process.getuid?.() !== 0) return 'needs root to create network and mount namespaces';
  const missing = missingProgram([...TOOLS, ...programs]);
  if (missing) return `needs ${missing} (see .ci/run)`;
  try {
    execFileSync('unshare', ['--net', '--mount', '--', 'true'], { stdio: 'ignore' });
  } catch {
    return 'cannot create network and mount namespaces here (unshare --net --mount failed)';
  }
  return null;
}

/** Output of a command run to its end. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running namespace. */
export class Sandbox {
  private readonly started: ChildProcess[] = [];

  private constructor(
    private readonly holder: ChildProcess,
    /** Pid of a process inside the namespaces, for nsenter and /proc/PID/root. */
    readonly pid: number,
  ) {}

  /** Creates the namespaces: loopback up, /run an empty tmpfs. */
  static async open(): Promise<Sandbox> {
    // --kill-child ends the namespace's process when unshare is killed; the sleep bounds its life
    // should the test process die without closing it.
    const script = 'ip link set lo up && mount -t tmpfs -o mode=0755 tmpfs /run && echo "$$" && exec sleep 3600';
    // Its stderr is kept for the error below: util-linux's unshare also prints "sigprocmask
    // unblock failed" when close() kills its child, which says nothing about the test.
    const holder = spawn('unshare', ['--net', '--mount', '--fork', '--kill-child', '--', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    holder.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const pid = await new Promise<number>((resolve, reject) => {
      createInterface({ input: holder.stdout! }).once('line', (line) => resolve(Number(line)));
      holder.once('exit', (code) => reject(new Error(`unshare exited with ${code} before the namespace was ready: ${stderr.trim()}`)));
    });
    return new Sandbox(holder, pid);
  }

  /** `p` inside the namespace's file system, as the test process reaches it. */
  path(p: string): string {
    return path.join(`/proc/${this.pid}/root`, p);
  }

  /** The argv prefix that runs a command inside the namespace. */
  prefix(): string[] {
    // No --pid: nsenter then execs the command itself, so its pid is the command's.
    return ['nsenter', '-t', String(this.pid), '-n', '-m', '--'];
  }

  /** argv that runs `cmd` inside the namespace. */
  wrap(cmd: string, args: readonly string[] = []): string[] {
    return [...this.prefix(), cmd, ...args];
  }

  /** Starts a long-running command inside; it is killed by close(). */
  start(cmd: string, args: readonly string[] = []): ChildProcess {
    const [nsenter, ...rest] = this.wrap(cmd, args);
    const child = spawn(nsenter!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.resume();
    child.stderr!.resume();
    this.started.push(child);
    return child;
  }

  /** Runs a command inside to its end (bounded by `ms`). */
  run(cmd: string, args: readonly string[] = [], ms = 20_000): Promise<RunResult> {
    const [nsenter, ...rest] = this.wrap(cmd, args);
    return new Promise((resolve, reject) => {
      const child = spawn(nsenter!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${cmd} ${args.join(' ')}: no end in ${ms} ms; stdout: ${stdout} stderr: ${stderr}`));
      }, ms);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Starts rpcbind in the foreground and waits until it answers. */
  async startRpcbind(): Promise<ChildProcess> {
    const rpcbind = this.start('rpcbind', ['-f']);
    await until(async () => rpcbind.exitCode === null && (await this.run('rpcinfo', ['-p'])).code === 0, 'rpcbind to answer');
    return rpcbind;
  }

  /** `rpcinfo -p` as [program, version, proto, port] rows (the portmapper's own left out). */
  async portmapList(): Promise<Array<[number, number, string, number]>> {
    const { code, stdout, stderr } = await this.run('rpcinfo', ['-p']);
    if (code !== 0) throw new Error(`rpcinfo -p: ${stderr}`);
    return stdout
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 4 && f[0] !== '100000')
      .map((f) => [Number(f[0]), Number(f[1]), f[2]!, Number(f[3])] as [number, number, string, number]);
  }

  /** Kills every command started inside, then the namespace. */
  async close(): Promise<void> {
    const ends = [...this.started, this.holder].map(
      (c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))),
    );
    for (const c of this.started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    // unshare ignores SIGTERM while it waits for its child: end the child, and unshare follows.
    if (this.holder.exitCode === null) process.kill(this.pid, 'SIGKILL');
    await Promise.all(ends);
  }
}
