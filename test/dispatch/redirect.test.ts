// A redirect service built directly on a test Host: the connection holds its slot while the
// target is being connected, and the connect timeout (a timer the test fires) closes the client,
// gives the slot back and says why. Sockets are real; the poller and timers are the test's, so a
// connect the kernel finished is never reported and the timeout is what ends it.
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { CONNECT_TIMEOUT_MS } from '../../src/dispatch/redirect.js';
import { Service } from '../../src/dispatch/service.js';
import { NO_PEERS, testHost } from '../helpers/host.js';
import { planOf } from '../helpers/plan.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

it('holds the slot while connecting, and on the connect timeout closes the client and gives it back', async () => {
  const target = net.createServer((s) => s.on('error', () => {}));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  cleanup.push(() => target.close());
  const t = testHost();
  const svc = new Service(planOf(`0 stream tcp4 nowait - redirect 127.0.0.1 ${(target.address() as net.AddressInfo).port}`), t.host, NO_PEERS);
  cleanup.push(() => svc.close());
  expect(svc.start()).toBe(true);
  const client = net.connect({ port: svc.port, host: '127.0.0.1' });
  cleanup.push(() => client.destroy());
  await once(client, 'connect');
  t.poller(svc.fd).fire();
  expect(svc.snapshot()).toMatchObject({ connections: 1, children: 1 });
  const closed = once(client, 'close');
  t.timers.advance(CONNECT_TIMEOUT_MS);
  await closed;
  expect(svc.snapshot().children).toBe(0);
  expect(t.records.find((r) => String(r.msg).startsWith('redirect to 127.0.0.1'))).toMatchObject({ err: { code: 'ETIMEDOUT' } });
});
