// Which services a section may turn the PROXY protocol on for: the others are configuration
// errors on the section's proxy_protocol line, and their entries are left out.
import { describe, expect, it } from 'vitest';
import { parseAddressList } from '../../src/access/address.js';
import { checkProxyUse } from '../../src/config/proxy.js';
import type { ServiceSettings } from '../../src/config/settings.js';
import { plansOf } from '../helpers/plan.js';

const entries = (text: string) => plansOf(text).map((p) => p.entry);
const on = (over: ServiceSettings = {}) => ({ proxy_protocol: 'v2' as const, proxy_from: parseAddressList('127.0.0.1').patterns, line: 7, keyLines: { proxy_protocol: 8 }, ...over });

describe('checkProxyUse', () => {
  it.each([
    ['a nowait handler', 'svc stream tcp nowait nobody /bin/cat cat', 'svc/tcp'],
    ['a dual-stack nowait handler', 'svc stream tcp46 nowait nobody /bin/cat cat', 'svc/tcp46'],
    ['an internal stream service', 'echo stream tcp nowait nobody internal', 'echo/tcp'],
    ['the tcpmux multiplexer', 'tcpmux stream tcp nowait root internal', 'tcpmux/tcp'],
  ])('lets %s read a header', (_what, line, name) => {
    const r = checkProxyUse(entries(line), new Map([[name, on()]]), 'ninetd.ini');
    expect(r.errors).toEqual([]);
    expect(r.entries).toHaveLength(1);
  });

  it.each([
    ['a wait stream service (its handler accepts)', 'svc stream tcp wait nobody /bin/cat cat', 'svc/tcp', /inetd\.conf:1 is a wait service/],
    ['a datagram service', 'svc dgram udp wait nobody /bin/cat cat', 'svc/udp', /dgram service/],
    ['an internal datagram service', 'echo dgram udp wait nobody internal', 'echo/udp', /dgram service/],
    ['a unix stream service', '/run/x.sock stream unix nowait nobody /bin/cat cat', '/run/x.sock/unix', /unix socket/],
    ['a tcpmux sub-service', 'tcpmux/+svc stream tcp nowait nobody /bin/cat cat', 'tcpmux/svc/tcp', /tcpmux sub-service/],
  ])('refuses %s, on the proxy_protocol line, and leaves its entry out', (_what, line, name, why) => {
    const r = checkProxyUse(entries(`${line}\nother stream tcp nowait nobody /bin/cat cat\n`), new Map([[name, on()]]), 'ninetd.ini');
    expect(r.errors).toEqual([{ file: 'ninetd.ini', line: 8, code: 'ERR_SETTINGS_PROXY', message: expect.stringMatching(why) }]);
    expect(r.errors[0]!.message.startsWith(`[service:${name}] proxy_protocol: `)).toBe(true);
    expect(r.entries.map((e) => e.service)).toEqual(['other']);
  });

  it('says nothing when the protocol is off, or the section sets no proxy_protocol', () => {
    const e = entries('svc stream tcp wait nobody /bin/cat cat');
    expect(checkProxyUse(e, new Map([['svc/tcp', { proxy_protocol: 'off' as const, line: 1 }]]), 'f').errors).toEqual([]);
    expect(checkProxyUse(e, new Map([['svc/tcp', { nice: 1, line: 1 }]]), 'f').errors).toEqual([]);
  });

  it("falls back to the section's header line when the key lines are not known", () => {
    const { errors } = checkProxyUse(entries('svc stream tcp wait nobody /bin/cat cat'), new Map([['svc/tcp', { ...on(), keyLines: undefined }]]), 'f');
    expect(errors[0]!.line).toBe(7);
  });
});
