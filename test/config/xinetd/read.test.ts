// xinetd.conf trees: statements, includes, includedir's skipping rules, operators and defaults.
import { describe, expect, it } from 'vitest';
import { looksLikeXinetd } from '../../../src/config/xinetd/lexer.js';
import { readTree, skippedByIncludedir, type TreeReader } from '../../../src/config/xinetd/read.js';

/** An in-memory file system: paths to texts, directories to their names. */
function fs(files: Record<string, string>): TreeReader {
  return {
    read: (f) => files[f] ?? new Error('no such file or directory (ENOENT)'),
    list: (d) => {
      const names = Object.keys(files).filter((f) => f.startsWith(`${d}/`)).map((f) => f.slice(d.length + 1));
      return names.length ? names : new Error('no such file or directory (ENOENT)');
    },
    isFile: (f) => f in files,
  };
}

const svc = (name: string, ...lines: string[]): string => `service ${name}\n{\n${lines.map((l) => `\t${l}\n`).join('')}}\n`;

describe('looksLikeXinetd', () => {
  it.each([
    ['defaults\n{\n}\n', true],
    ['# c\n\nservice echo\n{\n}\n', true],
    ['includedir /etc/xinetd.d\n', true],
    ['echo stream tcp nowait root internal\n', false],
    ['127.0.0.1:\n', false],
    ['service stream tcp nowait root /bin/cat cat\n', false],
  ])('reads %j as xinetd: %s', (text, want) => {
    expect(looksLikeXinetd(text)).toBe(want);
  });
});

describe('skippedByIncludedir', () => {
  it.each([
    ['echo', false],
    ['echo-udp', false],
    ['echo.rpmsave', true],
    ['echo.dpkg-old', true],
    ['echo~', true],
    ['.hidden', true],
  ])('%s skipped: %s', (name, want) => {
    expect(skippedByIncludedir(name)).toBe(want);
  });
});

describe('readTree', () => {
  it('follows includedir in C order, skipping dotted, ~ and non-regular names', () => {
    const t = readTree('/x/xinetd.conf', fs({
      '/x/xinetd.conf': 'includedir /x/d\n',
      '/x/d/b': svc('b', 'wait = no'),
      '/x/d/a': svc('a', 'wait = no'),
      '/x/d/B': svc('B', 'wait = no'),
      '/x/d/a.rpmnew': svc('skipped', 'wait = no'),
      '/x/d/a~': svc('skipped2', 'wait = no'),
    }));
    expect(t.errors).toEqual([]);
    expect(t.services.map((s) => s.name)).toEqual(['B', 'a', 'b']);
  });

  it('applies =, += and -= to sets, starting from the defaults', () => {
    const t = readTree('/c', fs({
      '/c': `defaults\n{\n\tonly_from = 10.0.0.1\n\tonly_from = 10.0.0.2\n\tinstances = 7\n}\n${svc('a', 'only_from += 10.0.0.3', 'only_from -= 10.0.0.1')}${svc('b', 'only_from = 10.0.0.9', 'instances = 2')}`,
    }));
    expect(t.errors).toEqual([]);
    const [a, b] = t.services;
    expect(a!.attrs.get('only_from')!.values).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(a!.attrs.get('instances')!.values).toEqual(['7']);
    expect(b!.attrs.get('only_from')!.values).toEqual(['10.0.0.9']);
    expect(b!.attrs.get('instances')!.values).toEqual(['2']);
  });

  it('drops disabled services: disable = yes (rest of the entry unread), defaults disabled and enabled', () => {
    const t = readTree('/c', fs({
      '/c': `defaults\n{\n\tdisabled = b\n}\n${svc('a', 'disable = yes', 'max_load = 9')}${svc('b', 'wait = no')}${svc('c', 'id = c1', 'disable = no')}`,
    }));
    expect(t.errors).toEqual([]);
    expect(t.services.map((s) => s.id)).toEqual(['c1']);
  });

  it.each([
    ['an unknown attribute', svc('a', 'colour = red'), 3, 'ERR_XINETD_ATTRIBUTE'],
    ['a refused attribute', svc('a', 'max_load = 2'), 3, 'ERR_XINETD_ATTRIBUTE'],
    ['a single attribute set twice', svc('a', 'wait = no', 'wait = yes'), 4, 'ERR_XINETD_ATTRIBUTE'],
    ['+= on a single attribute', svc('a', 'wait += no'), 3, 'ERR_XINETD_ATTRIBUTE'],
    ['-= on env', svc('a', 'env -= A=1'), 3, 'ERR_XINETD_ATTRIBUTE'],
    ['a service attribute in defaults', 'defaults\n{\n\tserver = /bin/true\n}\n', 3, 'ERR_XINETD_ATTRIBUTE'],
    ['a defaults attribute in a service', svc('a', 'enabled = a'), 3, 'ERR_XINETD_ATTRIBUTE'],
    ['a missing {', 'service a\n\twait = no\n}\n', 1, 'ERR_XINETD_SYNTAX'],
    ['a missing }', 'service a\n{\n\twait = no\n', 1, 'ERR_XINETD_SYNTAX'],
    ['an operator without a blank', svc('a', 'wait= no'), 3, 'ERR_XINETD_SYNTAX'],
    ['a stray word', 'serivce a\n', 1, 'ERR_XINETD_SYNTAX'],
    ['wrong value count', svc('a', 'cps = 5'), 3, 'ERR_XINETD_ATTRIBUTE'],
    ['a missing include', 'include /nope\n', 1, 'ERR_XINETD_INCLUDE'],
  ])('refuses %s on its line', (_what, text, line, code) => {
    const t = readTree('/c', fs({ '/c': text }));
    expect(t.errors.map((e) => [e.file, e.line, e.code])).toEqual([['/c', line, code]]);
    expect(t.services).toEqual([]);
  });

  it('serves nothing when the defaults entry has an error: its only_from must not be lost silently', () => {
    const t = readTree('/c', fs({ '/c': `defaults\n{\n\tonly_from = 127.0.0.1\n\tmax_load = 5\n}\n${svc('a', 'wait = no')}` }));
    expect(t.errors.map((e) => [e.line, e.code])).toEqual([[4, 'ERR_XINETD_ATTRIBUTE']]);
    expect(t.services).toEqual([]);
    const open = readTree('/c', fs({ '/c': `defaults\n\tonly_from = 127.0.0.1\n}\n${svc('a', 'wait = no')}` }));
    expect(open.errors.map((e) => [e.line, e.code])).toEqual([[1, 'ERR_XINETD_SYNTAX']]);
    expect(open.services).toEqual([]);
  });

  it('takes one defaults entry per file; an included file\'s defaults add to it', () => {
    const t = readTree('/c', fs({ '/c': 'defaults\n{\n\tonly_from = 10.0.0.1\n}\ninclude /i\n', '/i': `defaults\n{\n\tonly_from = 10.0.0.2\n\tinstances = 3\n}\n${svc('a', 'wait = no')}` }));
    expect(t.errors).toEqual([]);
    expect(t.services[0]!.attrs.get('only_from')!.values).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(t.services[0]!.attrs.get('instances')!.values).toEqual(['3']);
    const twice = readTree('/c', fs({ '/c': `defaults\n{\n}\ndefaults\n{\n}\n${svc('a', 'wait = no')}` }));
    expect(twice.errors.map((e) => [e.line, e.code])).toEqual([[4, 'ERR_XINETD_SYNTAX']]);
  });

  it('reports an error in an included file on that file and line, and stops an include loop', () => {
    const t = readTree('/c', fs({ '/c': 'include /i\n', '/i': `\n${svc('a', 'bogus = 1')}` }));
    expect(t.errors.map((e) => `${e.file}:${e.line} ${e.code}`)).toEqual(['/i:4 ERR_XINETD_ATTRIBUTE']);
    const loop = readTree('/c', fs({ '/c': 'include /c\n' }));
    expect(loop.errors.map((e) => e.code)).toEqual(['ERR_XINETD_INCLUDE']);
  });
});
