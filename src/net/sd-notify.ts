// Speaks systemd's notify protocol (sd_notify(3)): newline-separated KEY=VALUE datagrams sent to
// the unix socket named by $NOTIFY_SOCKET (a path, or '@' for the abstract namespace). It does not
// decide when to notify; the daemon does.
import * as native from '../native/index.js';

/** A connection to the service manager's notify socket. */
export class SdNotify {
  private fd = -1;

  private constructor(private readonly path: string) {}

  /** The notifier for $NOTIFY_SOCKET, or null when ninetd was not started with one. */
  static fromEnv(env: NodeJS.ProcessEnv): SdNotify | null {
    const path = env.NOTIFY_SOCKET;
    return path ? new SdNotify(path) : null;
  }

  /** Sends one state message, e.g. { READY: '1', STATUS: '…' }; a failure is returned, not thrown. */
  send(fields: Record<string, string>): Error | null {
    const text = Object.entries(fields)
      .map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`)
      .join('\n');
    try {
      if (this.fd < 0) this.fd = native.socket(native.constants.AF_UNIX, native.constants.SOCK_DGRAM);
      native.sendtoUnix(this.fd, Buffer.from(text), this.path);
      return null;
    } catch (err) {
      return err as Error;
    }
  }

  /** Closes the socket. */
  close(): void {
    if (this.fd >= 0) native.close(this.fd);
    this.fd = -1;
  }
}

/** CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants it in MONOTONIC_USEC (libuv's hrtime is CLOCK_MONOTONIC). */
export function monotonicUsec(): string {
  return String(process.hrtime.bigint() / 1000n);
}

/** Watchdog interval in ms (half of WATCHDOG_USEC), or 0 when no watchdog applies to this process. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return 0;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return 0;
  return Math.max(1, Math.floor(usec / 2000));
}
