// Reads an xinetd.conf(5) tree from disk and turns it into what an inetd.conf file and the
// `[service:…]` sections of a settings file would give: entries, sections and errors, each on
// its xinetd file and line. Each service is lowered (lower.ts) to one inetd.conf line and its
// keys, and those go through ninetd's own parser and settings validators, so both formats make
// the same plans. This is the I/O shell: the file system and the system lookups come in here.
import { readdirSync, statSync } from 'node:fs';
import { fileProblemReason, isFileProblem, readRegularFile } from '../../files/regular-file.js';
import { parseConfig, type Lookups } from '../parse.js';
import { parseSettings, type ServiceSettings } from '../settings.js';
import { sectionName } from '../resolve.js';
import type { ConfigError, ServiceEntry } from '../types.js';
import { lower, type Lowered } from './lower.js';
import { readTree, type TreeReader } from './read.js';

/** A tree in ninetd's terms. */
export interface XinetdConfig {
  entries: ServiceEntry[];
  /** `[service:NAME/PROTO]` settings of the entries, by NAME/PROTO. */
  sections: Map<string, ServiceSettings & { line: number }>;
  errors: ConfigError[];
  warnings: ConfigError[];
  /** Every service lowered, for the converter. */
  lowered: Lowered[];
}

/** `no such file or directory (ENOENT)` from a Node fs error. */
function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = /^[A-Z]+: ([^,]+)/.exec(e.message ?? '')?.[1] ?? String(e.message ?? err);
  return e.code ? `${text} (${e.code})` : text;
}

/** The real file system. */
export const fsReader: TreeReader = {
  // Regular files only, capped, never blocking on a FIFO: as every configuration file is read.
  read: (f) => {
    const r = readRegularFile(f, 'config');
    return isFileProblem(r) ? new Error(fileProblemReason(r)) : r.data.toString('utf8');
  },
  list: (d) => {
    try {
      return readdirSync(d);
    } catch (err) {
      return new Error(describe(err));
    }
  },
  isFile: (f) => {
    try {
      return statSync(f).isFile();
    } catch {
      return false;
    }
  },
};

/** Quotes one inetd.conf field so that parse-line.ts reads it back unchanged. */
export function quoteField(field: string): string {
  if (field !== '' && !/[\s"'#]/.test(field)) return field;
  // Each quote character goes in the other kind of quotes; everything else in double quotes.
  return field === '' ? '""' : [...field].map((c) => (c === '"' ? `'"'` : c === "'" ? `"'"` : /[\s#]/.test(c) ? `"${c}"` : c)).join('');
}

/** The inetd.conf line of a lowered service. */
export function inetdLine(l: Lowered): string {
  return l.fields.map(quoteField).join(' ');
}

/** A settings value as written after `key = `, quoted when `ini` would otherwise change it. */
export function iniValue(v: string): string {
  return /^\s|\s$|[;#"']|^$/.test(v) ? JSON.stringify(v) : v;
}

/** Parses the xinetd tree at `file` with `lookups`; pure but for `reader`. */
export function xinetdConfig(file: string, lookups: Lookups, reader: TreeReader = fsReader): XinetdConfig {
  const tree = readTree(file, reader);
  const where = new Map<string, { file: string; line: number; id: string; text: string }>();
  const out: XinetdConfig = { entries: [], sections: new Map(), errors: [...tree.errors], warnings: [...tree.warnings], lowered: [] };
  // A warning about an inherited defaults line would repeat for every service: say it once.
  const said = new Set<string>();
  const warn = (w: ConfigError): void => {
    const k = `${w.file}:${w.line}:${w.message}`;
    if (!said.has(k)) out.warnings.push(w);
    said.add(k);
  };
  for (const svc of tree.services) {
    const low = lower(svc, lookups, warn);
    if (Array.isArray(low)) {
      out.errors.push(...low);
      continue;
    }
    // The line goes through the inetd.conf parser on the service's own line number, so its
    // errors read `xinetd-file:line:` with no mapping.
    const parsed = parseConfig(`${'\n'.repeat(svc.line - 1)}${inetdLine(low)}\n`, svc.file, lookups);
    if (parsed.errors.length > 0) {
      out.errors.push(...parsed.errors);
      continue;
    }
    // The keys go through the settings validators; each error is put back on its xinetd line.
    const name = sectionName(parsed.entries[0]!);
    const ini = [`[service:${name}]`, ...low.keys.map((k) => `${k.key} = ${iniValue(k.value)}`)].join('\n');
    const settings = parseSettings(ini, svc.file);
    if (settings.errors.length > 0) {
      for (const e of settings.errors) {
        const k = low.keys[e.line - 2];
        out.errors.push({ ...e, file: k?.file ?? svc.file, line: k?.line ?? svc.line });
      }
      continue;
    }
    const first = where.get(name);
    const same = first && first.id === svc.id && first.text === `${inetdLine(low)}\n${ini.split('\n').slice(1).join('\n')}`;
    if (same) {
      // Debian's package ships chargen's datagram service twice (chargen and chargen-udp), and
      // xinetd serves the copy without a word: the same service twice is served once, said once.
      warn({ file: svc.file, line: svc.line, code: 'WARN_XINETD', message: `service "${svc.id}" repeats ${first.file}:${first.line} exactly; served once` });
      continue;
    }
    if (first) {
      out.errors.push({
        file: svc.file,
        line: svc.line,
        code: 'ERR_XINETD_VALUE',
        message: `service "${svc.name}" is a second ${name} (first at ${first.file}:${first.line}; expected one service per name and protocol, or type = UNLISTED with its own port)`,
      });
      continue;
    }
    const section = settings.settings.services.get(name)!;
    out.sections.set(name, { ...section, line: svc.line });
    where.set(name, { file: svc.file, line: svc.line, id: svc.id, text: `${inetdLine(low)}\n${ini.split('\n').slice(1).join('\n')}` });
    out.entries.push(...parsed.entries);
    out.lowered.push(low);
  }
  return out;
}
