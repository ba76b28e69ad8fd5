// Reads the configuration file in whichever format it is written: inetd.conf(5), or an
// xinetd.conf(5) tree (recognised by its syntax, or forced by `format`). Both come back as
// entries, the `[service:…]` sections the file itself sets (xinetd attributes; none for
// inetd.conf), errors and warnings, so what follows (keying, plans, reload) is the same. The
// I/O shell around load.ts and xinetd/load.ts; it interprets nothing itself.
import { fileProblemReason, isFileProblem, readRegularFile } from '../files/regular-file.js';
import { loadConfig, SERVICES_FILE, systemLookups, type LoadOptions } from './load.js';
import { parseServices } from './services-db.js';
import type { ServiceSettings } from './settings.js';
import type { ConfigError, ServiceEntry } from './types.js';
import { looksLikeXinetd } from './xinetd/lexer.js';
import { xinetdConfig, type XinetdConfig } from './xinetd/load.js';

/** The formats of a configuration file; `auto` tells them apart by syntax. Sorted. */
export const CONFIG_FORMATS = ['auto', 'inetd', 'xinetd'] as const;
export type ConfigFormat = (typeof CONFIG_FORMATS)[number];

/** A configuration read in either format. */
export interface SourceConfig {
  format: 'inetd' | 'xinetd';
  entries: ServiceEntry[];
  /** Sections the configuration itself sets, by NAME/PROTO. */
  sections: Map<string, ServiceSettings & { line: number }>;
  errors: ConfigError[];
  warnings: ConfigError[];
  /** The xinetd tree lowered, for the converter; null for inetd.conf. */
  xinetd: XinetdConfig | null;
}

/** The format of `file` as `format` says or, for `auto`, as its first statement shows; inetd when unreadable. */
export async function detectFormat(file: string, format: ConfigFormat = 'auto'): Promise<'inetd' | 'xinetd'> {
  if (format !== 'auto') return format;
  // Read as every configuration file is (never blocking on a FIFO); one that cannot be read is
  // left to the inetd.conf reader, which says why.
  const r = readRegularFile(file, 'config');
  return !isFileProblem(r) && looksLikeXinetd(r.data.toString('utf8')) ? 'xinetd' : 'inetd';
}

/** Reads `file` in its format. */
export async function loadSource(file: string, options: LoadOptions & { format?: ConfigFormat } = {}): Promise<SourceConfig> {
  const format = await detectFormat(file, options.format);
  if (format === 'inetd') {
    const c = await loadConfig(file, options);
    return { format, entries: c.entries, sections: new Map(), errors: c.errors, warnings: c.warnings ?? [], xinetd: null };
  }
  const servicesFile = options.servicesFile ?? SERVICES_FILE;
  const errors: ConfigError[] = [];
  const services = readRegularFile(servicesFile, 'services');
  const servicesText = isFileProblem(services) ? '' : services.data.toString('utf8');
  if (isFileProblem(services)) {
    errors.push({ file: servicesFile, line: 0, code: 'ERR_CONFIG_SERVICES_READ', message: `cannot read services file: ${fileProblemReason(services)}` });
  }
  const x = xinetdConfig(file, systemLookups(parseServices(servicesText)));
  // xinetd services that name no port need the services file; without one, say why they failed.
  if (errors.length > 0 && x.errors.length === 0) errors.length = 0;
  return { format, entries: x.entries, sections: x.sections, errors: [...errors, ...x.errors], warnings: x.warnings, xinetd: x };
}

/** The sections of the configuration with the settings file's over them, key by key. */
export function mergeSections(
  own: ReadonlyMap<string, ServiceSettings & { line: number }>,
  settings: ReadonlyMap<string, ServiceSettings & { line: number }>,
): Map<string, ServiceSettings & { line: number }> {
  const out = new Map(own);
  for (const [name, s] of settings) out.set(name, { ...(own.get(name) ?? {}), ...s });
  return out;
}
