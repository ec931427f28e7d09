import { Command, CommanderError } from 'commander';
import { loadConfig } from '../config/index.js';
import { isSiphonError } from '../core/errors.js';
import { VERSION } from '../bootstrap/version.js';
import { createLogger } from '../observability/index.js';
import { registerDatabaseCommands } from './commands/database.command.js';
import { registerPipelineCommands } from './commands/pipelines.command.js';
import { registerServerCommands } from './commands/server.command.js';
import { registerSocialCommands } from './commands/social.command.js';

export function buildProgram(): Command {
  const program = new Command('siphon')
    .description('Configuration-driven ETL pipelines in PostgreSQL')
    .version(VERSION)
    .showHelpAfterError('(run `siphon --help` for the commands)')
    .exitOverride();
  registerServerCommands(program);
  registerDatabaseCommands(program);
  registerPipelineCommands(program);
  registerSocialCommands(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

/** One line, a stable code, a non-zero exit: never a stack trace for a person's mistake. */
function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (unknown command, missing argument, --help).
    return error.exitCode === 0 ? 0 : 2;
  }
  if (isSiphonError(error)) {
    process.stderr.write(`siphon: ${error.message} [${error.code}]\n`);
    return error.code === 'SIPHON_ERR_CLI_USAGE' ? 2 : 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`siphon: unexpected error: ${message} [SIPHON_ERR_INTERNAL]\n`);
  try {
    if (loadConfig().log.level === 'debug')
      createLogger({ level: 'debug', format: 'json' }).debug({ err: error }, 'stack');
  } catch {
    // configuration problems were reported above
  }
  return 1;
}

await main(process.argv);
