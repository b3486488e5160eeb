#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { deadLettersCommand } from './commands/dead-letters';
import { keysCommand } from './commands/keys';
import { statusCommand } from './commands/status';
import { uploadCommand } from './commands/upload';
import { urlsCommand } from './commands/urls';
import { ApiProblemError, EXIT, ServerUnreachableError, UsageError } from './errors';

/** imgflow's command line: a client of the public HTTP API and nothing else (README, "CLI"). */
function buildProgram(): Command {
  const program = new Command('imgflow')
    .description('Upload images to an imgflow server, follow them and download the results')
    .addCommand(uploadCommand())
    .addCommand(urlsCommand())
    .addCommand(statusCommand())
    .addCommand(deadLettersCommand())
    .addCommand(keysCommand());
  // Commander exits 1 on a bad flag; exit codes here have one meaning each, so errors come back to main.
  const configure = (command: Command) => {
    command.exitOverride().showHelpAfterError('(add --help for usage)');
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** The exit code for what went wrong, after saying it on stderr. */
function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has printed its message (or the help) already.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof UsageError || err instanceof ServerUnreachableError) {
    process.stderr.write(`imgflow: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof ApiProblemError) {
    const hints: Record<string, string> = {
      ROUTE_NOT_FOUND: ` (the server has no ${err.path.split('?')[0]}: it is older than this CLI)`,
      UNAUTHENTICATED: ' (pass --api-key or set IMGFLOW_API_KEY)',
    };
    const hint = hints[err.code] ?? '';
    process.stderr.write(`imgflow: the server refused ${err.path}: ${err.code}: ${err.detail}${hint}\n`);
    return err.exitCode;
  }
  process.stderr.write(`imgflow: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.someFailed;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    return exitCodeOf(err);
  }
}

// Exit at once rather than when idle HTTP keep-alive sockets close; on Linux, writes to pipes,
// files and terminals are synchronous, so nothing printed is lost.
void main(process.argv).then((code) => process.exit(code));
