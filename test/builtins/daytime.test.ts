import { describe, expect, it } from 'vitest';
import { daytime, daytimeLine } from '../../src/builtins/daytime.js';
import { exchange } from '../helpers/client.js';
import { serve } from './serve.js';

// Dates built from local fields, so the expected lines hold in any time zone.
const cases = [
  { date: new Date(2026, 10, 22, 5, 47, 5), line: 'Sun Nov 22 05:47:05 2026\r\n' },
  { date: new Date(2024, 1, 9, 23, 0, 9), line: 'Fri Feb  9 23:00:09 2024\r\n' },
  { date: new Date(2000, 0, 1, 0, 0, 0), line: 'Sat Jan  1 00:00:00 2000\r\n' },
  { date: new Date(1999, 11, 31, 23, 59, 59, 999), line: 'Fri Dec 31 23:59:59 1999\r\n' },
  { date: new Date(2036, 1, 7, 6, 28, 16), line: 'Thu Feb  7 06:28:16 2036\r\n' },
];

describe('daytimeLine', () => {
  it.each(cases)('formats $line.trim() like ctime(3), cut to 24 characters, with CR LF', ({ date, line }) => {
    expect(daytimeLine(date)).toBe(line);
  });

  it('uses the local time zone, as ctime() does', () => {
    const saved = process.env.TZ;
    const instant = new Date(Date.UTC(2026, 10, 22, 0, 17, 5));
    try {
      process.env.TZ = 'UTC';
      expect(daytimeLine(instant)).toBe('Sun Nov 22 00:17:05 2026\r\n');
      process.env.TZ = 'Asia/Kolkata'; // UTC+05:30 all year
      expect(daytimeLine(instant)).toBe('Sun Nov 22 05:47:05 2026\r\n');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('daytime.dgram', () => {
  it('answers any datagram with the line for now', () => {
    const now = cases[0]!.date;
    expect(daytime.dgram(Buffer.from('what time is it?'), () => now)?.toString('latin1')).toBe(cases[0]!.line);
    expect(daytime.dgram(Buffer.alloc(0), () => now)?.toString('latin1')).toBe(cases[0]!.line);
  });
});

describe('daytime.stream', () => {
  it('sends the line on connect and closes without waiting for the client', async () => {
    const now = cases[1]!.date;
    const srv = await serve(daytime, () => now);
    try {
      const got = await exchange(srv.port, undefined, { end: false });
      expect(got.toString('latin1')).toBe(cases[1]!.line);
    } finally {
      await srv.close();
    }
  });

  it('ignores what the client sends', async () => {
    const now = cases[0]!.date;
    const srv = await serve(daytime, () => now);
    try {
      const got = await exchange(srv.port, 'GET / HTTP/1.0\r\n\r\n', { end: false });
      expect(got.toString('latin1')).toBe(cases[0]!.line);
    } finally {
      await srv.close();
    }
  });
});
