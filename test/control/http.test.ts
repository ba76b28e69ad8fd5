// The metrics listener on 127.0.0.1 port 0: /metrics with the exposition's content type, 404
// elsewhere, 405 for other methods, and a client outside metrics_from closed before any HTTP.
import http from 'node:http';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAddressList } from '../../src/access/address.js';
import { DEFAULT_METRICS_FROM, MetricsListener, scrapeAllowed } from '../../src/control/http.js';

const listeners: MetricsListener[] = [];
afterEach(() => {
  for (const l of listeners.splice(0)) l.close();
});

async function listen(from: string): Promise<{ l: MetricsListener; records: Array<Record<string, unknown>> }> {
  const records: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug', base: null }, { write: (s: string) => void records.push(JSON.parse(s) as Record<string, unknown>) });
  const l = await MetricsListener.open({ host: '127.0.0.1', port: 0 }, parseAddressList(from).patterns, logger, () => 'ninetd_up 1\n');
  listeners.push(l);
  return { l, records };
}

function request(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string; type?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('scrapeAllowed', () => {
  it.each([
    ['127.0.0.1', DEFAULT_METRICS_FROM, true],
    ['::1', DEFAULT_METRICS_FROM, true],
    ['::ffff:127.0.0.1', DEFAULT_METRICS_FROM, true],
    ['192.0.2.1', DEFAULT_METRICS_FROM, false],
    ['10.1.2.3', parseAddressList('10.0.0.0/8').patterns, true],
    ['127.0.0.1', parseAddressList('10.0.0.0/8').patterns, false],
    [undefined, DEFAULT_METRICS_FROM, false],
  ])('%s with %o: %s', (remote, allow, ok) => {
    expect(scrapeAllowed(remote, allow)).toBe(ok);
  });
});

describe('MetricsListener', () => {
  it('serves /metrics, and 404 and 405 for anything else', async () => {
    const { l } = await listen('127.0.0.1');
    expect(await request(l.port, '/metrics?x=1')).toEqual({ status: 200, body: 'ninetd_up 1\n', type: 'text/plain; version=0.0.4; charset=utf-8' });
    expect((await request(l.port, '/')).status).toBe(404);
    expect((await request(l.port, '/metrics', 'POST')).status).toBe(405);
  });

  it('closes a client outside metrics_from at once, and logs it', async () => {
    const { l, records } = await listen('192.0.2.0/24');
    await expect(request(l.port, '/metrics')).rejects.toMatchObject({ code: expect.stringMatching(/^(ECONNRESET|EPIPE)$/) });
    expect(records).toContainEqual(expect.objectContaining({ msg: 'metrics: refused', rule: '[daemon] metrics_from' }));
  });

  it('fails with ERR_METRICS_LISTEN on a port in use', async () => {
    const { l } = await listen('127.0.0.1');
    await expect(MetricsListener.open({ host: '127.0.0.1', port: l.port }, DEFAULT_METRICS_FROM, pino({ level: 'silent' }), () => '')).rejects.toMatchObject({ code: 'ERR_METRICS_LISTEN' });
  });
});
