// Services built directly on a test Host: states and their timers, suspension, the out-of-
// resources episode, slots. Sockets and connections are real (127.0.0.1); the clock, timers,
// poller and spawn are the test's.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Service } from '../../src/dispatch/service.js';
import { NO_PEERS, testHost, type TestHost } from '../helpers/host.js';
import { planOf } from '../helpers/plan.js';


const open: Service[] = [];
const clients: net.Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  for (const c of clients.splice(0)) c.destroy();
});

function service(t: TestHost, line: string): Service {
  const svc = new Service(planOf(line), t.host, NO_PEERS);
  open.push(svc);
  expect(svc.start()).toBe(true);
  return svc;
}

/** Connects a real client and resolves once the kernel has completed the handshake. */
function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1' });
    clients.push(c);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

/** Resolves with the error code of a connection attempt, or 'connected'. */
function attempt(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect({ port, host: '127.0.0.1' });
    clients.push(c);
    c.once('connect', () => resolve('connected'));
    c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

/** Timers a service owns: every pending one but the resources' probe. */
const pendingCount = (t: TestHost): number => t.timers.pending.size;

describe('Service states', () => {
  it('listens, is full at its instances limit, and listens again when a handler ends', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait/1 - /bin/cat cat');
    expect([svc.stateName(), t.poller(svc.fd).watching]).toEqual(['listening', true]);
    await connect(svc.port);
    t.poller(svc.fd).fire();
    expect(t.children).toHaveLength(1);
    expect([svc.stateName(), t.poller(svc.fd).watching]).toEqual(['full', false]);
    expect(svc.snapshot()).toMatchObject({ state: 'full', children: 1, connections: 1, spawns: 1 });
    t.children[0]!.end({ code: 0, signal: null });
    expect([svc.stateName(), t.poller(svc.fd).watching, svc.snapshot().children]).toEqual(['listening', true, 0]);
  });

  it('is busy with the pid of the wait handler holding its socket, and stops watching until it exits', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp wait - /bin/cat cat');
    await connect(svc.port);
    t.poller(svc.fd).fire();
    const child = t.children[0]!;
    expect(child.req.fd).toBe(svc.fd);
    expect(svc.snapshot()).toMatchObject({ state: 'busy', pid: child.pid });
    expect(t.poller(svc.fd).watching).toBe(false);
    child.end({ code: 0, signal: null });
    expect([svc.stateName(), t.poller(svc.fd).watching]).toEqual(['listening', true]);
  });

  it('gives a slot back once when a handler that never started reports its end as well', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait/2 - /bin/cat cat');
    await connect(svc.port);
    t.poller(svc.fd).fire();
    t.children[0]!.end({ code: null, signal: null, err: Object.assign(new Error('exec failed'), { code: 'ENOENT' }) });
    expect(svc.snapshot()).toMatchObject({ children: 0, spawnErrors: 1 });
  });
});

describe('suspension (the rate guard)', () => {
  it('closes the socket so clients are refused at once, and binds the same port again when it resumes', async () => {
    const t = testHost({ retryTimeMs: 30_000 });
    const svc = service(t, '127.0.0.1:0 stream tcp nowait.1 - /bin/cat cat');
    const port = svc.port;
    await connect(port);
    await connect(port);
    t.poller(svc.fd).fire();
    expect(t.children).toHaveLength(1);
    expect(svc.snapshot()).toMatchObject({ state: 'suspended', suspensions: 1, until: new Date(t.clock.now + 30_000).toISOString() });
    // The connection that tripped the guard was closed unserved: a refusal for "rate", not an access refusal.
    expect(svc.snapshot()).toMatchObject({ connections: 2, refused: 0, refusals: expect.objectContaining({ rate: 1 }) });
    expect(svc.fd).toBe(-1);
    expect(await attempt(port)).toBe('ECONNREFUSED');
    t.timers.advance(30_000);
    expect([svc.stateName(), svc.port]).toEqual(['listening', port]);
    expect(await attempt(port)).toBe('connected');
    expect(t.records.map((r) => r.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/^looping/), 'resumed after suspension']));
  });

  it('keeps its suspension timer through an out-of-resources episode, and close() leaves no timer behind', async () => {
    // The first version kept the suspension and the back-off in one timer field: a back-off
    // during a suspension overwrote the suspension's handle, which close() then never cleared.
    const t = testHost({ retryTimeMs: 30_000 });
    const svc = service(t, '127.0.0.1:0 stream tcp nowait.1 - /bin/cat cat');
    await connect(svc.port);
    await connect(svc.port);
    t.poller(svc.fd).fire();
    expect(svc.stateName()).toBe('suspended');
    // The running handler reports a resource error (as the child_process fallback does).
    t.children[0]!.end({ code: null, signal: null, err: Object.assign(new Error('spawn EMFILE'), { code: 'EMFILE' }) });
    expect(t.host.resources.exhausted).toBe(true);
    expect(svc.stateName()).toBe('suspended');
    svc.close();
    t.host.resources.close();
    expect(pendingCount(t)).toBe(0);
  });
});

describe('out of resources', () => {
  it('serves the client it accepted with the spare descriptor, stops every service, and logs one record at each end of the episode', async () => {
    const t = testHost();
    const a = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    const b = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    await connect(a.port);
    t.dry.value = true;
    t.spawnFailures.push('EMFILE');
    t.poller(a.fd).fire();
    // The retry after giving up the spare served it.
    expect(t.children).toHaveLength(1);
    expect(a.snapshot()).toMatchObject({ spawns: 1, spawnErrors: 0 });
    expect([a.stateName(), b.stateName(), t.poller(a.fd).watching, t.poller(b.fd).watching]).toEqual(['backoff', 'backoff', false, false]);
    t.timers.advance(5_000);
    expect(a.stateName()).toBe('backoff');
    t.dry.value = false;
    t.children[0]!.end({ code: 0, signal: null });
    expect([a.stateName(), b.stateName()]).toEqual(['listening', 'listening']);
    const episode = t.records.filter((r) => /^(out of resources|resources are back)/.test(r.msg)).map((r) => r.msg);
    expect(episode).toEqual([expect.stringMatching(/^out of resources \(EMFILE\)/), expect.stringMatching(/^resources are back/)]);
  });

  it('stops accepting when accept itself runs out, leaving the connection queued', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    t.host.resources.ranOut(Object.assign(new Error('accept: too many open files'), { code: 'EMFILE' }));
    expect([svc.stateName(), t.poller(svc.fd).watching]).toEqual(['backoff', false]);
    await connect(svc.port);
    t.timers.advance(1000);
    expect(svc.stateName()).toBe('listening');
    t.poller(svc.fd).fire();
    expect(t.children).toHaveLength(1);
  });
});

describe('close', () => {
  it('closes the socket and its watch, and a handler ending afterwards changes nothing', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp wait - /bin/cat cat');
    const port = svc.port;
    await connect(port);
    t.poller(svc.fd).fire();
    const poller = t.pollers[0]!;
    svc.close();
    expect([svc.stateName(), poller.closed]).toEqual(['closed', true]);
    t.children[0]!.end({ code: 0, signal: null });
    expect(svc.stateName()).toBe('closed');
    expect(await attempt(port)).toBe('ECONNREFUSED');
    expect(pendingCount(t)).toBe(0);
  });
});

describe('counters in the snapshot', () => {
  it('count handler exits by outcome, with durations, CPU time and the last exit', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    for (let i = 0; i < 3; i++) await connect(svc.port);
    t.poller(svc.fd).fire();
    expect(t.children).toHaveLength(3);
    t.clock.now += 250;
    t.children[0]!.end({ code: 0, signal: null, usage: { utimeUs: 1000, stimeUs: 2000, maxRssKb: 9 } });
    t.children[1]!.end({ code: 2, signal: null });
    t.children[2]!.end({ code: null, signal: 'SIGKILL' });
    expect(svc.snapshot()).toMatchObject({
      exits: { ok: 1, nonzero: 1, signal: 1 },
      durations: { count: 3, sum: 0.75 },
      cpu: { user: 0.001, system: 0.002 },
      lastExit: { pid: t.children[2]!.pid, signal: 'SIGKILL', ms: 250 },
      address: `127.0.0.1:${svc.port}`,
      mode: 'nowait',
    });
  });

  it('are copies: a snapshot does not change afterwards', async () => {
    const t = testHost();
    const svc = service(t, '127.0.0.1:0 stream tcp nowait - /bin/cat cat');
    const before = svc.snapshot();
    await connect(svc.port);
    t.poller(svc.fd).fire();
    t.children[0]!.end({ code: 0, signal: null });
    expect(before).toMatchObject({ connections: 0, exits: { ok: 0 }, durations: { count: 0 } });
  });
});
