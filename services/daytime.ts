#!/usr/bin/env node
// daytime: tells the client the time and hangs up. The inetd version of the daytime server in
// W. Richard Stevens, Unix Network Programming vol. 1, ch. 13 ("daemon processes and the inetd
// superserver"): no socket(), bind(), listen() or accept(), because inetd already did all of
// that and handed us the connected socket as fds 0, 1 and 2.
//
// Wiring, in inetd.conf (the server path may be relative to the config file's directory):
//   ninetd-daytime  stream  tcp  nowait  -  ../dist/services/daytime.js  daytime
//
// Stevens logs the peer with syslog(). stderr is no place for it: it is the socket too, so a
// log line there would go to the client. We append it to the file named by DAYTIME_LOG when the
// supervisor passes that variable (set it in the service's section of ninetd.ini), else nowhere.
// The reply is ctime(3) cut to 24 characters plus CR LF, in local time, as Stevens'
// `snprintf(buff, sizeof(buff), "%.24s\r\n", ctime(&ticks))`.
import { appendFileSync, writeSync } from 'node:fs';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ctime(3) without its newline, local time: `Sun Nov 22 05:47:05 2026`. */
function ctime24(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const s =
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
  return s.slice(0, 24);
}

const now = new Date();
// The supervisor describes the connection in the UCSPI variables (tcp-environ(5)).
const ip = process.env.TCPREMOTEIP ?? 'unknown';
const port = process.env.TCPREMOTEPORT ?? 'unknown';
const log = process.env.DAYTIME_LOG;
if (log) {
  try {
    appendFileSync(log, `${now.toISOString()} daytime[${process.pid}]: connection from ${ip}, port ${port}\n`);
  } catch {
    // A log we cannot write must not cost the client its answer.
  }
}
// Synchronous, so the line is in the socket before the process exits and closes it.
writeSync(1, `${ctime24(now)}\r\n`);
