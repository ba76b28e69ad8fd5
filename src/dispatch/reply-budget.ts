// How many replies an internal datagram service sends one sender: a token bucket per sender
// address, so that two programs answering each other (a ping-pong that a local user set up by
// pointing an address at another service's socket) stop after a burst, however the loop was
// made. Pure: the caller passes the clock. It remembers a bounded number of senders.

/** What take() decided for one reply. */
export type BudgetVerdict =
  /** Send it. */
  | 'ok'
  /** Drop it: the first drop of an episode (log it). */
  | 'first-drop'
  /** Drop it, quietly: the episode goes on. */
  | 'drop';

interface Sender {
  tokens: number;
  at: number;
  dropping: boolean;
}

/** Replies per second per sender, with a burst. */
export class ReplyBudget {
  private readonly senders = new Map<string, Sender>();

  constructor(
    /** Replies a sender earns per second. */
    private readonly perSecond = 50,
    /** Replies a sender may have in hand (and starts with). */
    private readonly burst = 100,
    /** Senders remembered at most; the oldest is forgotten first. */
    private readonly maxSenders = 1024,
  ) {}

  /** Whether a reply to `sender` may go at `now` (ms). */
  take(sender: string, now: number): BudgetVerdict {
    const s = this.sender(sender, now);
    s.tokens = Math.min(this.burst, s.tokens + ((now - s.at) / 1000) * this.perSecond);
    s.at = now;
    if (s.tokens >= 1) {
      s.tokens -= 1;
      // An episode ends once the sender has earned its whole burst back.
      if (s.dropping && s.tokens >= this.burst - 1) s.dropping = false;
      return 'ok';
    }
    if (s.dropping) return 'drop';
    s.dropping = true;
    return 'first-drop';
  }

  /** A reply to `sender` must not go whatever its budget (it is a loop already): spends the budget, and says whether this starts an episode. */
  refuse(sender: string, now: number): Exclude<BudgetVerdict, 'ok'> {
    const s = this.sender(sender, now);
    s.tokens = 0;
    s.at = now;
    if (s.dropping) return 'drop';
    s.dropping = true;
    return 'first-drop';
  }

  private sender(key: string, now: number): Sender {
    let s = this.senders.get(key);
    if (!s) {
      if (this.senders.size >= this.maxSenders) this.senders.delete(this.senders.keys().next().value!);
      s = { tokens: this.burst, at: now, dropping: false };
      this.senders.set(key, s);
    }
    return s;
  }
}
