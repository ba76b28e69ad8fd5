// Ports for tests that must name a port before anything binds it (a config for another daemon, a
// target that must refuse, a port a socket activator binds). Port 0 does not serve there: a port
// freed after listen(0) is back in the kernel's ephemeral pool, where a test running beside this
// one may get it for its own listen(0) or outgoing connection before the intended owner binds it.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Ports this test file has handed out: two services on one port would be a config error. */
const handedOut = new Set<number>();

/** The kernel's ephemeral range starts here; ports below it are never picked for listen(0) or connect(). */
const EPHEMERAL_LOW = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

/** Resolves true when `bind` succeeds. */
function bindable(bind: (ok: () => void, fail: () => void) => void): Promise<boolean> {
  return new Promise((r) => bind(() => r(true), () => r(false)));
}

/** True when `port` can be bound now for both tcp and udp on ::. */
export async function portFree(port: number): Promise<boolean> {
  const s = net.createServer();
  const tcp = await bindable((ok, fail) => s.once('error', fail).listen(port, '::', ok));
  if (!tcp) return false;
  await new Promise<void>((r) => s.close(() => r()));
  const u = dgram.createSocket('udp6');
  const udp = await bindable((ok, fail) => u.once('error', fail).bind(port, '::', ok));
  u.close();
  return udp;
}

/** A port free now for both tcp and udp on ::, below the ephemeral range, and not handed out before by this file. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 10_000 + Math.floor(Math.random() * (Math.max(EPHEMERAL_LOW, 20_000) - 10_000));
    if (handedOut.has(port) || !(await portFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port');
}
