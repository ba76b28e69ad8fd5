// Per-client-address limits for one service: how many handlers one address may run at once
// (FreeBSD `max-child-per-ip`, xinetd `per_source`) and how many connections it may open per
// minute (FreeBSD `max-connections-per-ip-per-minute`). Pure: the caller passes the clock and
// reports when handlers start and end; this module refuses nothing, logs nothing and sets no
// timer. A v4-mapped IPv6 peer and the plain IPv4 form are one address.
//
// The rate is counted as FreeBSD inetd's cpmip() counts it: six buckets of 10 s per address.
// A connection is refused when the current bucket and the five before it already hold
// `perMinute` connections, so the window looks back between 50 and 60 s; a few numbers per
// address however fast it connects, where an exact log would grow with the limit. Unlike
// FreeBSD, a refused connection is not counted: a client that keeps retrying gets back in as
// soon as its old connections age out, instead of being locked out for as long as it retries.
//
// Memory stays bounded: an address is forgotten once it runs nothing and its buckets are older
// than the window, and at most `maxAddresses` idle addresses are remembered (the least recently
// admitted ones go first; an address with a running handler is never forgotten).

/** Limits for one service's clients; 0 turns a limit off. */
export interface PerSourceLimits {
  /** Handlers one address may run at once. */
  maxConcurrent: number;
  /** Connections one address may open per minute (see the module comment for the window). */
  perMinute: number;
  /** Addresses remembered at most for the rate (default 65536); running ones are always kept. */
  maxAddresses?: number;
}

/** What admit decided: go ahead, or which limit refused. */
export type Admission = 'ok' | 'concurrent' | 'rate';

/** Width of one rate bucket, as FreeBSD's CHTGRAN. */
const BUCKET_MS = 10_000;

/** Buckets in the window, as FreeBSD's CHTSIZE: 6 × 10 s = one minute. */
const BUCKETS = 6;

/** Default bound on remembered addresses: a flood of new sources costs a few MB at most. */
const DEFAULT_MAX_ADDRESSES = 65_536;

/** What is known about one address. */
interface Source {
  /** Handlers running now. */
  active: number;
  /** Index (now / BUCKET_MS) of the newest bucket `counts` holds; -Infinity before any. */
  newest: number;
  /** Connections per bucket, indexed by bucket index modulo BUCKETS. */
  counts: number[];
}

/** The limits with maxAddresses filled in. */
function withDefaults(limits: PerSourceLimits): Required<PerSourceLimits> {
  return { maxConcurrent: limits.maxConcurrent, perMinute: limits.perMinute, maxAddresses: limits.maxAddresses ?? DEFAULT_MAX_ADDRESSES };
}

/** Bucket index of a time. */
function bucketOf(now: number): number {
  return Math.floor(now / BUCKET_MS);
}

/** Position of bucket `b` in a Source's `counts`. */
function slot(b: number): number {
  return ((b % BUCKETS) + BUCKETS) % BUCKETS;
}

/**
 * Connections of `s` counted in the window that ends with bucket `b`: that bucket and the five
 * before it. Reads only; a clock that went back counts as still being in bucket `newest`.
 */
function inWindow(s: Source, b: number): number {
  const end = Math.max(b, s.newest);
  let sum = 0;
  for (let i = Math.max(end - BUCKETS + 1, s.newest - BUCKETS + 1); i <= s.newest; i += 1) sum += s.counts[slot(i)]!;
  return sum;
}

/** Per-address concurrency and rate bookkeeping for one service. */
export class PerSource {
  // Insertion order is admission order (an admitted address moves to the end), so the
  // addresses that may have aged out are always at the front. Made on the first address to
  // remember: most services never remember one, and an empty Map is some 150 bytes.
  private sources: Map<string, Source> | null = null;
  private limits: Required<PerSourceLimits>;
  private lastPrune = -Infinity;

  /** A tracker with the given limits; 0 turns a limit off. */
  constructor(limits: PerSourceLimits) {
    this.limits = withDefaults(limits);
  }

  /** Changes the limits in place (on reload), keeping what is running and what was counted. */
  setLimits(limits: PerSourceLimits): void {
    this.limits = withDefaults(limits);
  }

  /**
   * Decides whether the address `key` may connect at `now` (ms, from a clock that does not go back). On 'ok'
   * the connection is counted for the rate; a refusal counts nothing. The concurrency limit is
   * checked first. Call started() when a handler actually runs for it.
   */
  admit(key: string, now: number): Admission {
    const { maxConcurrent, perMinute } = this.limits;
    if (now - this.lastPrune >= BUCKET_MS) this.prune(now);
    const s = this.sources?.get(key);
    if (maxConcurrent > 0 && s !== undefined && s.active >= maxConcurrent) return 'concurrent';
    if (perMinute <= 0) return 'ok';
    const b = bucketOf(now);
    if (s !== undefined && inWindow(s, b) >= perMinute) return 'rate';
    const source = s ?? { active: 0, newest: -Infinity, counts: Array<number>(BUCKETS).fill(0) };
    advance(source, b);
    source.counts[slot(source.newest)]! += 1;
    const table = this.table();
    table.delete(key);
    table.set(key, source);
    if (table.size > this.limits.maxAddresses) this.evictIdle();
    return 'ok';
  }

  /** Records that a handler started for the address `key`. */
  started(key: string): void {
    const s = this.sources?.get(key);
    if (s) s.active += 1;
    else this.table().set(key, { active: 1, newest: -Infinity, counts: Array<number>(BUCKETS).fill(0) });
  }

  /** Records that a handler for the address `key` ended; an address with nothing left to remember is forgotten. */
  ended(key: string): void {
    const s = this.sources?.get(key);
    // Unknown or already at zero: an end reported twice (exit and error) must not go negative.
    if (!s || s.active === 0) return;
    s.active -= 1;
    if (s.active === 0 && (this.limits.perMinute <= 0 || s.newest === -Infinity)) this.table().delete(key);
  }

  /** Handlers running for the address `key` now. */
  running(key: string): number {
    return this.sources?.get(key)?.active ?? 0;
  }

  /** Forgets addresses that run nothing and whose counted connections are all outside the window at `now`. */
  prune(now: number): void {
    this.lastPrune = now;
    const b = bucketOf(now);
    for (const [key, s] of this.sources ?? []) {
      // Admission order: once one address still has connections in the window, so do all
      // admitted after it. Addresses never admitted (started() alone) have none and are dropped
      // by ended(); running ones are skipped.
      if (inWindow(s, b) > 0) break;
      if (s.active === 0) this.table().delete(key);
    }
  }

  /** How many addresses are remembered (for tests and status). */
  get size(): number {
    return this.sources?.size ?? 0;
  }

  /** The table, to change: made now if this is the first address. */
  private table(): Map<string, Source> {
    return (this.sources ??= new Map());
  }

  /** Drops the least recently admitted address that runs nothing, to keep within maxAddresses. */
  private evictIdle(): void {
    for (const [key, s] of this.sources ?? []) {
      if (s.active === 0) {
        this.table().delete(key);
        return;
      }
    }
  }
}

/** Moves `s`'s newest bucket forward to `b`, emptying the buckets it passes. Never moves back. */
function advance(s: Source, b: number): void {
  if (b <= s.newest) return;
  if (b - s.newest >= BUCKETS) s.counts.fill(0);
  else for (let i = s.newest + 1; i <= b; i += 1) s.counts[slot(i)] = 0;
  s.newest = b;
}
