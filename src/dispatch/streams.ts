// The daemon's in-process stream connections (echo, discard, chargen) as one bounded set: the
// native byte pump that moves their bytes on the fd (src/native/pump.c: at most BUDGET bytes per
// connection per event-loop turn, backpressure, the idle timeout), the daemon-wide cap on how many
// are open, and the services told when that cap is reached or left (they then stop or start
// accepting, so further clients wait in the kernel's backlog). It does not admit, count per
// service or log; internal.ts and the service's slot do.
import type { PumpedStream } from '../builtins/table.js';
import * as native from '../native/index.js';
import type { Pump, PumpInfo } from '../native/index.js';

/** Bytes a connection may move per readiness turn: chargen's send, echo's and discard's reads. */
export const BUDGET = 65536;

/** Connections at most, by default: a quarter of the fd limit, and never more than this. */
export const DEFAULT_MAX_CEILING = 4096;

/** How a pumped connection ended: 'eof' (the client closed), 'idle', 'closed' (daemon stop), or an errno name. */
export type StreamEnd = { reason: string; bytesIn: number; bytesOut: number };

/** The limits of the set. */
export interface StreamLimits {
  /** A connection where no byte moved this long is closed; 0: never. */
  idleMs: number;
  /** Connections open at once in the whole daemon. */
  max: number;
}

/** The default daemon-wide cap for a process allowed `nofile` descriptors: well under the limit. */
export function defaultStreamMax(nofile: number): number {
  return Math.max(1, Math.min(DEFAULT_MAX_CEILING, Math.floor(nofile / 4)));
}

/** Every in-process stream connection of one daemon. */
export class Streams {
  /** One pump per pattern (chargen's; echo and discard share the one of `null`). */
  private readonly pumps = new Map<Buffer | null, Pump>();
  /** Open connections: pump and id → what to call when it ends. */
  private readonly open = new Map<Pump, Map<number, (end: StreamEnd) => void>>();
  private count = 0;
  private readonly watchers = new Set<() => void>();

  constructor(readonly limits: StreamLimits) {}

  /** True while the daemon-wide cap is reached: pumped services do not accept. */
  get full(): boolean {
    return this.count >= this.limits.max;
  }

  /** Connections open now. */
  get size(): number {
    return this.count;
  }

  /** Calls `fn` whenever `full` changes, until unwatch(fn). */
  watch(fn: () => void): void {
    this.watchers.add(fn);
  }

  unwatch(fn: () => void): void {
    this.watchers.delete(fn);
  }

  /**
   * Serves `fd` (ours from now on: it is closed when the connection ends) and calls `onEnd` once
   * when it has; returns what reads the connection's counts while it is open. Throws a
   * NativeError when the pump cannot take it; the fd is then the caller's.
   */
  serve(fd: number, stream: PumpedStream, onEnd: (end: StreamEnd) => void): () => PumpInfo | null {
    const key = stream.kind === 'generate' ? stream.pattern : null;
    const pump = this.pumps.get(key) ?? this.newPump(key);
    const id = pump.serve(fd, native.PUMP_MODES[stream.kind]);
    this.open.get(pump)!.set(id, onEnd);
    this.count += 1;
    if (this.count === this.limits.max) this.changed();
    return () => pump.info(id);
  }

  /** Ends every connection (closing its fd), calling each one's `onEnd` with 'closed'. */
  close(): void {
    for (const [pump, ends] of this.open) {
      pump.close();
      for (const onEnd of ends.values()) onEnd({ reason: 'closed', bytesIn: 0, bytesOut: 0 });
      ends.clear();
    }
    this.pumps.clear();
    this.open.clear();
    this.count = 0;
  }

  private newPump(key: Buffer | null): Pump {
    const ends = new Map<number, (end: StreamEnd) => void>();
    const pump = new native.Pump(
      (id, reason, bytesIn, bytesOut) => {
        const onEnd = ends.get(id);
        if (!onEnd) return;
        ends.delete(id);
        this.count -= 1;
        onEnd({ reason, bytesIn, bytesOut });
        if (this.count === this.limits.max - 1) this.changed();
      },
      this.limits.idleMs,
      BUDGET,
      key ?? Buffer.from(' '),
    );
    this.pumps.set(key, pump);
    this.open.set(pump, ends);
    return pump;
  }

  private changed(): void {
    for (const fn of [...this.watchers]) fn();
  }
}
