// The BSD spawn-rate guard ("looping"): at most `max` dispatches per window, then the caller
// suspends the service. Pure: the caller passes the clock. It does not suspend anything itself.

/** Counts dispatches in a fixed window that starts at the first dispatch after the last window ended. */
export class RateGuard {
  private start = 0;
  private count = 0;

  /** `max` dispatches per `windowMs`; max 0 disables the guard. */
  constructor(
    private readonly max: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Records one dispatch at `now`; true when this one exceeds the limit. */
  hit(now: number): boolean {
    if (this.max <= 0) return false;
    if (this.count === 0 || now - this.start >= this.windowMs) {
      this.start = now;
      this.count = 0;
    }
    this.count += 1;
    return this.count > this.max;
  }

  /** How many more dispatches `hit` allows at `now` before one exceeds the limit; -1: no limit. */
  remaining(now: number): number {
    if (this.max <= 0) return -1;
    if (this.count === 0 || now - this.start >= this.windowMs) return this.max;
    return Math.max(0, this.max - this.count);
  }

  /** Forgets the window, as after a suspension ends. */
  reset(): void {
    this.count = 0;
  }
}
