// In-process stream services on an accepted connection (echo, discard, chargen, daytime, time):
// one-shot replies are written and the connection closed at once; the others go to the
// daemon's byte pump (streams.ts), which moves their bytes on the fd and says when they end.
// The connection holds its slot until then. It does not admit (admission.ts) and does not
// implement the protocols (builtins/).
import { peerFields, type ClientAddress } from '../addr/client.js';
import type { BuiltinName } from '../builtins/names.js';
import { BUILTINS, type StreamService } from '../builtins/table.js';
import * as native from '../native/index.js';
import type { NativeError, PumpInfo } from '../native/index.js';
import type { ServiceCore } from './core.js';
import { closeAfterReply, sendQuietly } from './reply.js';
import type { Slot } from './slot.js';
import type { StreamEnd, Streams } from './streams.js';

/** The stream side of an internal service (not tcpmux, which dispatch serves itself). */
export function streamOf(builtin: string | undefined): StreamService | undefined {
  return builtin && builtin !== 'tcpmux' ? BUILTINS[builtin as Exclude<BuiltinName, 'tcpmux'>]?.stream : undefined;
}

/**
 * Serves `fd` as `stream` says: a one-shot reply and a close (then `onEnd` at once; returns
 * null), or through the pump (returns what reads the connection's counts). Throws a NativeError
 * when the pump cannot take it; the fd is then still the caller's.
 */
export function serveStream(
  streams: Streams,
  fd: number,
  stream: StreamService,
  now: () => Date,
  scratch: Buffer,
  onEnd: (end: StreamEnd) => void,
): (() => PumpInfo | null) | null {
  if (stream.kind !== 'once') return streams.serve(fd, stream, onEnd);
  // The reply is a few bytes on a new connection: the write cannot block.
  const reply = stream.reply(now);
  sendQuietly(fd, reply);
  closeAfterReply(fd, scratch);
  onEnd({ reason: 'eof', bytesIn: 0, bytesOut: reply.length });
  return null;
}

/** Serves one accepted connection in-process. */
export function serveInternal(svc: ServiceCore, fd: number, client: ClientAddress, slot: Slot): void {
  const stream = streamOf(svc.plan.entry.builtin)!;
  const t0 = svc.host.now();
  const done = (end: StreamEnd): void => {
    slot.release();
    const ms = svc.host.now() - t0;
    if (svc.host.settings.logConnections) svc.log.info({ ...peerFields(client), ms }, 'connection');
    else if (end.reason === 'idle') svc.log.debug({ ...peerFields(client), ms }, 'idle connection closed');
  };
  try {
    serveStream(svc.host.streams, fd, stream, () => new Date(svc.host.now()), svc.scratch(), done);
  } catch (err) {
    native.close(fd);
    slot.release();
    const e = err as NativeError;
    svc.log.error({ ...peerFields(client), err: { code: e.code, message: e.message } }, 'cannot serve connection');
    svc.host.resources.ranOut(e);
  }
}

/** Whether connections to the entry's service are pumped, and so count against the daemon-wide cap. */
export function pumped(entry: { server: string; socketType: string; builtin?: string | undefined }): boolean {
  if (entry.server !== 'internal' || entry.socketType === 'dgram') return false;
  const s = streamOf(entry.builtin);
  return s !== undefined && s.kind !== 'once';
}
