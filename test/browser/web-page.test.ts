import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { closeServer, listen } from '../../src/api/server';
import { createShutdown } from '../../src/shutdown';
import { FAILURE_SENTENCES, PROBLEM_SENTENCES } from '../../src/web/client/messages';
import { composeWorker } from '../../src/worker/compose';
import { fixtures } from '../fixtures/images';
import { collectPageErrors, launchChromium } from '../helpers/browser';
import { removeDir } from '../helpers/redis';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

const ROOT = path.resolve(__dirname, '../..');
const SCREENSHOTS = path.join(ROOT, 'test/.screenshots');
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const IMAGES = [fixtures.smallPhotoJpeg, fixtures.rgbaPng, fixtures.webp];

// Chromium's start, a build of the page's script and four real images through a real worker.
jest.setTimeout(120_000);

/** axe-core's serious and critical findings on the page as it is now. */
async function accessibilityProblems(page: Page): Promise<string[]> {
  // Evaluated over the DevTools protocol, not as an inline <script>, which the page's CSP refuses.
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact?: string | null; nodes: { target: unknown }[] }[] }> } }).axe;
    return (await axe.run()).violations.map((v) => ({ id: v.id, impact: v.impact ?? '', targets: v.nodes.map((n) => JSON.stringify(n.target)) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.targets.join(' ')}`);
}

describe('the upload page in chromium, against a real API and worker', () => {
  let stack: TestStack;
  let server: Server;
  let baseUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let stopWorker: (() => Promise<boolean>) | undefined;
  let batchUrl = '';
  const errors: string[] = [];
  const temp = mkdtempSync(path.join(tmpdir(), 'imgflow-web-'));
  const textFile = path.join(temp, 'notes.txt');

  beforeAll(async () => {
    browser = await launchChromium();
    // The page is served compiled: build it the way `npm run build` does, so the test sees what ships.
    execFileSync('npm', ['run', 'build:web', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    writeFileSync(textFile, 'not an image, just some notes\n');
    mkdirSync(SCREENSHOTS, { recursive: true });
    // No worker yet: the batch stays queued until the reload has been seen.
    stack = await startStack();
    server = await listen(stack.api.app, { host: '127.0.0.1', port: 0, requestTimeoutMs: 30_000 });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    baseUrl = `http://127.0.0.1:${address.port}`;
    context = await browser.newContext({ viewport: { width: 1024, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    collectPageErrors(page, errors);
  });
  afterAll(async () => {
    await browser?.close();
    await stopWorker?.();
    if (server) await closeServer(server, 0);
    await stack?.stop();
    removeDir(temp);
  });

  it('refuses the text file at once with its sentence and uploads the images by keyboard', async () => {
    await page.goto(baseUrl);
    await page.getByRole('checkbox', { name: /^default/ }).waitFor();
    await page.setInputFiles('#file-input', [...IMAGES, fixtures.truncatedJpeg, textFile]);
    const refused = page.locator('#selection li.refused');
    await expect(refused.textContent()).resolves.toContain(`notes.txt`);
    await expect(refused.textContent()).resolves.toContain(PROBLEM_SENTENCES.UNSUPPORTED_MEDIA_TYPE as string);
    await expect(page.locator('#selection li:not(.refused)').count()).resolves.toBe(4);

    await page.getByRole('button', { name: 'Upload' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/b\/[0-9a-f-]{36}$/);
    batchUrl = page.url();
    await page.locator('#files li[data-state=waiting]').nth(3).waitFor();
    await expect(page.locator('#files li').count()).resolves.toBe(4);
  });

  it('shows the same queued batch after a reload, then carries on live when a worker starts', async () => {
    await page.reload();
    expect(page.url()).toBe(batchUrl);
    await page.locator('#files li[data-state=waiting]').nth(3).waitFor();
    const names = await page.locator('#files li .name').allTextContents();
    expect(names.sort()).toEqual([...IMAGES, fixtures.truncatedJpeg].map((f) => path.basename(f)).sort());

    const worker = composeWorker(stack.world.config, stack.world.logger);
    void worker.worker.run();
    stopWorker = createShutdown(stack.world.logger, worker.closeSteps);
    // No reload from here on: the open page learns of each file over its event stream.
    await page.locator('#files li[data-state=completed]').nth(2).waitFor();
    await page.locator('#files li[data-state=failed]').waitFor();
    await expect(page.locator('#batch-summary').textContent()).resolves.toBe('Done, some images failed: 3 of 4 done, 1 failed.');
  });

  it('shows a decoded preview per finished image and the failed one\'s reason in plain words', async () => {
    const previews = page.locator('#files li[data-state=completed] img.preview');
    await expect(previews.count()).resolves.toBe(3);
    // Loaded and decoded by the browser: a broken image has naturalWidth 0. A function, not a
    // string: Playwright evaluates a string predicate with eval, which the page's CSP refuses.
    // (Read through Reflect: the test's types have no DOM.)
    const decoded = () => previews.evaluateAll((imgs) => imgs.every((img) => Reflect.get(img, 'complete') === true && Number(Reflect.get(img, 'naturalWidth')) > 0));
    await waitFor(decoded, { what: 'every preview decoded' });
    await expect(page.locator('#files li[data-state=failed] .reason').textContent()).resolves.toBe(FAILURE_SENTENCES.CORRUPT_IMAGE);
    await expect(page.locator('#download-all').isVisible()).resolves.toBe(true);
  });

  it('downloads a result that decodes as the preset\'s format', async () => {
    const link = page.locator('#files li[data-state=completed] a.download').first();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const file = await download.path();
    expect(await sharp(file).metadata()).toMatchObject({ format: 'jpeg', width: expect.any(Number) });
    // Named by the server's Content-Disposition: the input's name (and the variant's, when there are several).
    expect(download.suggestedFilename()).toBe('concert.jpg');
  });

  it('has no serious or critical accessibility violations, in light and in dark at 360 px', async () => {
    await page.screenshot({ path: path.join(SCREENSHOTS, 'batch-light-1024.png'), fullPage: true });
    expect(await accessibilityProblems(page)).toEqual([]);

    const dark = await browser.newContext({ viewport: { width: 360, height: 800 }, colorScheme: 'dark' });
    const narrow = await dark.newPage();
    collectPageErrors(narrow, errors);
    // Opened elsewhere: the shared link shows the same finished batch.
    await narrow.goto(batchUrl);
    await narrow.locator('#files li[data-state=completed]').nth(2).waitFor();
    const width = await narrow.evaluate('document.documentElement.scrollWidth');
    expect(width).toBeLessThanOrEqual(360);
    await narrow.screenshot({ path: path.join(SCREENSHOTS, 'batch-dark-360.png'), fullPage: true });
    expect(await accessibilityProblems(narrow)).toEqual([]);

    await narrow.goto(baseUrl);
    await narrow.getByRole('checkbox', { name: /^default/ }).waitFor();
    await narrow.screenshot({ path: path.join(SCREENSHOTS, 'upload-dark-360.png'), fullPage: true });
    expect(await accessibilityProblems(narrow)).toEqual([]);
    await dark.close();
  });

  it('logged no console errors, uncaught exceptions or CSP refusals', () => {
    expect(errors).toEqual([]);
  });
});
