import type { Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { closeServer, listen } from '../../src/api/server';
import { collectPageErrors, launchChromium } from '../helpers/browser';
import { startStack, TEST_ADMIN_TOKEN, type TestStack } from '../helpers/stack';

// Chromium's start and bull-board's bundle.
jest.setTimeout(60_000);

describe('the queue dashboard in chromium', () => {
  let stack: TestStack;
  let server: Server;
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
    stack = await startStack({ env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
    server = await listen(stack.api.app, { host: '127.0.0.1', port: 0, requestTimeoutMs: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
    if (server) await closeServer(server, 1000);
    await stack?.stop();
  });

  it('renders every queue for an operator who logs in with basic auth, with nothing refused by the CSP', async () => {
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    const context = await browser.newContext({ httpCredentials: { username: 'ops', password: TEST_ADMIN_TOKEN } });
    const page = await context.newPage();
    // Tests talk to 127.0.0.1 only: the page's Google Fonts link is answered with an empty stylesheet.
    await page.route(/^https:\/\/fonts\.googleapis\.com\//, (route) => route.fulfill({ status: 200, contentType: 'text/css', body: '' }));
    const errors: string[] = [];
    collectPageErrors(page, errors);
    await page.goto(`http://127.0.0.1:${address.port}/admin/queues`);
    for (const name of ['images', 'images-dead-letter', 'webhooks']) {
      await page.getByText(name, { exact: true }).first().waitFor({ timeout: 20_000 });
    }
    expect(errors).toEqual([]);
    await context.close();
  });
});
