// One connection's place in its service's counts: the service's running handlers (its
// `instances` limit) and its client's running handlers (`per_source`). Taken once when the
// connection is admitted, given back exactly once however the connection ends (handler exit,
// spawn failure, in-process close, tcpmux hand-off). It decides nothing.
import type { ClientAddress } from '../addr/client.js';

/** What a slot counts against: the service that made it. */
export interface SlotOwner {
  /** Counts one more running connection for `client` (null: none to count per client). */
  take(client: ClientAddress | null): void;
  /** Gives back what `take` counted. */
  give(client: ClientAddress | null): void;
}

/** A counted connection; `release()` gives its counts back, once. */
export class Slot {
  private held = true;

  constructor(
    private readonly owner: SlotOwner,
    /** The client counted per address; null when none is. */
    readonly client: ClientAddress | null,
  ) {
    owner.take(client);
  }

  /** Gives the counts back; later calls do nothing. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.owner.give(this.client);
  }

  /** Whether the counts are still held. */
  get active(): boolean {
    return this.held;
  }
}
