import { ConfigError } from './config';

/**
 * Runs a process's start-up. A start-up failure ends the process with one clear line on
 * stderr (the logger may not exist yet): a bad setting names its variable, anything else
 * says what failed.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const reason = err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`${name} could not start. ${reason}\n`);
    process.exit(1);
  });
}
