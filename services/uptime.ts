#!/usr/bin/env node
// uptime: tells the client how long this host has been up and its load averages, one line,
// then hangs up. It runs /usr/bin/uptime; where that program is missing it builds the same line
// from /proc/uptime and /proc/loadavg.
//
// Wiring, in inetd.conf (the server path may be relative to the config file's directory):
//   ninetd-uptime  stream  tcp  nowait  -  ../dist/services/uptime.js  uptime
//
// fds 0, 1 and 2 are the client's socket, so the child program gets none of them: its stdin is
// closed (it must not read the client's bytes) and its stderr discarded (the client must not
// see its complaints).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeSync } from 'node:fs';

/** Output of /usr/bin/uptime, or null when it cannot be run. */
function runUptime(): string | null {
  try {
    return execFileSync('/usr/bin/uptime', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
  } catch {
    return null;
  }
}

/** The uptime(1) line built from /proc: ` 05:47:05 up 3 days,  2:01,  load average: 0.00, 0.01, 0.05`. */
function fromProc(): string {
  const up = Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]));
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(', ');
  const days = Math.floor(up / 86400);
  const hours = Math.floor((up % 86400) / 3600);
  const minutes = Math.floor((up % 3600) / 60);
  const now = new Date();
  const clock = [now.getHours(), now.getMinutes(), now.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const dayPart = days > 0 ? `${days} day${days === 1 ? '' : 's'}, ` : '';
  const timePart = hours > 0 ? `${String(hours).padStart(2, ' ')}:${String(minutes).padStart(2, '0')}` : `${minutes} min`;
  return ` ${clock} up ${dayPart}${timePart},  load average: ${load}`;
}

let line: string;
try {
  line = runUptime() ?? fromProc();
} catch {
  line = 'uptime unavailable';
}
// One line, ended the network way (CR LF) whatever the program printed.
writeSync(1, `${line.replace(/\r?\n+$/, '')}\r\n`);
