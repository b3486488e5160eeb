import { Command } from 'commander';
import type { BatchStatus } from '../api-types';
import { EXIT } from '../errors';
import { followBatch } from '../follow-batch';
import { createApiClient } from '../http-client';
import { accessOf, withServerOptions, type ServerFlags } from '../server-options';
import { createTerminal, type Terminal } from '../terminal';

interface StatusFlags extends ServerFlags {
  readonly wait: boolean;
}

export function statusCommand(): Command {
  const command = new Command('status').description('show a batch: its status and each file\'s state').argument('<batchId>', 'the batch id an upload printed');
  return withServerOptions(command)
    .option('-w, --wait', 'follow the batch until every file is processed', false)
    .action(async (batchId: string, flags: StatusFlags) => {
      process.exitCode = await status(batchId, flags, createTerminal(flags));
    });
}

async function status(batchId: string, flags: StatusFlags, terminal: Terminal): Promise<number> {
  const client = createApiClient(accessOf(flags));
  let batch = await client.batch(batchId);
  if (flags.wait) {
    const names = new Map(batch.files.map((f) => [f.jobId, f.originalName]));
    const progress = terminal.progress({ files: batch.progress.total, bytes: 0 });
    try {
      batch = await followBatch(client, batchId, (file) => progress.fileDone(`${file.state === 'completed' ? 'done' : 'failed'} ${names.get(file.jobId) ?? file.jobId}${file.failedReason ? `: ${file.failedReason}` : ''}`));
    } finally {
      progress.stop();
    }
  }
  describe(terminal, batch);
  if (flags.json) terminal.json(batch);
  return batch.status === 'completed-with-errors' || batch.status === 'failed' ? EXIT.someFailed : EXIT.ok;
}

function describe(terminal: Terminal, batch: BatchStatus): void {
  const { total, completed, failed, active, waiting } = batch.progress;
  terminal.info(`batch ${batch.batchId}: ${batch.status} (${completed}/${total} done, ${failed} failed, ${active} processing, ${waiting} waiting)`);
  for (const f of batch.files) {
    terminal.info(`  ${f.state.padEnd(9)} ${f.originalName}${f.failedReason ? `: ${f.failedReason}` : ''}`);
  }
}
