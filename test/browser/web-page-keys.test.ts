import { execFileSync } from 'node:child_process';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { closeServer, listen } from '../../src/api/server';
import { createKey, type CreatedKey } from '../helpers/api-keys';
import { fixtures } from '../fixtures/images';
import { collectPageErrors, launchChromium } from '../helpers/browser';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

const ROOT = path.resolve(__dirname, '../..');

// Chromium's start, a build of the page's script, a key from the real command and one image through a real worker.
jest.setTimeout(120_000);

describe('the upload page on a server with API keys', () => {
  let stack: TestStack;
  let server: Server;
  let baseUrl: string;
  let browser: Browser;
  let page: Page;
  let alice: CreatedKey;
  const errors: string[] = [];
  const streams: { url: string; status: number }[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    execFileSync('npm', ['run', 'build:web', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    alice = await createKey('Alice');
    stack = await startStack({ worker: true, env: { API_KEYS: alice.env } });
    server = await listen(stack.api.app, { host: '127.0.0.1', port: 0, requestTimeoutMs: 30_000 });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    baseUrl = `http://127.0.0.1:${address.port}`;
    page = await (await browser.newContext()).newPage();
    collectPageErrors(page, errors);
    page.on('response', (res) => {
      if (res.url().includes('/events')) streams.push({ url: res.url(), status: res.status() });
    });
  });
  afterAll(async () => {
    await browser?.close();
    if (server) await closeServer(server, 0);
    await stack?.stop();
  });

  it('asks for a key when the server answers 401, and says so when a key is refused', async () => {
    await page.goto(baseUrl);
    await page.getByLabel('Your API key').waitFor();
    await page.getByLabel('Your API key').fill('imgf_not-a-key');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await expect(page.locator('#api-key-message').textContent()).resolves.toMatch(/did not accept that key/);
  });

  it('takes the key, keeps it in sessionStorage only, and loads the server\'s outputs with it', async () => {
    await page.getByLabel('Your API key').fill(alice.key);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.getByRole('checkbox', { name: /^default/ }).waitFor();
    await expect(page.locator('#api-key').isHidden()).resolves.toBe(true);
    // A string: the test's types have no DOM.
    await expect(page.evaluate("[sessionStorage.getItem('imgflow.apiKey'), localStorage.length]")).resolves.toEqual([alice.key, 0]);
  });

  it('uploads, follows the batch over its event stream and shows a decoded preview fetched with the key', async () => {
    await page.setInputFiles('#file-input', [fixtures.rgbaPng]);
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/\/b\/[0-9a-f-]{36}$/);
    await page.locator('#files li[data-state=completed]').waitFor();
    expect(streams).toEqual([expect.objectContaining({ status: 200, url: expect.stringMatching(/\/events\?access_token=imgf_/) })]);
    const preview = page.locator('#files li[data-state=completed] img.preview');
    await waitFor(() => preview.evaluate((img) => Reflect.get(img, 'complete') === true && Number(Reflect.get(img, 'naturalWidth')) > 0), { what: 'the preview decoded' });
    await expect(preview.getAttribute('src')).resolves.toMatch(/^blob:/);
  });

  it('downloads a result with the key, under the server\'s file name', async () => {
    const link = page.locator('#files li[data-state=completed] a.download').first();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('blackbug.jpg');
    expect(await sharp(await download.path()).metadata()).toMatchObject({ format: 'jpeg' });
  });

  it('logged no errors but the two 401s it was asked for', () => {
    // Chromium logs every refused request; the first load's (no key) and the wrong key's are expected.
    const unexpected = errors.filter((e) => !/status of 401/.test(e));
    expect(unexpected).toEqual([]);
  });
});
