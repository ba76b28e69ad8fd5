// The one admission path, shared by nowait connections and tcpmux sub-services: access rules
// (the service's own, then the hosts files), the times of day, the per-client limits, the service's state, the
// spawn-rate guard, in that order. A refusal names the setting that refused. It closes nothing
// and logs nothing; the caller does, as its mode requires.
import type { ClientAddress } from '../addr/client.js';
import type { ClientName } from '../access/gate.js';
import { localMinutes, withinTimes } from '../access/times.js';
import type { Admission, ServiceCore } from './core.js';

/** Decides whether `client` is served by `svc` now; on admission the connection holds a slot. */
export function admit(svc: ServiceCore, client: ClientAddress, name?: ClientName, fd?: number): Admission {
  const { refusedBy, hosts } = svc.access(client, name, fd);
  if (refusedBy) return { kind: 'refused', ...refusedBy, hosts };
  const times = svc.plan.access.access_times;
  if (times && !withinTimes(times, localMinutes(svc.host.now()))) return { kind: 'refused', rule: `${svc.plan.section} access_times`, reason: 'access_times', hosts };
  if (client.key) {
    const { perSource, cps } = svc.plan.limits;
    const verdict = svc.perSource.admit(client.key, svc.host.now());
    if (verdict === 'concurrent') return { kind: 'refused', rule: perSource.from, reason: 'per_source', hosts };
    if (verdict === 'rate') return { kind: 'refused', rule: cps.from, reason: 'cps', hosts };
  }
  if (!svc.accepting()) {
    const state = svc.stateName();
    return { kind: 'unavailable', state, reason: state === 'full' ? 'full' : state === 'suspended' ? 'suspended' : null };
  }
  if (svc.looping(client)) return { kind: 'unavailable', state: 'suspended', reason: 'rate' };
  return { kind: 'admitted', slot: svc.slot(client.key ? client : null), hosts };
}
