// Reads the text of an /etc/services file into a lookup of (name or alias, transport) → port.
// Pure: it never opens the file (load.ts does) and never asks the C library, so a test or a
// container without /etc/services gets exactly the database it was given.

/** Transports that /etc/services lists and inetd.conf service names are resolved for. */
export type ServiceTransport = 'tcp' | 'udp';

/** A parsed services database. */
export interface ServicesDb {
  /** Port of `name` (official name or alias) over `transport`, or null when not listed. */
  port(name: string, transport: ServiceTransport): number | null;
}

/** Parses services(5) text: `name port/proto [alias…] [# comment]`; malformed lines are skipped. */
export function parseServices(text: string): ServicesDb {
  const ports = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const fields = (hash < 0 ? raw : raw.slice(0, hash)).trim().split(/\s+/);
    const [name, portProto, ...aliases] = fields;
    if (!name || !portProto) continue;
    const m = /^(\d+)\/([a-z0-9]+)$/i.exec(portProto);
    if (!m) continue;
    const port = Number(m[1]);
    if (port > 65535) continue;
    const proto = m[2]!.toLowerCase();
    for (const n of [name, ...aliases]) {
      const key = `${n}/${proto}`;
      // getservbyname(3) returns the first match, so an earlier line wins over a later one.
      if (!ports.has(key)) ports.set(key, port);
    }
  }
  return { port: (name, transport) => ports.get(`${name}/${transport}`) ?? null };
}
