import { describe, expect, it } from 'vitest';
import { isBlank, splitFields, startsWithBlank } from '../../src/config/parse-line.js';

describe('splitFields', () => {
  it.each([
    ['splits on single spaces', 'echo stream tcp', ['echo', 'stream', 'tcp']],
    ['splits on runs of tabs and spaces', 'time\t dgram\t\tudp   wait', ['time', 'dgram', 'udp', 'wait']],
    ['ignores leading and trailing blanks', ' \techo stream \t', ['echo', 'stream']],
    ['keeps blanks inside double quotes', 'sh -c "echo hi there"', ['sh', '-c', 'echo hi there']],
    ['keeps blanks inside single quotes', "sh -c 'echo \"x\"  y'", ['sh', '-c', 'echo "x"  y']],
    ['joins quoted and unquoted parts of one field', 'cvs --allow-root="/a b"/c', ['cvs', '--allow-root=/a b/c']],
    ['keeps an empty quoted argument', 'prog "" x', ['prog', '', 'x']],
    ['takes backslashes literally', 'prog a\\ b', ['prog', 'a\\', 'b']],
    ['returns no fields for an empty line', '', []],
    ['returns no fields for a blank line', ' \t ', []],
  ])('%s', (_what, line, fields) => {
    expect(splitFields(line)).toEqual({ ok: true, fields });
  });

  it.each([
    ['an unclosed double quote', 'sh -c "echo hi'],
    ['an unclosed single quote', "sh -c 'echo hi"],
    ['a single quote closed by a double quote', `sh -c 'echo hi"`],
  ])('reports %s as ERR_CONFIG_QUOTE', (_what, line) => {
    expect(splitFields(line)).toMatchObject({ ok: false, code: 'ERR_CONFIG_QUOTE' });
  });
});

describe('isBlank and startsWithBlank', () => {
  it.each([
    ['', true, false],
    [' \t', true, true],
    ['\techo', false, true],
    [' echo', false, true],
    ['echo ', false, false],
  ])('%j is blank: %s, starts with a blank: %s', (line, blank, leading) => {
    expect(isBlank(line)).toBe(blank);
    expect(startsWithBlank(line)).toBe(leading);
  });
});
