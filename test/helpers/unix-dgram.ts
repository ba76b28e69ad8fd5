// A unix datagram socket that collects what it receives: stands in for systemd's notify socket
// and for /dev/log in tests.
import * as native from '../../src/native/index.js';

/** A bound unix datagram receiver. */
export interface DgramSink {
  messages: string[];
  /** Resolves with the first message (past or future) that matches. */
  waitFor(match: (m: string) => boolean, what?: string, ms?: number): Promise<string>;
  close(): void;
}

/** Binds `path` (or '@name') and collects every datagram. */
export function unixDgramSink(path: string): DgramSink {
  const { AF_UNIX, SOCK_DGRAM } = native.constants;
  const fd = native.socket(AF_UNIX, SOCK_DGRAM);
  native.bind(fd, path, 0);
  const messages: string[] = [];
  const waiters: Array<{ match: (m: string) => boolean; resolve: (m: string) => void }> = [];
  const buf = Buffer.alloc(65536);
  const poller = new native.Poller(fd, () => {
    for (;;) {
      const r = native.recvfrom(fd, buf);
      if (!r) break;
      const m = buf.subarray(0, r.bytes).toString();
      messages.push(m);
      for (const w of [...waiters]) if (w.match(m)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(m));
    }
  });
  poller.start();
  return {
    messages,
    waitFor(match, what = 'datagram', ms = 10_000) {
      const seen = messages.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages)}`)), ms);
        waiters.push({ match, resolve: (m) => (clearTimeout(t), resolve(m)) });
      });
    },
    close() {
      poller.close();
      native.close(fd);
    },
  };
}
