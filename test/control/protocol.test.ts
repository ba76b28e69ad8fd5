// The control protocol's pure parts: requests checked, replies encoded, and lines framed with a
// bound on their length, whole across reads split anywhere (inside a UTF-8 character too).
import { describe, expect, it } from 'vitest';
import { encodeReply, encodeRequest, LineSplitter, MAX_REQUEST_BYTES, parseRequest } from '../../src/control/protocol.js';

describe('parseRequest', () => {
  it.each([
    ['{"cmd":"status"}', { cmd: 'status' }],
    ['{"cmd":"reload"}', { cmd: 'reload' }],
    ['{"cmd":"diff"}', { cmd: 'diff' }],
    ['{"cmd":"diff","config":"/etc/inetd.conf"}', { cmd: 'diff', config: '/etc/inetd.conf' }],
    ['  {"cmd":"status"}  ', { cmd: 'status' }],
  ])('reads %s', (line, req) => {
    expect(parseRequest(line)).toEqual(req);
  });

  it.each([
    ['not JSON', 'status'],
    ['an array', '["status"]'],
    ['null', 'null'],
    ['a string', '"status"'],
    ['no command', '{}'],
    ['an unknown command', '{"cmd":"stop"}'],
    ['an inherited name as command', '{"cmd":"toString"}'],
    ['a command that is not text', '{"cmd":1}'],
    ['an argument the command does not take', '{"cmd":"status","all":true}'],
    ['a relative config path', '{"cmd":"diff","config":"inetd.conf"}'],
    ['a config that is not text', '{"cmd":"diff","config":1}'],
  ])('refuses %s with ERR_CONTROL_REQUEST', (_what, line) => {
    expect(parseRequest(line)).toMatchObject({ ok: false, error: { code: 'ERR_CONTROL_REQUEST' } });
  });
});

describe('encoding', () => {
  it('writes one line per request and reply', () => {
    expect(encodeRequest({ cmd: 'status' })).toBe('{"cmd":"status"}\n');
    expect(encodeReply({ ok: false, error: { code: 'ERR_CONTROL_BUSY', message: 'a\nb' } })).toBe('{"ok":false,"error":{"code":"ERR_CONTROL_BUSY","message":"a\\nb"}}\n');
  });
});

describe('LineSplitter', () => {
  it('gives whole lines, however the bytes are split, and drops a CR before the newline', () => {
    const text = Buffer.from('{"cmd":"status","x":"é"}\r\n{"cmd":"reload"}\n{"cm');
    for (let cut = 0; cut <= text.length; cut++) {
      const s = new LineSplitter();
      const a = s.push(text.subarray(0, cut));
      const b = s.push(text.subarray(cut));
      expect([...(a as string[]), ...(b as string[])]).toEqual(['{"cmd":"status","x":"é"}', '{"cmd":"reload"}']);
    }
  });

  it('takes a line of exactly the limit, and overflows one byte past it, newline or not', () => {
    expect(new LineSplitter().push(Buffer.from(`${'a'.repeat(MAX_REQUEST_BYTES)}\n`))).toEqual(['a'.repeat(MAX_REQUEST_BYTES)]);
    expect(new LineSplitter().push(Buffer.from(`${'a'.repeat(MAX_REQUEST_BYTES + 1)}\n`))).toBe('overflow');
    const s = new LineSplitter();
    expect(s.push(Buffer.alloc(MAX_REQUEST_BYTES, 0x61))).toEqual([]);
    expect(s.push(Buffer.from('a'))).toBe('overflow');
  });

  it('counts an unfinished line across many reads', () => {
    const s = new LineSplitter();
    let got: string[] | 'overflow' = [];
    for (let i = 0; i < 2 * MAX_REQUEST_BYTES && got !== 'overflow'; i += 100) got = s.push(Buffer.alloc(100, 0x61));
    expect(got).toBe('overflow');
  });
});
