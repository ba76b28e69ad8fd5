// The names of the internal services and the socket types each serves. A pure table, so the
// config parser can check `internal` entries without loading the implementations.

/** Internal service name → socket types it serves. Sorted by name. */
export const BUILTIN_NAMES = {
  chargen: ['dgram', 'stream'],
  daytime: ['dgram', 'stream'],
  discard: ['dgram', 'stream'],
  echo: ['dgram', 'stream'],
  tcpmux: ['stream'],
  time: ['dgram', 'stream'],
} as const;

export type BuiltinName = keyof typeof BUILTIN_NAMES;

/** True when `name` is an internal service. */
export function isBuiltinName(name: string): name is BuiltinName {
  return Object.hasOwn(BUILTIN_NAMES, name);
}
