import { Option, type Command } from 'commander';
import { createSecretResolver } from '../../config/index.js';
import { createConnection, deleteConnection, listConnections, testConnection } from '../../sources/index.js';
import { withContext } from '../context.js';
import { jsonOption, printObject, printRows } from '../output.js';

interface CreateOptions {
  kind: string;
  host: string;
  port?: string;
  database: string;
  user: string;
  passwordEnv?: string;
  passwordSecret?: string;
  schemas?: string;
  json?: boolean;
}

/** `siphon connections create|list|test|delete`: named sources in other databases (issue 17). */
export function registerConnectionCommands(program: Command): void {
  const connections = program
    .command('connections')
    .description('named connections to PostgreSQL, MySQL and MariaDB servers that pipelines read from');

  connections
    .command('create <name>')
    .description(
      'store a connection; its password is named (an environment variable or a secrets file entry), never given',
    )
    .addOption(
      new Option('--kind <kind>', 'postgres or mysql (MySQL and MariaDB)')
        .choices(['postgres', 'mysql'])
        .makeOptionMandatory(),
    )
    .requiredOption('--host <host>', 'host name or IP address')
    .option('--port <port>', 'TCP port (default 5432 for postgres, 3306 for mysql)')
    .requiredOption('--database <database>', 'database to connect to')
    .requiredOption('--user <user>', 'login (read-only rights are enough and best)')
    .option('--password-env <variable>', 'environment variable holding the password (SIPHON_SECRET_…)')
    .option('--password-secret <entry>', 'entry of the secrets file (SIPHON_CREDENTIALS_FILE, "connections")')
    .option('--schemas <list>', 'comma-separated schemas (MySQL: databases) source queries may read')
    .addOption(jsonOption())
    .action(async (name: string, options: CreateOptions) => {
      await withContext(async ({ api }) => {
        const created = await createConnection(
          api,
          {
            name,
            kind: options.kind,
            host: options.host,
            ...(options.port === undefined ? {} : { port: Number(options.port) }),
            database: options.database,
            user: options.user,
            ...(options.passwordEnv ? { password_env: options.passwordEnv } : {}),
            ...(options.passwordSecret ? { password_secret: options.passwordSecret } : {}),
            ...(options.schemas ? { allowed_schemas: options.schemas.split(',').map((s) => s.trim()) } : {}),
          },
          'cli',
        );
        printObject({ ...created }, options);
      });
    });

  connections
    .command('list')
    .description('all connections (credentials shown as their reference only)')
    .addOption(jsonOption())
    .action(async (options: { json?: boolean }) => {
      await withContext(async ({ api }) => {
        const rows = (await listConnections(api)).map((c) => ({
          ...c,
          credential: c.password_env ?? (c.password_secret ? `secret:${c.password_secret}` : ''),
        }));
        printRows(
          rows,
          ['name', 'kind', 'host', 'port', 'database', 'user', 'credential', 'allowed_schemas'],
          options,
        );
      });
    });

  connections
    .command('test <name>')
    .description(
      'connect: can it log in, is the credential read-only, which server version (exit 1 if it cannot connect)',
    )
    .addOption(jsonOption())
    .action(async (name: string, options: { json?: boolean }) => {
      await withContext(async ({ api, config }) => {
        const result = await testConnection(
          api,
          {
            resolveSecret: createSecretResolver(config),
            statementTimeoutMs: Math.min(config.runner.statementTimeoutMs, 30_000),
            applicationName: 'siphon-cli',
          },
          name,
        );
        printObject({ ...result }, options);
        if (!result.ok) process.exitCode = 1;
      });
    });

  connections
    .command('delete <name>')
    .description('delete a connection that no pipeline reads through')
    .addOption(jsonOption())
    .action(async (name: string, options: { json?: boolean }) => {
      await withContext(async ({ api }) => {
        const deleted = await deleteConnection(api, name);
        printObject({ deleted: deleted.name }, options);
      });
    });
}
