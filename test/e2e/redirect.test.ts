// `redirect ADDRESS PORT`: the real daemon relays connections to a target server with splice(2):
// 64 MiB each way byte for byte, half-close, a refused target, and the relay counted against
// `instances`. Prints the supervisor's CPU time per MiB relayed (a figure, never a threshold).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { exchange, open } from '../helpers/client.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/ports.js';

const running: RunningDaemon[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  for (const s of servers.splice(0)) s.close();
});

/** A target that echoes each connection back and ends its side when the client ends its own. */
async function echoTarget(): Promise<number> {
  const server = net.createServer((s) => s.on('error', () => {}).pipe(s));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** The supervisor's user+system CPU time in clock ticks. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function relay(target: number): Promise<{ d: RunningDaemon; port: number }> {
  const d = await startDaemon(`0 stream tcp4 nowait - redirect 127.0.0.1 ${target}\n`);
  running.push(d);
  return { d, port: d.port('0') };
}

describe('redirect', () => {
  it('relays 64 MiB each way byte for byte, with half-close, and reports CPU per MiB', async () => {
    const { d, port } = await relay(await echoTarget());
    const data = randomBytes(64 << 20);
    const before = cpuTicks(d.pid);
    const got = await exchange(port, data, { ms: 120_000 });
    const ticks = cpuTicks(d.pid) - before;
    expect(got.length).toBe(data.length);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    const ms = (ticks * 1000) / 100;
    console.log(`redirect: ${128} MiB relayed (64 MiB each way); supervisor CPU ${ms} ms, ${(ms / 128).toFixed(2)} ms per MiB`);
  }, 180_000);

  it('closes the client at once when the target refuses, and logs why', async () => {
    // Nothing listens there, and nothing else takes a port below the ephemeral range.
    const { d, port } = await relay(await freePort());
    expect((await exchange(port)).length).toBe(0);
    await d.waitFor((r) => String(r.msg).startsWith('redirect to 127.0.0.1') && (r.err as { message?: string })?.message === 'connect: connection refused', 'refused record');
  });

  it('keeps the other direction open after one side half-closes', async () => {
    // The target answers only after the client has ended its sending.
    const server = net.createServer((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c) => chunks.push(c));
      s.on('end', () => s.end(`got ${Buffer.concat(chunks).length}\n`));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = await relay((server.address() as net.AddressInfo).port);
    expect((await exchange(port, 'hello', { end: true })).toString()).toBe('got 5\n');
  });

  it('counts a relayed connection as a running instance', async () => {
    const target = await echoTarget();
    const d = await startDaemon(`0 stream tcp4 nowait/1 - redirect 127.0.0.1 ${target}\n`);
    running.push(d);
    const port = d.port('0');
    const first = await open(port);
    first.write('one');
    expect(await first.nextData()).toBe('one');
    process.kill(d.pid, 'SIGUSR2');
    const state = await d.waitFor((r) => r.msg === 'state', 'state record');
    expect((state.services as Array<{ state: string; children: number }>)[0]).toMatchObject({ state: 'full', children: 1 });
    // The second connection waits in the backlog until the first ends.
    const second = exchange(port, 'two');
    first.end();
    expect((await second).toString()).toBe('two');
  });
});
