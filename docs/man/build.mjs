// Builds the man pages ninetd(8), inetd.conf(5) and ninetd.ini(5) from the Markdown in docs/
// into dist/man/, where package.json's "man" field points. It does not install them: npm links
// them into PREFIX/share/man on a global install.
//
// The converter is pandoc (Debian package `pandoc`): it reads the definition lists and the wide
// tables these pages are made of and writes them as .TP paragraphs and tbl text blocks, which
// the npm converters we tried (marked-man, remark-man) turn into run-on paragraphs and tables
// wider than the terminal. Three fixes follow its output: its groff-only verbatim font V becomes
// CR, which mandoc(1) knows too; the .PP it puts right after a heading (which every formatter
// skips, and mandoc -Tlint warns about) is dropped; and its tables, 70 columns wide whatever
// their number of columns, are narrowed so that man(1) fits them in 80.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const out = path.join(root, 'dist', 'man');
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

/** Pages built: source in docs/, section, and the header of the section. */
const PAGES = [
  ['ninetd.8.md', '8', "System Manager's Manual"],
  ['inetd.conf.5.md', '5', 'File Formats Manual'],
  ['ninetd.ini.5.md', '5', 'File Formats Manual'],
];

// SOURCE_DATE_EPOCH makes the date reproducible (reproducible-builds.org); else today.
const epoch = process.env.SOURCE_DATE_EPOCH;
const date = (epoch ? new Date(Number(epoch) * 1000) : new Date()).toISOString().slice(0, 10);

/** Width a table may take: an 80-column terminal less man's 7-column indent and a margin. */
const TABLE_WIDTH = 70;

/**
 * A tbl format line of pandoc's (`lw(17.5n) lw(17.5n).`), whose widths always add up to 70n,
 * scaled so that they and the 3n gaps between columns fit TABLE_WIDTH.
 */
function fitTable(format) {
  const widths = [...format.matchAll(/lw\(([\d.]+)n\)/g)].map((m) => Number(m[1]));
  const room = TABLE_WIDTH - 7 - 3 * (widths.length - 1);
  const total = widths.reduce((a, b) => a + b, 0);
  return `${widths.map((w) => `lw(${((w * room) / total).toFixed(1)}n)`).join(' ')}.`;
}

/** pandoc's man output, made lint-clean for mandoc and narrow enough for man (see the top of this file). */
export function tidy(roff) {
  const lines = roff.replace(/\\f\[V(B|I|BI)?\]/g, (_m, s) => `\\f[C${s ?? 'R'}]`).replace(/\\f\[C\]/g, '\\f[CR]').split('\n');
  return lines
    .filter((l, i) => !(l === '.PP' && /^\.S[HS] /.test(lines[i - 1] ?? '')))
    .map((l) => (/^(lw\([\d.]+n\) ?)+\.$/.test(l) ? fitTable(l) : l))
    .join('\n');
}

function pandoc(args) {
  const r = spawnSync('pandoc', args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error?.code === 'ENOENT') {
    process.stderr.write('build-man: pandoc is not installed; install it (Debian: apt-get install pandoc) to build the man pages\n');
    process.exit(1);
  }
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  return r.stdout;
}

mkdirSync(out, { recursive: true });
for (const [src, section, header] of PAGES) {
  const roff = pandoc([
    '--standalone', '--from=markdown', '--to=man',
    `--lua-filter=${path.join(import.meta.dirname, 'links.lua')}`,
    // "# ninetd(8)" is the page's title; "## NAME" and the like become .SH sections.
    '--shift-heading-level-by=-1',
    `--metadata=section:${section}`, `--metadata=date:${date}`, `--metadata=footer:ninetd ${version}`, `--metadata=header:${header}`,
    path.join(root, 'docs', src),
  ]);
  writeFileSync(path.join(out, src.slice(0, -3)), tidy(roff));
}
