// Which services can read a PROXY protocol header: a `[service:NAME/PROTO]` section may turn it on
// only for a nowait stream service over TCP that ninetd accepts for itself. Everywhere else
// ninetd never sees the connection's first bytes (a wait handler accepts for itself, a tcpmux
// sub-service is reached after the multiplexer has read them) or there is no client address for
// a header to replace. Pure: entries and sections in, the entries left and the errors out; the
// callers (--check, start, reload) treat the errors as configuration errors.
import { sectionName } from './resolve.js';
import type { ServiceSettings } from './settings.js';
import type { ConfigError, ServiceEntry } from './types.js';

/** Why an entry cannot read a header, first match wins; each says what is expected instead. */
const CANNOT = [
  {
    when: (e: ServiceEntry) => e.tcpmux !== undefined,
    why: (e: ServiceEntry) =>
      `"${e.service}" is a tcpmux sub-service, reached after the multiplexer has read the connection (expected proxy_protocol in the multiplexer's section)`,
  },
  {
    when: (e: ServiceEntry) => e.family === 'unix',
    why: (e: ServiceEntry) => `"${e.service}" is a unix socket, whose clients have no address for a header to replace (expected a tcp service)`,
  },
  {
    when: (e: ServiceEntry) => e.socketType !== 'stream',
    why: (e: ServiceEntry) => `"${e.service}/${e.protocol}" is a ${e.socketType} service; headers come on stream connections (expected a stream service over tcp)`,
  },
  {
    when: (e: ServiceEntry) => e.wait,
    why: (e: ServiceEntry) => `"${e.service}/${e.protocol}" at ${e.file}:${e.line} is a wait service, whose handler accepts its connections itself (expected nowait)`,
  },
] as const;

/** A section as the settings file gave it: its line, and the line of each key when known. */
type Section = ServiceSettings & { line: number; keyLines?: Readonly<Record<string, number>> };

/**
 * The entries whose sections may have the PROXY protocol on, and one ERR_SETTINGS_PROXY error
 * (on the `proxy_protocol` line of `file`) for each entry whose section turns it on where it
 * cannot work.
 */
export function checkProxyUse(entries: Iterable<ServiceEntry>, sections: ReadonlyMap<string, Section>, file: string): { entries: ServiceEntry[]; errors: ConfigError[] } {
  const ok: ServiceEntry[] = [];
  const errors: ConfigError[] = [];
  for (const e of entries) {
    const s = sections.get(sectionName(e));
    const cannot = s?.proxy_protocol && s.proxy_protocol !== 'off' ? CANNOT.find((c) => c.when(e)) : undefined;
    if (!s || !cannot) {
      ok.push(e);
      continue;
    }
    const line = s.keyLines?.proxy_protocol ?? s.line;
    errors.push({ file, line, code: 'ERR_SETTINGS_PROXY', message: `[service:${sectionName(e)}] proxy_protocol: ${cannot.why(e)}` });
  }
  return { entries: ok, errors };
}
