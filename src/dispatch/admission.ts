// The one admission path, shared by nowait connections and tcpmux sub-services: access rules
// (the service's own, then the hosts files), the times of day, the per-client limits, the service's state, the
// spawn-rate guard, in that order. A refusal names the setting that refused. It closes nothing
// and logs nothing; the caller does, as its mode requires.
import type { ClientAddress } from '../addr/client.js';
import type { ClientName } from '../access/gate.js';
import { localMinutes, withinTimes } from '../access/times.js';
import type { Admission, ServiceCore } from './core.js';

/** Decides whether `client` is served by `svc` now; on admission the connection holds a slot. */
export function admit(svc: ServiceCore, client: ClientAddress, name?: ClientName): Admission {
  const rule = svc.refusal(client, name);
  if (rule) return { kind: 'refused', rule };
  const times = svc.plan.access.access_times;
  if (times && !withinTimes(times, localMinutes(svc.host.now()))) return { kind: 'refused', rule: `${svc.plan.section} access_times` };
  if (client.key) {
    const { perSource, cps } = svc.plan.limits;
    const verdict = svc.perSource.admit(client.key, svc.host.now());
    if (verdict === 'concurrent') return { kind: 'refused', rule: perSource.from };
    if (verdict === 'rate') return { kind: 'refused', rule: cps.from };
  }
  if (!svc.accepting()) return { kind: 'unavailable', state: svc.stateName() };
  if (svc.looping()) return { kind: 'unavailable', state: 'suspended' };
  return { kind: 'admitted', slot: svc.slot(client.key ? client : null) };
}
