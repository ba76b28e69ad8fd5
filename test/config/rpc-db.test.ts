import { describe, expect, it } from 'vitest';
import { parseRpc } from '../../src/config/rpc-db.js';

const RPC = [
  '# This file contains user readable names that can be used in place of rpc program numbers.',
  '',
  'portmapper\t100000\tportmap sunrpc rpcbind',
  'rstatd\t\t100001\trstat rstat_svc rup perfmeter',
  'rusersd\t\t100002\trusers',
  'nfs\t\t100003\tnfsprog',
  '   walld  100008   rwall shutdown   # indented, with a comment',
  'rstatd\t\t999999\t# a later duplicate, ignored',
  'broken\t\tnot-a-number',
  'toobig\t\t4294967296',
  'lonely',
  'last\t4294967295',
].join('\n');

describe('parseRpc', () => {
  const db = parseRpc(RPC);

  it.each([
    ['an official name', 'rusersd', 100002],
    ['an alias', 'rup', 100001],
    ['the last alias of a line', 'perfmeter', 100001],
    ['the first of two lines for the same name', 'rstatd', 100001],
    ['an indented line with a comment', 'walld', 100008],
    ['an alias before a comment', 'shutdown', 100008],
    ['the largest program number', 'last', 4294967295],
  ])('finds %s', (_what, name, program) => {
    expect(db.program(name)).toBe(program);
  });

  it.each([
    ['a name that is not listed', 'mountd'],
    ['a line whose number is not a number', 'broken'],
    ['a number above 2^32-1', 'toobig'],
    ['a line with only a name', 'lonely'],
    ['a comment word', 'indented,'],
    ['a name of another case', 'RSTATD'],
    ['an inherited property name', 'constructor'],
  ])('does not find %s', (_what, name) => {
    expect(db.program(name)).toBeNull();
  });

  it('finds nothing in an empty database', () => {
    expect(parseRpc('').program('rstatd')).toBeNull();
  });
});
