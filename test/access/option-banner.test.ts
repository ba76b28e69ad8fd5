import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readOptionBanner } from '../../src/access/option-banner.js';
import type { ExpansionFacts } from '../../src/access/percent-expand.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-banners-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FACTS: ExpansionFacts = { clientAddr: '192.0.2.1', clientName: 'x;y', serverAddr: null, serverName: null, daemon: 'in.ftpd', pid: 1 };

describe('readOptionBanner', () => {
  it('sends the file named after the daemon, expanded', () => {
    writeFileSync(path.join(dir, 'in.ftpd'), '220 hello %h, this is %d\n');
    expect(readOptionBanner(dir, FACTS)).toEqual({ text: Buffer.from('220 hello x_y, this is in.ftpd\n') });
  });

  it('sends nothing when there is no file for the daemon', () => {
    expect(readOptionBanner(dir, { ...FACTS, daemon: 'sshd' })).toEqual({ none: true });
  });

  it('never climbs out of the directory', () => {
    expect(readOptionBanner(dir, { ...FACTS, daemon: '..' })).toEqual({ none: true });
  });

  it('reports a fifo in place of the file, without blocking', () => {
    execFileSync('mkfifo', [path.join(dir, 'telnetd')]);
    expect(readOptionBanner(dir, { ...FACTS, daemon: 'telnetd' })).toEqual({ file: path.join(dir, 'telnetd'), problem: 'not a regular file (a fifo)' });
  });
});
