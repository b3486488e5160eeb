import { cachedFor } from '../../src/metrics/cached';
import { failureCode, routeLabel } from '../../src/metrics/labels';

describe('routeLabel', () => {
  it.each([
    ['a matched route by its template', { path: '/jobs/:jobId' }, '', '/jobs/:jobId'],
    ['a route under a mount path with both', { path: '/:id' }, '/things', '/things/:id'],
    ['a mounted app without routes by its mount path', undefined, '/docs', '/docs/*'],
    ['anything unmatched as one label, never its URL', undefined, '', 'unmatched'],
    ['a route whose path is not a string as unmatched', { path: /x/ }, '', 'unmatched'],
  ])('labels %s', (_name, route, baseUrl, label) => {
    expect(routeLabel(route, baseUrl)).toBe(label);
  });
});

describe('failureCode', () => {
  it.each([
    ['TOO_MANY_PIXELS: Expected at most 100 pixels', 'TOO_MANY_PIXELS'],
    ['OUTPUT_WRITE_FAILED: ENOSPC', 'OUTPUT_WRITE_FAILED'],
    ['job stalled more than allowable limit', 'UNKNOWN'],
    ['Error: something', 'UNKNOWN'],
    ['', 'UNKNOWN'],
  ])('reads %j as %s', (reason, code) => {
    expect(failureCode(reason)).toBe(code);
  });
});

describe('cachedFor', () => {
  it('loads once per interval and shares a load in flight', async () => {
    let clock = 0;
    let loads = 0;
    const get = cachedFor(5000, async () => ++loads, () => clock);
    expect(await Promise.all([get(), get()])).toEqual([1, 1]);
    clock = 4999;
    expect(await get()).toBe(1);
    clock = 5000;
    expect(await get()).toBe(2);
  });

  it('does not keep a failed load', async () => {
    let fail = true;
    const get = cachedFor(5000, async () => {
      if (fail) throw new Error('redis down');
      return 'counts';
    }, () => 0);
    await expect(get()).rejects.toThrow('redis down');
    fail = false;
    expect(await get()).toBe('counts');
  });
});
