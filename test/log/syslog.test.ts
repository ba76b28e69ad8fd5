import { describe, expect, it } from 'vitest';
import { formatSyslog, syslogPri } from '../../src/log/syslog.js';

describe('syslogPri', () => {
  it.each([
    [10, 31],
    [20, 31],
    [30, 30],
    [40, 28],
    [50, 27],
    [60, 26],
  ])('pino level %i is daemon facility priority %i', (level, pri) => expect(syslogPri(level)).toBe(pri));
});

describe('formatSyslog', () => {
  const time = new Date(2026, 10, 2, 3, 4, 5).getTime();
  const rec = JSON.stringify({ level: 40, time, msg: 'looping' });

  it('writes RFC 3164 with a local timestamp and the ninetd[pid] tag', () => {
    expect(formatSyslog(`${rec}\n`, 'rfc3164', 42, 'host')).toBe(`<28>Nov  2 03:04:05 ninetd[42]: ${rec}`);
  });

  it('writes RFC 5424 with version, ISO time, host, app and pid', () => {
    expect(formatSyslog(`${rec}\n`, 'rfc5424', 42, 'host')).toBe(`<28>1 ${new Date(time).toISOString()} host ninetd 42 - - ${rec}`);
  });

  it('sends a line that is not JSON as an info message', () => {
    expect(formatSyslog('plain', 'rfc3164', 1, 'h')).toMatch(/^<30>\w{3} [ \d]\d \d\d:\d\d:\d\d ninetd\[1\]: plain$/);
  });
});
