// Reads a tree of xinetd.conf(5) files into service records with their attributes final: the
// files named by `include` and the files of each `includedir` (in C-locale order, skipping names
// that contain a dot or end in `~`, and anything not a regular file, as xinetd does), the
// operators `=`, `+=` and `-=` applied, and the `defaults` entry inherited. Services that are
// disabled (`disable = yes`, `defaults { disabled = … }`, or left out of `enabled`) are dropped.
// Every problem is a ConfigError on its file and line, and the service it is in is not served;
// a problem in the defaults entry serves none (xinetd exits on one).
// It does not interpret values (lower.ts does). The file system comes in through a TreeReader,
// so this module is pure.
import path from 'node:path';
import type { ConfigError } from '../types.js';
import { attribute, type Attribute } from './attributes.js';
import { lex, type Statement } from './lexer.js';

/** What reading a tree needs from the file system; load.ts gives the real one. */
export interface TreeReader {
  /** The text of a file, or the error that kept it from being read. */
  read(file: string): string | Error;
  /** The names in a directory, or the error. */
  list(dir: string): string[] | Error;
  /** True when `file` is a regular file (symlinks followed, as stat(2) does). */
  isFile(file: string): boolean;
}

/** One attribute's final values, and where its last line is. */
export interface Value {
  values: string[];
  file: string;
  line: number;
}

/** A service entry with its attributes final (defaults included). */
export interface XinetdService {
  name: string;
  /** The `id` attribute, else the name. */
  id: string;
  file: string;
  line: number;
  attrs: Map<string, Value>;
}

/** A tree read whole. */
export interface XinetdTree {
  services: XinetdService[];
  errors: ConfigError[];
  /** Things that act differently than they read (USERID logging, skipped directory entries). */
  warnings: ConfigError[];
  /** Every file read, in order. */
  files: string[];
}

/** Codes this module and lower.ts report (listed in docs/errors.md). */
export type XinetdCode = 'ERR_XINETD_ATTRIBUTE' | 'ERR_XINETD_INCLUDE' | 'ERR_XINETD_SYNTAX' | 'ERR_XINETD_VALUE' | 'WARN_XINETD';

/** Includes nest at most this deep: xinetd itself has no limit, and a loop would never end. */
const MAX_DEPTH = 16;

/** An entry being read: the service (or defaults) and whether a problem already spoiled it. */
interface Open {
  kind: 'defaults' | 'service';
  name: string;
  file: string;
  line: number;
  attrs: Map<string, Value>;
  bad: boolean;
  /** `disable = yes` was read: the rest of the entry is skipped, as xinetd does. */
  disabled: boolean;
}

/** A directory entry xinetd's includedir skips: a dot anywhere (`.`, `..`, `x.rpmsave`, `x.dpkg-old`) or a trailing `~`. */
export function skippedByIncludedir(name: string): boolean {
  return name === '' || name.includes('.') || name.endsWith('~');
}

/** Byte order, as strcmp in the C locale. */
function cOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Applies an operator to a list value. */
function applyList(old: string[] | undefined, op: 'add' | 'remove' | 'set', values: string[]): string[] {
  if (op === 'set') return [...values];
  if (op === 'add') return [...(old ?? []), ...values.filter((v) => !(old ?? []).includes(v))];
  return (old ?? []).filter((v) => !values.includes(v));
}

/** Checks the number of values against the table. */
function countProblem(name: string, a: Attribute, n: number): string | null {
  const [min, max] = typeof a.values === 'number' ? [a.values, a.values] : a.values;
  if (n >= min && (max < 0 || n <= max)) return null;
  const want = min === max ? `${min} value${min === 1 ? '' : 's'}` : max < 0 ? `at least ${min}` : `${min} to ${max} values`;
  return `attribute "${name}" has ${n} value${n === 1 ? '' : 's'} (expected ${want})`;
}

/** The defaults' set values (only_from, log_on_success, …) that a service starts from. */
function inheritedSets(defaults: ReadonlyMap<string, Value>): Map<string, Value> {
  const out = new Map<string, Value>();
  for (const [k, v] of defaults) if (attribute(k)?.shape === 'list' && attribute(k)?.scope !== 'defaults') out.set(k, { ...v, values: [...v.values] });
  return out;
}

/** Reads the tree rooted at `file`. */
export function readTree(file: string, reader: TreeReader): XinetdTree {
  const tree: XinetdTree = { services: [], errors: [], warnings: [], files: [] };
  const defaults = new Map<string, Value>();
  let defaultsAt: { file: string; line: number } | null = null;
  let defaultsBad = false;
  const error = (f: string, line: number, code: XinetdCode, message: string): void => {
    tree.errors.push({ file: f, line, code, message });
  };
  /** Services as read, each holding a copy of the defaults' sets in force when it was read (xinetd copies them then). */
  const read: Open[] = [];

  const readFile = (f: string, depth: number, from: { file: string; line: number } | null): void => {
    if (depth > MAX_DEPTH) {
      error(from!.file, from!.line, 'ERR_XINETD_INCLUDE', `includes nest deeper than ${MAX_DEPTH} levels at "${f}" (expected no include loop)`);
      return;
    }
    const text = reader.read(f);
    if (text instanceof Error) {
      error(from?.file ?? f, from?.line ?? 0, 'ERR_XINETD_INCLUDE', `cannot read file "${f}": ${text.message}`);
      return;
    }
    tree.files.push(f);
    readStatements(f, lex(text), depth);
  };

  const readDir = (dir: string, depth: number, from: { file: string; line: number }): void => {
    const names = reader.list(dir);
    if (names instanceof Error) {
      error(from.file, from.line, 'ERR_XINETD_INCLUDE', `cannot read directory "${dir}": ${names.message}`);
      return;
    }
    for (const name of [...names].sort(cOrder)) {
      if (skippedByIncludedir(name)) continue;
      const f = path.join(dir, name);
      if (!reader.isFile(f)) {
        tree.warnings.push({ file: from.file, line: from.line, code: 'WARN_XINETD', message: `"${f}" is not a regular file; skipped, as xinetd does` });
        continue;
      }
      readFile(f, depth + 1, from);
    }
  };

  const readStatements = (f: string, statements: Statement[], depth: number): void => {
    let open: Open | null = null;
    // After `service NAME` or `defaults`, the next statement must be `{`.
    let header: Open | null = null;
    let defaultsInFile = false;
    let skipping = false;
    const close = (o: Open): void => {
      if (o.kind === 'service') read.push(o);
    };
    for (const st of statements) {
      if (header) {
        const h: Open = header;
        header = null;
        if (st.kind === 'open') {
          open = h;
          continue;
        }
        error(f, h.line, 'ERR_XINETD_SYNTAX', `missing "{" after "${h.kind === 'service' ? `service ${h.name}` : 'defaults'}" (expected { alone on the next line)`);
        // xinetd skips to the next `}`; so do we, without more errors on the lines between.
        skipping = st.kind !== 'close';
        if (h.kind === 'defaults') defaultsBad = true;
        continue;
      }
      if (skipping) {
        if (st.kind === 'close') skipping = false;
        continue;
      }
      if (open) {
        if (st.kind === 'close') {
          if (!open.bad && open.kind === 'service' && !open.disabled) close(open);
          if (open.kind === 'defaults' && !open.bad) for (const [k, v] of open.attrs) defaults.set(k, v);
          // xinetd exits on a bad defaults entry; serving the services without it would drop,
          // say, its only_from without a word. Nothing is served (the error says why).
          if (open.kind === 'defaults' && open.bad) defaultsBad = true;
          open = null;
          continue;
        }
        if (open.disabled) continue;
        if (st.kind !== 'attribute') {
          const what = st.kind === 'bad' ? st.message : `"${st.kind === 'open' ? '{' : st.kind}" inside an entry (expected an attribute line or })`;
          error(f, st.line, 'ERR_XINETD_SYNTAX', what);
          open.bad = true;
          if (st.kind === 'service' || st.kind === 'defaults') {
            // An entry left without its `}`: start the new one, as the author surely meant.
            open = null;
          } else continue;
        } else {
          attributeLine(f, open, st);
          continue;
        }
      }
      switch (st.kind) {
        case 'service':
          // xinetd copies the defaults' sets into the service before reading it: `=` then replaces them.
          header = { kind: 'service', name: st.name, file: f, line: st.line, attrs: inheritedSets(defaults), bad: false, disabled: false };
          break;
        case 'defaults':
          // One defaults entry per file, as xinetd has it; entries in included files add to it.
          if (defaultsInFile) {
            error(f, st.line, 'ERR_XINETD_SYNTAX', `second defaults entry (first at ${defaultsAt!.file}:${defaultsAt!.line}; expected one per file)`);
            header = { kind: 'defaults', name: 'defaults', file: f, line: st.line, attrs: new Map(), bad: true, disabled: false };
            break;
          }
          defaultsInFile = true;
          defaultsAt = { file: f, line: st.line };
          header = { kind: 'defaults', name: 'defaults', file: f, line: st.line, attrs: new Map(defaults), bad: false, disabled: false };
          break;
        case 'include':
          readFile(path.resolve(path.dirname(f), st.path), depth + 1, { file: f, line: st.line });
          break;
        case 'includedir':
          readDir(path.resolve(path.dirname(f), st.path), depth, { file: f, line: st.line });
          break;
        case 'open':
          error(f, st.line, 'ERR_XINETD_SYNTAX', '"{" outside an entry (expected service NAME or defaults on the line before)');
          break;
        case 'close':
          error(f, st.line, 'ERR_XINETD_SYNTAX', '"}" outside an entry (expected it only to end a service or defaults entry)');
          break;
        case 'attribute':
          error(f, st.line, 'ERR_XINETD_SYNTAX', `attribute "${st.name}" outside an entry (expected it between { and })`);
          break;
        case 'bad':
          error(f, st.line, 'ERR_XINETD_SYNTAX', st.message);
          break;
      }
    }
    const left = header ?? open;
    if (left) error(f, left.line, 'ERR_XINETD_SYNTAX', `entry "${left.kind === 'service' ? `service ${left.name}` : 'defaults'}" has no closing "}" (expected } alone on a line)`);
  };

  const attributeLine = (f: string, open: Open, st: Extract<Statement, { kind: 'attribute' }>): void => {
    const bad = (code: XinetdCode, message: string): void => {
      error(f, st.line, code, message);
      open.bad = true;
    };
    const a = attribute(st.name);
    if (!a) return bad('ERR_XINETD_ATTRIBUTE', `unknown attribute "${st.name}" (expected an attribute of xinetd.conf(5))`);
    if (a.refused) return bad('ERR_XINETD_ATTRIBUTE', `attribute "${st.name}" is not supported (${a.refused})`);
    if (open.kind === 'defaults' && a.scope === 'service') return bad('ERR_XINETD_ATTRIBUTE', `attribute "${st.name}" cannot be in defaults (expected it in a service entry)`);
    if (open.kind === 'service' && a.scope === 'defaults') return bad('ERR_XINETD_ATTRIBUTE', `attribute "${st.name}" belongs in defaults (expected it in the defaults entry)`);
    const count = countProblem(st.name, a, st.values.length);
    if (count) return bad('ERR_XINETD_ATTRIBUTE', count);
    const old = open.attrs.get(st.name);
    if (a.shape === 'single') {
      if (st.op !== 'set') return bad('ERR_XINETD_ATTRIBUTE', `attribute "${st.name}" takes only "=" (expected ${st.name} = value)`);
      // In defaults a value inherited from an earlier file's defaults may be set again.
      if (old && !(open.kind === 'defaults' && old.file !== f)) {
        return bad('ERR_XINETD_ATTRIBUTE', `attribute "${st.name}" is set twice (first at ${old.file}:${old.line})`);
      }
      open.attrs.set(st.name, { values: st.values, file: f, line: st.line });
      if (st.name === 'disable' && st.values[0] === 'yes') open.disabled = true;
      return;
    }
    if (st.name === 'env' && st.op === 'remove') return bad('ERR_XINETD_ATTRIBUTE', 'attribute "env" does not take "-=" (expected = or +=)');
    // In defaults `=` adds, as in xinetd ("cumulative effect").
    const op = open.kind === 'defaults' && st.op === 'set' ? 'add' : st.op;
    open.attrs.set(st.name, { values: applyList(old?.values, op, st.values), file: f, line: st.line });
  };

  readFile(file, 0, null);

  // Services get the defaults' single values in force at the end of the tree (xinetd fills them
  // in after reading everything); their sets started from the defaults' copy when they were read.
  const enabled = defaults.get('enabled');
  const disabled = new Set(defaults.get('disabled')?.values ?? []);
  for (const svc of defaultsBad ? [] : read) {
    const attrs = new Map<string, Value>();
    for (const [k, v] of defaults) if (attribute(k)?.shape === 'single' && attribute(k)?.scope !== 'defaults') attrs.set(k, v);
    for (const [k, v] of svc.attrs) attrs.set(k, v);
    const id = attrs.get('id')?.values[0] ?? svc.name;
    if (disabled.has(id) || (enabled && !enabled.values.includes(id))) continue;
    tree.services.push({ name: svc.name, id, file: svc.file, line: svc.line, attrs });
  }
  return tree;
}
