// Plans from inetd.conf lines, for tests that build services and tables directly: parsed by the
// real parser with fixed lookups (every service name is port 0, so the kernel picks one; every
// user is uid 4242; no RPC program name is known) and resolved with the built-in defaults unless
// told otherwise.
import { parseConfig, type Lookups } from '../../src/config/parse.js';
import { resolveLimitDefaults, resolveService, type LimitFlags, type ServicePlan } from '../../src/config/resolve.js';
import type { ServiceSettings } from '../../src/config/settings.js';

const LOOKUPS: Lookups = {
  port: () => 0,
  rpc: () => null,
  user: () => ({ uid: 4242, gid: 4242 }),
  group: () => 4242,
  groups: (_user, gid) => [gid],
  executable: () => true,
};

/** The plans of `text` (an inetd.conf); throws on any config error. */
export function plansOf(text: string, opts: { sections?: Record<string, ServiceSettings>; flags?: LimitFlags } = {}): ServicePlan[] {
  const config = parseConfig(text, 'inetd.conf', LOOKUPS);
  if (config.errors.length > 0) throw new Error(config.errors.map((e) => e.message).join('\n'));
  const defaults = resolveLimitDefaults(opts.flags ?? {}, {});
  return config.entries.map((e) => resolveService(e, opts.sections?.[`${e.service}/${e.protocol}`], defaults, {}));
}

/** The plan of one inetd.conf line. */
export function planOf(line: string, opts: Parameters<typeof plansOf>[1] = {}): ServicePlan {
  return plansOf(line, opts)[0]!;
}
