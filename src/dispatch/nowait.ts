// nowait stream services: accept a burst of connections, admit each (behind load balancers, once
// their PROXY header has said who the client is), and serve it (a handler, an in-process builtin,
// or the tcpmux multiplexer). Refused clients get the banner_fail file and a clean close. Out of
// descriptors, it stops and leaves the rest in the kernel's backlog.
import { clientAddress, peerFields, type ClientAddress } from '../addr/client.js';
import type { ClientName } from '../access/gate.js';
import type { LogLevel } from '../log/logger.js';
import * as native from '../native/index.js';
import type { NativeError } from '../native/index.js';
import { admit } from './admission.js';
import type { ServiceCore } from './core.js';
import { countRefusal, type RefusalReason } from './counters.js';
import { startHandler } from './handler.js';
import { handlerOverride, prepareConnection, runSpawns } from './options.js';
import { serveInternal } from './internal.js';
import { readProxyHeader } from './proxy.js';
import { serveRedirect } from './redirect.js';
import { closeAfterReply, sendQuietly } from './reply.js';
import { serveTcpmux } from './tcpmux.js';

/** Connections accepted per readiness event before yielding to the event loop. */
const BURST = 32;

/** Accepts and serves up to BURST connections while the service is listening. */
export function acceptBurst(svc: ServiceCore): void {
  for (let i = 0; i < BURST && svc.accepting(); i++) {
    let conn;
    try {
      // Blocking: the handler expects a blocking socket, and O_NONBLOCK would be shared with it.
      conn = native.accept(svc.fd, false);
    } catch (err) {
      const e = err as NativeError;
      if (!svc.host.resources.ranOut(e)) svc.log.error({ err: { code: e.code, message: e.message } }, 'accept failed');
      return;
    }
    if (!conn) return;
    svc.counters.connections += 1;
    const { fd, ...peer } = conn;
    const client = clientAddress(peer);
    if (svc.plan.proxy) readProxyHeader(svc, fd, client, { serve: (c) => admitClient(svc, fd, c), refuse: (c, rule) => refuse(svc, fd, c, rule, 'proxy_from') });
    else admitClient(svc, fd, client);
  }
}

/** Admits and serves `client`, once its name is known when the hosts files want names. */
function admitClient(svc: ServiceCore, fd: number, client: ClientAddress): void {
  if (client.ip && svc.host.hosts?.wantsNames) admitAfterLookup(svc, fd, client);
  else serveAccepted(svc, fd, client);
}

/** Admits and serves one accepted connection, or refuses it. */
export function serveAccepted(svc: ServiceCore, fd: number, client: ClientAddress, name?: ClientName): void {
  const a = admit(svc, client, name, fd);
  if (a.kind === 'unavailable') {
    // The rate guard just tripped (the socket is closed now), or the service left listening.
    if (a.reason) countRefusal(svc.counters, a.reason);
    native.close(fd);
    return;
  }
  // A hosts rule's spawn commands run whether the client is served or refused.
  if (a.hosts) runSpawns(svc, a.hosts);
  if (a.kind === 'refused') {
    if (a.hosts) prepareConnection(svc, fd, a.hosts);
    return refuse(svc, fd, client, a.rule, a.reason, a.hosts?.effects.severity?.level);
  }
  const override = handlerOverride(svc, a.hosts);
  if (typeof override === 'string') {
    a.slot.release();
    return refuse(svc, fd, client, override, 'hosts');
  }
  const e = svc.plan.entry;
  if (a.hosts) prepareConnection(svc, fd, a.hosts);
  setSocketOptions(svc, fd);
  if (svc.banner) sendQuietly(fd, svc.banner);
  if (svc.bannerSuccess) sendQuietly(fd, svc.bannerSuccess);
  // A twist command replaces whatever the entry runs, the multiplexer and builtins included.
  if (override.file) startHandler(svc, fd, client, a.slot, false, override);
  else if (e.builtin === 'tcpmux') serveTcpmux(svc, fd, client, a.slot, name);
  else if (e.redirect) serveRedirect(svc, fd, client, a.slot);
  else if (e.server === 'internal') serveInternal(svc, fd, client, a.slot);
  else startHandler(svc, fd, client, a.slot, false, override);
}

/**
 * hosts files that name hosts need the client's name: look it up (bounded), then admit. The
 * connection holds a slot meanwhile, so lookups cannot pile up past the service's limit.
 */
function admitAfterLookup(svc: ServiceCore, fd: number, client: ClientAddress): void {
  const hold = svc.slot(null);
  void svc.host.hosts!.clientName(client.ip).then((name) => {
    hold.release();
    if (svc.stateName() === 'closed') native.close(fd);
    else serveAccepted(svc, fd, client, name);
  });
}

/** TCP_NODELAY and SO_KEEPALIVE on an accepted tcp connection, when the plan asks (xinetd's NODELAY and KEEPALIVE flags). */
function setSocketOptions(svc: ServiceCore, fd: number): void {
  const { socket } = svc.plan;
  if (svc.plan.entry.transport !== 'tcp' || !(socket.nodelay || socket.keepalive)) return;
  const C = native.constants;
  try {
    if (socket.nodelay) native.setsockopt(fd, C.IPPROTO_TCP, C.TCP_NODELAY, 1);
    if (socket.keepalive) native.setsockopt(fd, C.SOL_SOCKET, C.SO_KEEPALIVE, 1);
  } catch {
    // The client may be gone already; its handler will find out.
  }
}

/** Refuses an accepted connection: banner_fail, then close; logged with the rule and counted. */
export function refuse(svc: ServiceCore, fd: number, client: ClientAddress, rule: string, reason: RefusalReason, level: LogLevel = 'info'): void {
  countRefusal(svc.counters, reason);
  if (svc.bannerFail) sendQuietly(fd, svc.bannerFail);
  closeAfterReply(fd, svc.scratch());
  svc.log[level]({ ...peerFields(client), rule }, 'refused');
}
