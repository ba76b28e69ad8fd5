// The one admission path, shared by nowait connections and tcpmux sub-services: access rules
// (the service's own, then the hosts files), the per-client limits, the service's state, the
// spawn-rate guard, in that order. A refusal names the setting that refused. It closes nothing
// and logs nothing; the caller does, as its mode requires.
import type { ClientAddress } from '../addr/client.js';
import type { ClientName } from '../access/gate.js';
import type { Admission, ServiceCore } from './core.js';

/** Decides whether `client` is served by `svc` now; on admission the connection holds a slot. */
export function admit(svc: ServiceCore, client: ClientAddress, name?: ClientName, fd?: number): Admission {
  const { refusedBy, hosts } = svc.access(client, name, fd);
  if (refusedBy) return { kind: 'refused', rule: refusedBy, hosts };
  if (client.key) {
    const { perSource, cps } = svc.plan.limits;
    const verdict = svc.perSource.admit(client.key, svc.host.now());
    if (verdict === 'concurrent') return { kind: 'refused', rule: perSource.from, hosts };
    if (verdict === 'rate') return { kind: 'refused', rule: cps.from, hosts };
  }
  if (!svc.accepting()) return { kind: 'unavailable', state: svc.stateName() };
  if (svc.looping(client)) return { kind: 'unavailable', state: 'suspended' };
  return { kind: 'admitted', slot: svc.slot(client.key ? client : null), hosts };
}
