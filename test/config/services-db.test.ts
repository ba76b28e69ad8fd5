import { describe, expect, it } from 'vitest';
import { parseServices } from '../../src/config/services-db.js';

const SERVICES = [
  '# Network services, Internet style',
  'tcpmux\t\t1/tcp\t\t\t\t# TCP port service multiplexer',
  'echo\t\t7/tcp',
  'echo\t\t7/udp',
  'chargen\t\t19/tcp\t\tttytst source',
  'chargen\t\t19/udp\t\tttytst source',
  'biff\t\t512/udp\t\tcomsat',
  'exec\t\t512/tcp',
  '   indented  13/TCP   daytime-ish  ',
  'echo\t\t4007/tcp\t\t# a later duplicate, ignored',
  'broken\t\tnot-a-port/tcp',
  'toobig\t\t70000/tcp',
  'lonely',
  '',
  'last\t9999/udp',
].join('\n');

describe('parseServices', () => {
  const db = parseServices(SERVICES);

  it.each([
    ['an official name over tcp', 'echo', 'tcp', 7],
    ['an official name over udp', 'echo', 'udp', 7],
    ['the first of two lines for the same name', 'echo', 'tcp', 7],
    ['an alias', 'ttytst', 'tcp', 19],
    ['a second alias', 'source', 'udp', 19],
    ['a name listed for udp only, over udp', 'biff', 'udp', 512],
    ['an alias listed for udp only', 'comsat', 'udp', 512],
    ['an indented line with an upper-case protocol', 'indented', 'tcp', 13],
    ['a last line without a newline', 'last', 'udp', 9999],
    ['a name after a trailing comment', 'tcpmux', 'tcp', 1],
  ])('finds %s', (_what, name, transport, port) => {
    expect(db.port(name, transport as 'tcp' | 'udp')).toBe(port);
  });

  it.each([
    ['a name listed for udp only, over tcp', 'biff', 'tcp'],
    ['a name that is only a comment word', 'TCP', 'tcp'],
    ['a line with a bad port', 'broken', 'tcp'],
    ['a line with a port above 65535', 'toobig', 'tcp'],
    ['a line without a port', 'lonely', 'tcp'],
    ['an unknown name', 'gopher', 'tcp'],
    ['a name that differs only in case', 'ECHO', 'tcp'],
    ['an inherited object key', 'constructor', 'tcp'],
  ])('returns null for %s', (_what, name, transport) => {
    expect(db.port(name, transport as 'tcp' | 'udp')).toBeNull();
  });

  it('returns null for everything when the text is empty', () => {
    expect(parseServices('').port('echo', 'tcp')).toBeNull();
  });

  it('reads CRLF line endings', () => {
    expect(parseServices('echo 7/tcp\r\nfinger 79/tcp\r\n').port('finger', 'tcp')).toBe(79);
  });
});
