// The log file destination against files a local user may plant at its path.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LogFile } from '../../src/log/file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ninetd-logfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('LogFile', () => {
  it('appends records, and after logrotate moved the file, reopen() writes a new one', () => {
    const file = path.join(dir, 'ninetd.log');
    const log = new LogFile(file);
    log.write('one\n');
    renameSync(file, `${file}.1`);
    log.write('two\n');
    log.reopen();
    log.write('three\n');
    expect([readFileSync(`${file}.1`, 'utf8'), readFileSync(file, 'utf8')]).toEqual(['one\ntwo\n', 'three\n']);
  });

  it('never follows a symlink planted at its path, at start or at reopen, and leaves the target alone', () => {
    const victim = path.join(dir, 'victim');
    writeFileSync(victim, 'secret\n');
    const file = path.join(dir, 'planted.log');
    symlinkSync(victim, file);
    expect(() => new LogFile(file)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    const other = path.join(dir, 'rotated.log');
    const log = new LogFile(other);
    renameSync(other, `${other}.1`);
    symlinkSync(victim, other);
    expect(() => log.reopen()).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    log.write('still to the old file\n');
    expect(readFileSync(victim, 'utf8')).toBe('secret\n');
    expect(readFileSync(`${other}.1`, 'utf8')).toBe('still to the old file\n');
  });

  it('refuses a FIFO at its path without waiting for a reader', () => {
    const fifo = path.join(dir, 'fifo.log');
    execFileSync('mkfifo', [fifo]);
    // With no reader, open fails at once (ENXIO); with one, the fstat check refuses it (EINVAL).
    expect(() => new LogFile(fifo)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^(ENXIO|EINVAL)$/) }));
  });
});
