// The file a hosts_options(5) `banners /dir` option sends: `/dir/DAEMON` (DAEMON being argv[0]'s
// basename, `%d`), its `%` sequences expanded as libwrap does, read with the safe reader (never
// blocking on a FIFO, capped at FILE_CAPS.banner). It sends nothing itself; dispatch writes the
// text to the connection before the handler or twist command starts.
import path from 'node:path';
import { fileProblemReason, isFileProblem, readRegularFile } from '../files/regular-file.js';
import { bannerText } from './hosts-options.js';
import type { ExpansionFacts } from './percent-expand.js';

/** The banner to send, nothing (no such file: libwrap sends nothing), or why it cannot be read. */
export type OptionBanner = { readonly text: Buffer } | { readonly none: true } | { readonly file: string; readonly problem: string };

/** Reads and expands the `banners` file of `dir` for the connection `facts` describes. */
export function readOptionBanner(dir: string, facts: ExpansionFacts): OptionBanner {
  // A daemon name is a basename; one that could climb out of the directory gets nothing.
  if (facts.daemon === '' || facts.daemon.includes('/') || facts.daemon === '.' || facts.daemon === '..') return { none: true };
  const file = path.join(dir, facts.daemon);
  const read = readRegularFile(file, 'banner');
  if (isFileProblem(read)) return read.kind === 'missing' ? { none: true } : { file, problem: fileProblemReason(read) };
  return { text: Buffer.from(bannerText(read.data.toString('latin1'), facts), 'latin1') };
}
