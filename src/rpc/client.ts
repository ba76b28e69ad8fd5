// Calls the local rpcbind: SET and UNSET over its unix stream socket, which rpcbind trusts (it
// reads our uid with SO_PEERCRED, so root may replace any registration); or, when that socket
// is missing or refuses connections, portmapper version 2 over UDP to 127.0.0.1:111 from a
// privileged port, which rpcbind accepts from loopback and the old portmap from root. One
// connection per call, each reply awaited for a bounded time. It decides nothing about what to
// register (registry.ts does).
import dgram from 'node:dgram';
import net from 'node:net';
import type { RpcNetid } from '../config/types.js';
import { decodeReply, encodeCall, recordMark, RecordReader, type Reply } from './message.js';
import { decodeSetResult, encodeMapping, encodeRpcb, PORTMAP_PROTOCOLS, RPCBIND, type Registration } from './rpcbind.js';
import { XdrError } from './xdr.js';

/** Why a call to rpcbind failed. */
export type RpcbindCode = 'ERR_RPCBIND_REFUSED' | 'ERR_RPCBIND_REPLY' | 'ERR_RPCBIND_UNREACHABLE';

/** A failed rpcbind call: unreachable (not running), refused (answered no), or a reply we cannot read. */
export class RpcbindError extends Error {
  constructor(
    readonly code: RpcbindCode,
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** Errors connecting to the unix socket that mean "no rpcbind listens there": try portmapper v2. Sorted. */
const NO_LOCAL_RPCBIND = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTSOCK']);

/** Where rpcbind is and how long to wait for it. */
export interface RpcbindClientOptions {
  /** rpcbind's unix stream socket; Debian's is /run/rpcbind.sock. */
  socketPath: string;
  /** Longest wait for one reply; default 5000 ms. */
  timeoutMs?: number;
  /** Port of the portmapper fallback on 127.0.0.1 (tests move it); default 111. */
  portmapPort?: number;
}

/** Default rpcbind socket on Debian (and most Linux systems). */
export const RPCBIND_SOCKET = '/run/rpcbind.sock';

/** Lowest and highest source port tried for the portmapper fallback, as bindresvport(3) uses. */
const RESERVED_PORTS = { low: 600, high: 1023 } as const;

/** Sends of one portmapper datagram before giving up. */
const UDP_TRIES = 3;

/** A connection to the unix socket that failed before any byte was sent. */
class NoLocalRpcbind extends Error {}

/** The calls registry.ts makes; RpcbindClient is the real one. */
export interface RpcbindCalls {
  /** Registers a program version at an address; rejects with RpcbindError. */
  set(r: Registration): Promise<void>;
  /** Removes a registration; resolves with every netid it removed for that program version (v2 removes tcp and udp at once). */
  unset(r: Omit<Registration, 'address'>): Promise<RpcNetid[]>;
}

/** Client of the local rpcbind. */
export class RpcbindClient implements RpcbindCalls {
  private xid = Math.floor(Math.random() * 2 ** 32) >>> 0;
  private readonly timeoutMs: number;

  constructor(private readonly opts: RpcbindClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  /** Registers `r`; rejects with RpcbindError when rpcbind is unreachable or says no. */
  async set(r: Registration): Promise<void> {
    const { ok } = await this.call(RPCBIND.set, r);
    if (!ok) throw new RpcbindError('ERR_RPCBIND_REFUSED', `rpcbind refused to register program ${r.program} version ${r.version} over ${r.netid} at ${r.address} (another address holds it)`);
  }

  /** Unregisters `r` (whoever registered it, when we are root); resolves with the netids removed. */
  async unset(r: Omit<Registration, 'address'>): Promise<RpcNetid[]> {
    const { ok, portmap } = await this.call(RPCBIND.unset, { ...r, address: '' });
    if (!ok) throw new RpcbindError('ERR_RPCBIND_REFUSED', `rpcbind refused to unregister program ${r.program} version ${r.version} over ${r.netid} (registered by another user)`);
    return portmap ? ['tcp', 'udp'] : [r.netid];
  }

  private nextXid(): number {
    this.xid = (this.xid + 1) >>> 0;
    return this.xid;
  }

  /** One SET or UNSET: over the unix socket (v4, else v3), or portmapper v2 when that socket is not there. */
  private async call(procedure: number, r: Registration): Promise<{ ok: boolean; portmap: boolean }> {
    const owner = String(process.getuid?.() ?? 0);
    try {
      for (const version of RPCBIND.versions) {
        const reply = await this.overStream(version, procedure, r, owner);
        if (reply.kind === 'prog_mismatch') continue;
        return { ok: this.result(reply), portmap: false };
      }
      throw new RpcbindError('ERR_RPCBIND_REPLY', `${this.opts.socketPath}: rpcbind speaks neither version 4 nor 3`);
    } catch (err) {
      if (!(err instanceof NoLocalRpcbind)) throw err;
      return { ok: await this.overPortmap(procedure, r, err.message), portmap: true };
    }
  }

  /** The bool a SET or UNSET reply carries; other replies become RpcbindError. */
  private result(reply: Reply): boolean {
    if (reply.kind === 'success') {
      try {
        return decodeSetResult(reply.results);
      } catch (err) {
        throw new RpcbindError('ERR_RPCBIND_REPLY', `rpcbind: unreadable result: ${(err as Error).message}`, { cause: err });
      }
    }
    // check_access() answers AUTH_TOOWEAK to a caller it does not take as local.
    if (reply.kind === 'auth_error') throw new RpcbindError('ERR_RPCBIND_REFUSED', `rpcbind refused the call: authentication error ${reply.stat} (not a local caller)`);
    throw new RpcbindError('ERR_RPCBIND_REPLY', `rpcbind answered ${reply.kind.replace('_', ' ')}`);
  }

  /** Sends one record-marked call over the unix socket and reads the reply with its xid. */
  private overStream(version: number, procedure: number, r: Registration, owner: string): Promise<Reply> {
    const path = this.opts.socketPath;
    const xid = this.nextXid();
    const message = encodeCall({ xid, program: RPCBIND.program, version, procedure, args: encodeRpcb(r, owner) });
    return new Promise((resolve, reject) => {
      const sock = net.connect({ path });
      const reader = new RecordReader();
      let connected = false;
      let settled = false;
      const finish = (err: Error | null, reply?: Reply): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve(reply!);
      };
      const timer = setTimeout(() => finish(new RpcbindError('ERR_RPCBIND_UNREACHABLE', `${path}: no reply from rpcbind in ${this.timeoutMs} ms`)), this.timeoutMs);
      sock.on('connect', () => {
        connected = true;
        sock.write(recordMark(message));
      });
      sock.on('data', (chunk) => {
        try {
          for (const record of reader.push(chunk)) {
            const reply = decodeReply(record);
            if (reply.xid === xid) return finish(null, reply);
          }
        } catch (err) {
          finish(new RpcbindError('ERR_RPCBIND_REPLY', `${path}: ${(err as XdrError).message}`, { cause: err }));
        }
      });
      sock.on('error', (err: NodeJS.ErrnoException) => {
        if (!connected && NO_LOCAL_RPCBIND.has(err.code ?? '')) finish(new NoLocalRpcbind(`${path}: connect: ${err.code}`));
        else finish(new RpcbindError('ERR_RPCBIND_UNREACHABLE', `${path}: ${err.code ?? err.message}`, { cause: err }));
      });
      sock.on('close', () => finish(new RpcbindError('ERR_RPCBIND_UNREACHABLE', `${path}: rpcbind closed the connection without a reply`)));
    });
  }

  /** portmapper v2 SET or UNSET over UDP to 127.0.0.1; only the IPv4 netids exist in v2. */
  private async overPortmap(procedure: number, r: Registration, why: string): Promise<boolean> {
    const protocol = r.netid === 'tcp' || r.netid === 'udp' ? PORTMAP_PROTOCOLS[r.netid] : undefined;
    if (protocol === undefined) {
      throw new RpcbindError('ERR_RPCBIND_UNREACHABLE', `rpcbind is not reachable: ${why}, and portmapper version 2 cannot register ${r.netid}`);
    }
    const parts = r.address.split('.');
    const port = procedure === RPCBIND.set ? Number(parts.at(-2)) * 256 + Number(parts.at(-1)) : 0;
    const xid = this.nextXid();
    const message = encodeCall({ xid, program: RPCBIND.program, version: RPCBIND.portmapVersion, procedure, args: encodeMapping(r.program, r.version, protocol, port) });
    const sock = await bindReservedUdp();
    const target = this.opts.portmapPort ?? RPCBIND.port;
    try {
      const reply = await new Promise<Reply>((resolve, reject) => {
        let sends = 0;
        let timer: NodeJS.Timeout | undefined;
        const finish = (err: Error | null, reply?: Reply): void => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve(reply!);
        };
        const send = (): void => {
          if (sends === UDP_TRIES) {
            return finish(new RpcbindError('ERR_RPCBIND_UNREACHABLE', `rpcbind is not reachable: ${why}; 127.0.0.1:${target}: no reply to ${UDP_TRIES} tries`));
          }
          sends += 1;
          sock.send(message);
          timer = setTimeout(send, Math.ceil(this.timeoutMs / UDP_TRIES));
        };
        sock.on('message', (data) => {
          try {
            const reply = decodeReply(data);
            if (reply.xid === xid) finish(null, reply);
          } catch {
            // not our reply; keep waiting
          }
        });
        sock.on('error', (err: NodeJS.ErrnoException) => {
          finish(new RpcbindError('ERR_RPCBIND_UNREACHABLE', `rpcbind is not reachable: ${why}; 127.0.0.1:${target}: ${err.code ?? err.message}`, { cause: err }));
        });
        sock.connect(target, '127.0.0.1', send);
      });
      return this.result(reply);
    } finally {
      sock.close();
    }
  }
}

/**
 * A UDP socket on 127.0.0.1 bound to a privileged port when we may (root), as the old portmap
 * wants of callers that change registrations; else to any port. Bounded: one try per port.
 */
async function bindReservedUdp(): Promise<dgram.Socket> {
  const tryBind = (port: number): Promise<dgram.Socket> =>
    new Promise((resolve, reject) => {
      const sock = dgram.createSocket('udp4');
      sock.once('error', (err) => {
        sock.close();
        reject(err);
      });
      sock.bind({ port, address: '127.0.0.1', exclusive: true }, () => {
        sock.removeAllListeners('error');
        resolve(sock);
      });
    });
  if (process.getuid?.() === 0) {
    for (let port = RESERVED_PORTS.high; port >= RESERVED_PORTS.low; port -= 1) {
      try {
        return await tryBind(port);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      }
    }
  }
  return tryBind(0);
}
