import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import type { BatchAccepted } from '../api-types';
import { ApiProblemError, EXIT, UsageError } from '../errors';
import { followBatch } from '../follow-batch';
import { createApiClient, type ApiClient } from '../http-client';
import { accessOf, withServerOptions, type ServerFlags } from '../server-options';
import { createTerminal, type Terminal } from '../terminal';
import { outputFields, withOutputOptions, type OutputFlags } from './output-options';

interface UrlsFlags extends ServerFlags, OutputFlags {
  readonly wait: boolean;
}

export function urlsCommand(): Command {
  const command = new Command('urls')
    .description('have the server fetch and process images by URL (POST /process-urls): a CSV file with a url column, or URLs')
    .argument('<csv-or-urls...>', 'one .csv file, or one or more http(s) URLs');
  return withOutputOptions(withServerOptions(command))
    .option('-w, --wait', 'follow the batch until every URL is processed', false)
    .action(async (sources: string[], flags: UrlsFlags) => {
      process.exitCode = await urls(sources, flags, createTerminal(flags));
    });
}

/** A CSV file (sent whole; the server parses it) or a list of URLs (sent as JSON). */
async function requestOf(sources: readonly string[]): Promise<{ csv: string; size: number } | { urls: string[] }> {
  const [first] = sources;
  const info = first === undefined ? undefined : await stat(first).catch(() => undefined);
  if (first !== undefined && info?.isFile()) {
    if (sources.length > 1) throw new UsageError('Expected one CSV file or a list of URLs, not both');
    return { csv: first, size: info.size };
  }
  const bad = sources.filter((s) => !/^https?:\/\//i.test(s));
  if (bad.length) throw new UsageError(`Expected http(s) URLs or one CSV file but received ${bad.map((s) => JSON.stringify(s)).join(', ')}`);
  return { urls: [...sources] };
}

async function send(client: ApiClient, request: Awaited<ReturnType<typeof requestOf>>, flags: UrlsFlags): Promise<BatchAccepted> {
  try {
    if ('csv' in request) return await client.processUrlCsv(request.csv, request.size, outputFields(flags));
    return await client.processUrlList(request.urls, { ...outputFields(flags), ...(flags.options ? { options: flags.options } : {}) });
  } catch (err) {
    if (err instanceof ApiProblemError && err.code === 'ROUTE_NOT_FOUND') {
      throw new ApiProblemError(err.status, err.code, `${client.server.origin} has no POST /process-urls: this server does not take images by URL (yet)`, err.path);
    }
    throw err;
  }
}

async function urls(sources: readonly string[], flags: UrlsFlags, terminal: Terminal): Promise<number> {
  const request = await requestOf(sources);
  const client = createApiClient(accessOf(flags));
  const accepted = await send(client, request, flags);
  terminal.info(`batch ${accepted.batchId}: ${accepted.totalFiles} URL(s) queued`);
  if (!flags.wait) {
    if (flags.json) terminal.json(accepted);
    return EXIT.ok;
  }
  const names = new Map(accepted.jobs.map((j) => [j.jobId, j.originalName]));
  const progress = terminal.progress({ files: accepted.totalFiles, bytes: 0 });
  const batch = await followBatch(client, accepted.batchId, (file) =>
    progress.fileDone(`${file.state === 'completed' ? 'done' : 'failed'} ${names.get(file.jobId) ?? file.jobId}${file.failedReason ? `: ${file.failedReason}` : ''}`),
  ).finally(() => progress.stop());
  for (const f of batch.files) if (f.state === 'failed') terminal.warn(`failed: ${f.originalName}: ${f.failedReason ?? 'no reason given'}`);
  if (flags.json) terminal.json(batch);
  return batch.files.some((f) => f.state === 'failed') ? EXIT.someFailed : EXIT.ok;
}
