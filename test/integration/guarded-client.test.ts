import type { LookupFunction } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildConnector, Agent, request } from 'undici';
import { checkConnectedAddress, createGuardedClient, OutboundRefusedError, type GuardedClient } from '../../src/net';

// Every connection here goes to 127.0.0.1: private and metadata addresses are refused before
// any connection (test/unit/address-policy.test.ts), so no test ever reaches one.

interface Receiver {
  readonly server: Server;
  readonly port: number;
  connections: number;
  requests: string[];
  close(): Promise<void>;
}

async function startReceiver(handler: (url: string, res: import('node:http').ServerResponse) => void = (_u, res) => res.end('ok')): Promise<Receiver> {
  const server = createServer();
  const receiver: Receiver = {
    server,
    port: 0,
    connections: 0,
    requests: [],
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  server.on('connection', () => receiver.connections++);
  server.on('request', (req, res) => {
    receiver.requests.push(`${req.method} ${req.url}`);
    req.resume();
    handler(req.url ?? '', res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(receiver, { port: (server.address() as AddressInfo).port });
}

const loopbackLookup: LookupFunction = (_hostname, options, callback) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

const post = { method: 'POST', body: '{}', timeoutMs: 5000, maxResponseBytes: 1024 } as const;

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OutboundRefusedError) return err.code;
    throw err;
  }
  return 'sent';
}

describe('the guarded client without ALLOW_PRIVATE_URLS', () => {
  let receiver: Receiver;
  let client: GuardedClient;
  beforeEach(async () => {
    receiver = await startReceiver();
    client = createGuardedClient({ allowPrivate: false, lookup: loopbackLookup });
  });
  afterEach(async () => {
    await client.close();
    await receiver.close();
  });

  it('refuses 127.0.0.1 before connecting: the server sees no connection', async () => {
    expect(await refusal(client.request(`http://127.0.0.1:${receiver.port}/hook`, post))).toBe('PRIVATE_ADDRESS');
    expect(receiver.connections).toBe(0);
  });

  it('refuses localhost, a name for loopback, before connecting', async () => {
    const system = createGuardedClient({ allowPrivate: false });
    try {
      expect(await refusal(system.request(`http://localhost:${receiver.port}/hook`, post))).toBe('PRIVATE_ADDRESS');
    } finally {
      await system.close();
    }
    expect(receiver.connections).toBe(0);
  });

  it('refuses a name whose resolver answers 127.0.0.1', async () => {
    expect(await refusal(client.request(`http://hooks.example.test:${receiver.port}/hook`, post))).toBe('PRIVATE_ADDRESS');
    expect(receiver.connections).toBe(0);
  });

  it('checks the address connected to, whatever a resolver said: a socket to loopback is closed before any request', async () => {
    // A resolver the lookup filter does not see (what DNS rebinding amounts to): only the connect check stands.
    const agent = new Agent({ connect: checkConnectedAddress(buildConnector({ lookup: loopbackLookup })) });
    try {
      expect(await refusal(request(`http://rebound.example.test:${receiver.port}/hook`, { dispatcher: agent, method: 'POST', body: '{}' }).catch((err: unknown) => {
        throw err instanceof Error && err.cause instanceof OutboundRefusedError ? err.cause : err;
      }))).toBe('PRIVATE_ADDRESS');
    } finally {
      await agent.close();
    }
    expect(receiver.connections).toBe(1);
    expect(receiver.requests).toEqual([]);
  });
});

describe('the guarded client with ALLOW_PRIVATE_URLS', () => {
  let receiver: Receiver;
  let client: GuardedClient;
  beforeAll(async () => {
    receiver = await startReceiver((url, res) => {
      if (url === '/big') return res.end('x'.repeat(5000));
      if (url === '/to-ftp') return res.writeHead(302, { location: 'ftp://127.0.0.1/' }).end();
      if (url === '/moved') return res.writeHead(302, { location: '/big' }).end();
      if (url === '/hang') return; // never answers
      res.end('ok');
    });
    client = createGuardedClient({ allowPrivate: true });
  });
  afterAll(async () => {
    await client.close();
    await receiver.close();
  });
  const base = () => `http://127.0.0.1:${receiver.port}`;

  it('sends to a loopback receiver and keeps at most maxResponseBytes of the answer', async () => {
    const res = await client.request(`${base()}/big`, post);
    expect(res).toMatchObject({ status: 200, truncated: true });
    expect(res.body.length).toBe(1024);
  });

  it('does not follow redirects unless asked', async () => {
    expect((await client.request(`${base()}/moved`, post)).status).toBe(302);
    const followed = await client.request(`${base()}/moved`, { ...post, maxRedirects: 1 });
    expect(followed).toMatchObject({ status: 200, url: `${base()}/big` });
  });

  it('checks every redirect target like the first URL', async () => {
    expect(await refusal(client.request(`${base()}/to-ftp`, { ...post, maxRedirects: 3 }))).toBe('BAD_SCHEME');
  });

  it('still refuses credentials and other schemes', async () => {
    expect(await refusal(client.request(`http://u:p@127.0.0.1:${receiver.port}/`, post))).toBe('CREDENTIALS_IN_URL');
    expect(await refusal(client.request('file:///etc/passwd', post))).toBe('BAD_SCHEME');
  });

  it('gives up on a receiver that never answers after timeoutMs', async () => {
    const started = Date.now();
    await expect(client.request(`${base()}/hang`, { ...post, timeoutMs: 300 })).rejects.toThrow(/abort|timeout/i);
    // Not before: the receiver had its 300 ms (a little less, for the timer's granularity).
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(receiver.requests).toContain('POST /hang');
  });
});
