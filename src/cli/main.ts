import { Command, CommanderError } from 'commander';
import { loadConfig, type Config } from '../config/index.js';
import { isSiphonError } from '../core/errors.js';
import { VERSION } from '../bootstrap/version.js';
import { createLogger, initTracing, type Tracing } from '../observability/index.js';
import { registerDatabaseCommands } from './commands/database.command.js';
import { registerPipelineCommands } from './commands/pipelines.command.js';
import { registerServerCommands } from './commands/server.command.js';
import { registerSocialCommands } from './commands/social.command.js';
import { registerAccountCommands } from './commands/accounts.command.js';
import { usageLine } from './arguments.js';
import { registerConnectionCommands } from './commands/connections.command.js';

export function buildProgram(): Command {
  const program = new Command('siphon')
    .description('Configuration-driven ETL pipelines in PostgreSQL')
    .version(VERSION)
    // Commander's own usage errors become the one line every CLI error is (subcommands inherit this).
    .configureOutput({ outputError: (message, write) => write(usageLine(message)) })
    .exitOverride();
  registerServerCommands(program);
  registerDatabaseCommands(program);
  registerPipelineCommands(program);
  registerSocialCommands(program);
  registerAccountCommands(program);
  registerConnectionCommands(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const tracing = await startTracing();
  // A one-shot command ends when the event loop drains: export the buffered spans then.
  process.once('beforeExit', () => void tracing.shutdown());
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

/**
 * Tracing starts before any command runs, so that the first query is already traced; without
 * OTEL_EXPORTER_OTLP_ENDPOINT nothing is registered. A configuration error is the command's to report.
 */
async function startTracing(): Promise<Tracing> {
  let endpoint: string | undefined;
  try {
    // `otel` is parsed by loadConfig but not yet declared on Config.
    endpoint = (loadConfig() as Config & { readonly otel?: { readonly endpoint?: string } }).otel?.endpoint;
  } catch {
    return initTracing({});
  }
  return initTracing({ endpoint, serviceVersion: VERSION });
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
