import { Command, Option } from 'commander';
import { EXIT } from '../errors';
import { createApiClient } from '../http-client';
import { accessOf, positiveInt, withServerOptions, type ServerFlags } from '../server-options';
import { createTerminal } from '../terminal';

interface DeadLetterFlags extends ServerFlags {
  readonly adminToken?: string;
  readonly limit: number;
}

const withAdminToken = (command: Command) =>
  withServerOptions(command).addOption(new Option('--admin-token <token>', 'the server\'s ADMIN_TOKEN (npm start prints the one it generated)').env('IMGFLOW_ADMIN_TOKEN'));

/** `imgflow dead-letters` lists the jobs that failed for good; `imgflow dead-letters retry <id>` queues one again. */
export function deadLettersCommand(): Command {
  const retry = withAdminToken(new Command('retry').description('put a dead letter back on the queue').argument('<id>', 'the dead letter id (its job id)')).action(
    async (id: string, _local: DeadLetterFlags, command: Command) => {
      // `dead-letters --admin-token T retry ID` puts the token on the parent; take it from there too.
      const flags = command.optsWithGlobals<DeadLetterFlags>();
      const terminal = createTerminal(flags);
      const accepted = await createApiClient(accessOf(flags, flags.adminToken)).retryDeadLetter(id);
      terminal.info(`queued again: job ${accepted.jobId}`);
      if (flags.json) terminal.json(accepted);
      process.exitCode = EXIT.ok;
    },
  );
  const list = withAdminToken(new Command('dead-letters').description('list the jobs that failed for good (operator route: needs the admin token)'))
    .option('--limit <n>', 'how many to list, oldest first', positiveInt, 50)
    .action(async (flags: DeadLetterFlags) => {
      const terminal = createTerminal(flags);
      const { total, items } = await createApiClient(accessOf(flags, flags.adminToken)).deadLetters(0, Math.min(flags.limit, 200));
      terminal.info(`${total} dead letter(s)${items.length < total ? `, the first ${items.length}` : ''}`);
      for (const d of items) terminal.info(`  ${d.id}  ${d.failedAt}  ${d.originalName}: ${d.failedReason} (${d.attemptsMade} attempts)`);
      if (flags.json) terminal.json({ total, items });
      process.exitCode = EXIT.ok;
    });
  return list.addCommand(retry);
}
