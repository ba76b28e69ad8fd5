// Reads the text of an /etc/rpc file into a lookup of program name or alias → program number,
// for the service field of `rpc/…` entries. Pure: it never opens the file (load.ts does) and
// never asks the C library (getrpcbyname), so a test or a container gets exactly the database
// it was given.

/** A parsed RPC program database. */
export interface RpcDb {
  /** Number of the program `name` (official name or alias), or null when not listed. */
  program(name: string): number | null;
}

/** Largest program number: the field is an unsigned 32-bit integer in RPC messages. */
const MAX_PROGRAM = 2 ** 32 - 1;

/** Parses rpc(5) text: `name number [alias…] [# comment]`; malformed lines are skipped. */
export function parseRpc(text: string): RpcDb {
  const programs = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const [name, number, ...aliases] = (hash < 0 ? raw : raw.slice(0, hash)).trim().split(/\s+/);
    if (!name || !number || !/^\d+$/.test(number)) continue;
    const program = Number(number);
    if (program > MAX_PROGRAM) continue;
    // getrpcbyname(3) returns the first match, so an earlier line wins over a later one.
    for (const n of [name, ...aliases]) if (!programs.has(n)) programs.set(n, program);
  }
  return { program: (name) => programs.get(name) ?? null };
}
