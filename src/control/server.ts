// The control socket: a unix stream socket, born with mode 0600 (bindUnix sets the mode at bind
// time, so there is no moment when others could connect), used only by its owner (SO_PEERCRED
// checked on every connection), speaking protocol.ts. Every request is logged at debug with the
// peer's uid. A client can cost the supervisor only a bounded buffer and a timer: a line longer
// than MAX_REQUEST_BYTES, a line that does not arrive in time, or too many clients at once get an
// error reply and a close, and nothing waits on a client. It does not know what a request does;
// the daemon's handler answers it.
import { lstatSync, unlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import * as native from '../native/index.js';
import { CONTROL_CODES, encodeReply, errorReply, LineSplitter, MAX_REQUEST_BYTES, parseRequest, type Reply, type Request } from './protocol.js';

/** The socket file's mode: its owner only. */
export const SOCKET_MODE = 0o600;
/** How long a client may take to send a whole request line, by default. */
const TIMEOUT_MS = 10_000;
/** Control clients at once, by default; more are answered ERR_CONTROL_BUSY and closed. */
const MAX_CLIENTS = 8;
/** Requests of one connection waiting for their answers; more are a client misbehaving. */
const MAX_QUEUED = 16;
/** Replies written and not yet read by the client, in bytes, beyond which it is cut off. */
const MAX_UNREAD_BYTES = 16 * 2 ** 20;
/** Connections accepted per readiness event. */
const BURST = 16;
/** After an accept failed for want of resources, how long to wait before watching again. */
const ACCEPT_RETRY_MS = 1000;

/** Error that keeps the control socket from being created; `cause` is the OS error. */
export class ControlSocketError extends Error {
  readonly code = 'ERR_CONTROL_SOCKET';
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
  }
}

/** Answers one request; the peer's credentials are there for the record. */
export type ControlHandler = (req: Request, peer: { uid: number; pid: number }) => Reply | Promise<Reply>;

/** How a control server is set up. */
export interface ControlServerOptions {
  path: string;
  logger: Logger;
  handle: ControlHandler;
  /** The uid allowed to use the socket; default ours (the effective uid, who owns the file). */
  owner?: number;
  timeoutMs?: number;
  maxClients?: number;
}

/** Removes a socket file left by a dead process; refuses anything else at the path. */
function clearStale(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new ControlSocketError(`${path}: exists and is not a socket (remove it, or set control_socket)`);
  const probe = native.socket(native.constants.AF_UNIX, native.constants.SOCK_STREAM);
  let live = false;
  try {
    native.connect(probe, path);
    live = true;
  } catch (err) {
    // Non-blocking: a live listener whose backlog is full says EAGAIN; only "refused" means dead.
    live = (err as NodeJS.ErrnoException).code !== 'ECONNREFUSED';
  } finally {
    native.close(probe);
  }
  if (live) throw new ControlSocketError(`${path}: in use by a running process (another ninetd?)`);
  unlinkSync(path);
}

/** The daemon's control socket, listening. */
export class ControlServer {
  private readonly clients = new Set<Socket>();
  /** Refused or finished clients being given their last reply. */
  private readonly leaving = new Set<Socket>();
  private readonly poller: native.Poller;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly opts: ControlServerOptions,
    private readonly fd: number,
    /** Device and inode of the socket file we made: only that file is removed at close. */
    private readonly file: { dev: number; ino: number },
  ) {
    this.poller = new native.Poller(fd, (err) => this.onReadable(err));
    this.poller.start();
  }

  /** Creates the socket file (mode 0600) at `opts.path` and listens; throws ControlSocketError. */
  static open(opts: ControlServerOptions): ControlServer {
    clearStale(opts.path);
    const C = native.constants;
    let fd = -1;
    try {
      fd = native.socket(C.AF_UNIX, C.SOCK_STREAM);
      // bind(2) never follows a symlink and fails on any existing file: the path is ours or nothing.
      native.bindUnix(fd, opts.path, SOCKET_MODE);
      const st = lstatSync(opts.path);
      native.listen(fd, 16);
      return new ControlServer(opts, fd, { dev: st.dev, ino: st.ino });
    } catch (err) {
      if (fd >= 0) native.close(fd);
      if (err instanceof ControlSocketError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new ControlSocketError(`${opts.path}: ${e.syscall ?? 'socket'}: ${e.message.replace(/^\w+: /, '')}`, { cause: err });
    }
  }

  get path(): string {
    return this.opts.path;
  }

  /** Stops listening, drops every client, and removes the socket file if it is still ours. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retry);
    this.poller.close();
    native.close(this.fd);
    for (const c of [...this.clients, ...this.leaving]) c.destroy();
    this.clients.clear();
    this.leaving.clear();
    try {
      const st = lstatSync(this.opts.path);
      if (st.dev === this.file.dev && st.ino === this.file.ino) unlinkSync(this.opts.path);
    } catch {
      // gone already
    }
  }

  private onReadable(err: native.NativeError | null): void {
    if (this.closed) return;
    if (err) return this.pause(err);
    for (let i = 0; i < BURST; i++) {
      let conn;
      try {
        conn = native.accept(this.fd, true);
      } catch (e) {
        return this.pause(e as native.NativeError);
      }
      if (!conn) return;
      this.admit(conn.fd);
    }
  }

  /** Accepting failed (out of descriptors?): stop watching for a while instead of spinning. */
  private pause(err: native.NativeError): void {
    this.opts.logger.error({ err: { code: err.code, message: err.message } }, 'control socket: accept failed');
    this.poller.stop();
    this.retry = setTimeout(() => {
      if (!this.closed) this.poller.start();
    }, ACCEPT_RETRY_MS);
  }

  /** Checks who is calling, then reads requests; refusals are one reply and a close. */
  private admit(fd: number): void {
    const log = this.opts.logger;
    let cred;
    try {
      cred = native.getpeercred(fd);
    } catch {
      native.close(fd);
      return;
    }
    const owner = this.opts.owner ?? process.geteuid?.() ?? 0;
    if (cred.uid !== owner) {
      log.warn({ uid: cred.uid, pid: cred.pid }, 'control socket: refused a client that is not its owner');
      return this.turnAway(fd, errorReply(CONTROL_CODES.peer, `uid ${cred.uid} may not use this socket (only uid ${owner} may)`));
    }
    if (this.clients.size >= (this.opts.maxClients ?? MAX_CLIENTS)) {
      log.warn({ uid: cred.uid, pid: cred.pid }, 'control socket: too many clients');
      return this.turnAway(fd, errorReply(CONTROL_CODES.busy, 'too many control clients at once; try again'));
    }
    const sock = adopt(fd);
    if (sock) this.serve(sock, cred);
  }

  /**
   * Answers a refused client and closes. Up to as many refused clients as served ones are given
   * the time to read their reply (see lastReply); beyond that, the reply is sent without waiting
   * and the connection closed at once.
   */
  private turnAway(fd: number, reply: Reply): void {
    if (this.leaving.size >= (this.opts.maxClients ?? MAX_CLIENTS)) return refuseNow(fd, reply);
    const sock = adopt(fd);
    if (!sock) return;
    this.leaving.add(sock);
    sock.once('close', () => this.leaving.delete(sock));
    lastReply(sock, reply, this.opts.timeoutMs ?? TIMEOUT_MS);
  }

  /** Reads request lines from one client and answers each, in order. */
  private serve(sock: Socket, peer: { uid: number; pid: number }): void {
    const log = this.opts.logger;
    const timeoutMs = this.opts.timeoutMs ?? TIMEOUT_MS;
    const lines = new LineSplitter();
    let queued = 0;
    /** The client has sent all it will (half-closed): no more lines to wait for. */
    let ended = false;
    let chain: Promise<void> = Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    this.clients.add(sock);

    /** Sends a last reply and closes. */
    const finish = (reply: Reply): void => {
      clearTimeout(timer);
      sock.removeAllListeners('data');
      sock.removeAllListeners('end');
      lastReply(sock, reply, timeoutMs);
    };
    /** Waits for the next line, for at most timeoutMs. */
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(errorReply(CONTROL_CODES.timeout, `no whole request line within ${timeoutMs} ms`)), timeoutMs);
    };
    const answer = async (line: string): Promise<void> => {
      const req = parseRequest(line);
      let reply: Reply;
      if ('ok' in req) {
        log.debug({ uid: peer.uid, pid: peer.pid, code: req.error.code }, 'control request refused');
        reply = req;
      } else {
        log.debug({ uid: peer.uid, pid: peer.pid, cmd: req.cmd }, 'control request');
        try {
          reply = await this.opts.handle(req, peer);
        } catch (err) {
          log.error({ err }, 'control request failed');
          reply = errorReply(CONTROL_CODES.failed, (err as Error).message);
        }
      }
      if (sock.destroyed || !sock.writable) return;
      // A client that asks and asks but never reads would grow our buffer without end: cut it off.
      if (sock.writableLength > MAX_UNREAD_BYTES) {
        log.debug({ uid: peer.uid, pid: peer.pid }, 'control client does not read its replies; closed');
        sock.destroy();
        return;
      }
      sock.write(encodeReply(reply));
    };

    sock.on('data', (chunk: Buffer) => {
      const got = lines.push(chunk);
      if (got === 'overflow') {
        log.debug({ uid: peer.uid, pid: peer.pid, code: CONTROL_CODES.tooLong }, 'control request refused');
        return finish(errorReply(CONTROL_CODES.tooLong, 'request line too long'));
      }
      for (const line of got) {
        if (line.trim() === '') continue;
        if (++queued > MAX_QUEUED) return finish(errorReply(CONTROL_CODES.busy, 'too many requests waiting on one connection'));
        clearTimeout(timer);
        chain = chain.then(() => answer(line)).then(() => {
          queued -= 1;
          if (queued === 0 && !ended && !sock.destroyed) arm();
        });
      }
    });
    sock.on('end', () => {
      // The client sent all it will: answer what came, then close.
      ended = true;
      clearTimeout(timer);
      void chain.then(() => sock.end());
    });
    sock.on('error', () => sock.destroy());
    sock.once('close', () => {
      clearTimeout(timer);
      this.clients.delete(sock);
    });
    arm();
  }
}

/** A net.Socket on an accepted fd (non-blocking already); null, with the fd closed, if Node refuses it. */
function adopt(fd: number): Socket | null {
  try {
    return new Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
  } catch {
    native.close(fd);
    return null;
  }
}

/**
 * Sends a last reply and closes. Whatever the client still sends is read and dropped, up to
 * MAX_REQUEST_BYTES, so that a client that wrote its request before reading gets the reply and a
 * clean end rather than a reset; a client that sends more, or stays longer than `ms`, is cut off.
 */
function lastReply(sock: Socket, reply: Reply, ms: number): void {
  let dropped = 0;
  const timer = setTimeout(() => sock.destroy(), ms);
  sock.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > MAX_REQUEST_BYTES) sock.destroy();
  });
  sock.on('end', () => sock.destroy());
  sock.on('error', () => sock.destroy());
  sock.once('close', () => clearTimeout(timer));
  sock.end(encodeReply(reply));
}

/** Sends one reply on a just-accepted fd without waiting, and closes it. */
function refuseNow(fd: number, reply: Reply): void {
  try {
    native.send(fd, Buffer.from(encodeReply(reply)));
  } catch {
    // the client is gone, or its buffer is full: it gets the close only
  }
  native.close(fd);
}
