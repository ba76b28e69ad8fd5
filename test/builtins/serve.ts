// Test harness for builtins: a real TCP listener on 127.0.0.1 port 0 whose accepted connections
// are served as dispatch serves them (internal.ts serveStream: the byte pump, or a one-shot reply),
// with a Streams set of its own, so the tests see how each connection ended and its counts.
import type { Builtin } from '../../src/builtins/table.js';
import { serveStream } from '../../src/dispatch/internal.js';
import { Streams, type StreamEnd } from '../../src/dispatch/streams.js';
import * as native from '../../src/native/index.js';
import type { PumpInfo } from '../../src/native/index.js';

/** A listening socket serving one builtin. */
export interface Served {
  port: number;
  /** Resolves with how the next (or first, if it already has) connection ended, in accept order. */
  ended(): Promise<StreamEnd>;
  /** The counts of the `i`th connection accepted (0-based), once accepted; null when it has ended. */
  info(i: number): Promise<PumpInfo | null>;
  /** Ends every connection and closes the listener. */
  close(): Promise<void>;
}

/** Serves `builtin` with the clock `now`; `idleMs` closes connections where nothing moved that long. */
export async function serve(builtin: Builtin, now: () => Date = () => new Date(), idleMs = 0): Promise<Served> {
  const C = native.constants;
  const streams = new Streams({ idleMs, max: 64 });
  const fd = native.socket(C.AF_INET, C.SOCK_STREAM);
  native.bind(fd, '127.0.0.1', 0);
  native.listen(fd, 16);
  const scratch = Buffer.alloc(65536);
  const ends: Array<Promise<StreamEnd>> = [];
  const infos: Array<(() => PumpInfo | null) | null> = [];
  const waiting: Array<() => void> = [];
  const poller = new native.Poller(fd, () => {
    for (;;) {
      const conn = native.accept(fd, false);
      if (!conn) return;
      let settle!: (end: StreamEnd) => void;
      ends.push(new Promise((r) => (settle = r)));
      infos.push(serveStream(streams, conn.fd, builtin.stream, now, scratch, (end) => settle(end)));
      waiting.shift()?.();
    }
  });
  poller.start();
  const a = native.getsockname(fd);
  let taken = 0;
  const accepted = (i: number): Promise<void> =>
    infos.length > i ? Promise.resolve() : within(new Promise<void>((r) => waiting.push(r)), 'connection accepted').then(() => accepted(i));
  return {
    port: a.family === 'unix' ? 0 : a.port,
    ended: async () => {
      const i = taken++;
      await accepted(i);
      return within(ends[i]!, 'connection ended');
    },
    info: async (i) => {
      await accepted(i);
      return infos[i]?.() ?? null;
    },
    close: async () => {
      streams.close();
      poller.close();
      native.close(fd);
    },
  };
}

/** Rejects if `p` has not settled within `ms`; keeps every wait in these tests bounded. */
export function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves once `check` holds, looking again every few milliseconds, for states the pump has no
 * event for (a connection waiting for its client to read); rejects after `ms`.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
