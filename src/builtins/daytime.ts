// daytime, RFC 867: tell the time as a line of ASCII. Stream: send it on connect, then close
// (input is ignored); datagram: reply to any datagram with the same line. The RFC fixes no
// format; like the BSD inetds we send ctime(3) truncated to 24 characters plus CR LF
// (`%.24s\r\n`), e.g. `Sun Nov 22 05:47:05 2026\r\n`, in the supervisor's **local time** (TZ),
// because that is what ctime() gives them and what daytime clients have always been shown.
import type { Builtin } from './table.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The daytime reply for `d`: ctime(3) in local time, truncated to 24 characters, then CR LF. */
export function daytimeLine(d: Date): string {
  // ctime's format is "%.3s %.3s%3d %.2d:%.2d:%.2d %d\n": the day of the month is space-padded.
  const ctime =
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${d.getFullYear()}`;
  return `${ctime.slice(0, 24)}\r\n`;
}

/** The daytime service. */
export const daytime: Builtin = {
  stream: {
    kind: 'once',
    reply: (now) => Buffer.from(daytimeLine(now()), 'latin1'),
  },
  dgram(_msg, now) {
    return Buffer.from(daytimeLine(now()), 'latin1');
  },
};
