import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatSyslog, probeSyslog, structuredData, SyslogDestination, syslogPri } from '../../src/log/syslog.js';
import { unixDgramSink } from '../helpers/unix-dgram.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-syslog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
  const rec = JSON.stringify({ level: 30, time, name: 'ninetd', service: 'finger', proto: 'tcp', peer: '192.0.2.1:51324', pid: 812, code: 0, ms: 4, msg: 'connection' });
  const text = 'connection from 192.0.2.1:51324 to finger/tcp, pid 812, exit 0, 4 ms';

  it('writes RFC 3164 with a local timestamp, the ninetd[pid] tag and the readable line', () => {
    expect(formatSyslog(`${rec}\n`, 'rfc3164', 42, 'host')).toBe(`<30>Nov  2 03:04:05 ninetd[42]: ${text}`);
  });

  it('writes RFC 5424 with version, ISO time, host, app, pid, the fields as structured data, and the line', () => {
    const sd = '[ninetd@32473 service="finger" proto="tcp" peer="192.0.2.1:51324" pid="812" code="0" ms="4"]';
    expect(formatSyslog(`${rec}\n`, 'rfc5424', 42, 'host')).toBe(`<30>1 ${new Date(time).toISOString()} host ninetd 42 - ${sd} ${text}`);
  });

  it('sends a line that is not JSON as an info message', () => {
    expect(formatSyslog('plain', 'rfc3164', 1, 'h')).toMatch(/^<30>\w{3} [ \d]\d \d\d:\d\d:\d\d ninetd\[1\]: plain$/);
  });
});

describe('structuredData', () => {
  it('escapes ", \\ and ] in values and names no field for a bare record', () => {
    expect(structuredData({ msg: 'x', rule: 'a"b\\c]d' })).toBe('[ninetd@32473 rule="a\\"b\\\\c\\]d"]');
    expect(structuredData({ level: 30, time: 1, name: 'ninetd', msg: 'stopped' })).toBe('-');
  });
});

describe('SyslogDestination on a real unix datagram socket', () => {
  const record = (msg: string) => `${JSON.stringify({ level: 30, time: Date.now(), name: 'ninetd', msg })}\n`;

  it('counts records while the socket is missing, then reports the count before the next record', async () => {
    const socket = path.join(dir, 'late.sock');
    expect(probeSyslog(socket)).toMatchObject({ code: 'ENOENT' });
    const dest = new SyslogDestination(socket, 'rfc3164');
    dest.write(record('one'));
    dest.write(record('two'));
    expect(dest.undelivered).toBe(2);
    const sink = unixDgramSink(socket);
    try {
      expect(probeSyslog(socket)).toBeNull();
      dest.write(record('three'));
      await sink.waitFor((m) => m.endsWith(': three'), 'the third record');
      expect(sink.messages.map((m) => m.slice(m.indexOf(']: ') + 3))).toEqual(['syslog restored: 2 records were dropped while ' + socket + ' could not be written', 'three']);
      expect(sink.messages[0]).toMatch(/^<28>/); // a warning
      expect(dest.undelivered).toBe(0);
    } finally {
      sink.close();
    }
  });

  it('sends records to the fallback while the socket is missing, and says so once it is back', async () => {
    const socket = path.join(dir, 'fallback.sock');
    const fallen: string[] = [];
    const dest = new SyslogDestination(socket, 'rfc5424', { name: 'stderr', write: (l) => void fallen.push(l) });
    dest.write(record('early'));
    expect(fallen).toEqual([expect.stringContaining('"msg":"early"')]);
    const sink = unixDgramSink(socket);
    try {
      dest.write(record('late'));
      await sink.waitFor((m) => m.endsWith(' late'), 'the late record');
      expect(sink.messages[0]).toContain('syslog restored: 1 records went to stderr while');
      expect(fallen).toHaveLength(1);
    } finally {
      sink.close();
    }
  });

  it('drops and counts again when the socket goes away', () => {
    const socket = path.join(dir, 'gone.sock');
    const sink = unixDgramSink(socket);
    sink.close();
    rmSync(socket);
    const dest = new SyslogDestination(socket, 'rfc3164');
    dest.write(record('lost'));
    expect(dest.undelivered).toBe(1);
  });
});
