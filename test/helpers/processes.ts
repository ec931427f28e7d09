import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { isPortFree } from '../../src/bootstrap/ports.js';
import { TEST_ROLE_PASSWORDS } from './test-server.js';
import { testTempDir } from './tmp.js';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Environment for a child `siphon` process pointed at a test database. */
export function cliEnv(
  databaseUrl: string | undefined,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SIPHON_HOME: testTempDir('cli'),
    SIPHON_LOG_FORMAT: 'json',
    SIPHON_LOG_LEVEL: 'info',
    SIPHON_READER_PASSWORD: TEST_ROLE_PASSWORDS.reader,
    SIPHON_WRITER_PASSWORD: TEST_ROLE_PASSWORDS.writer,
    SIPHON_API_PASSWORD: TEST_ROLE_PASSWORDS.api,
    SIPHON_SQL_EXTRA_FUNCTIONS: 'pg_sleep',
    // A developer's .env in the checkout must not steer the processes under test.
    SIPHON_ENV_FILE: 'none',
    ...extra,
  };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  return env;
}

const spawned = new Set<ChildProcess>();

/**
 * Starts `siphon <args>` from the TypeScript sources (no build needed). `group: true` gives it a
 * process group of its own, as a terminal does, so a test can signal the whole group (Ctrl-C).
 */
export function spawnCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { group?: boolean } = {},
): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.group === true,
  });
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  return child;
}

/** SIGKILLs every child still running (afterAll): a failed test must not leave a runner behind. */
export async function killAllSpawned(): Promise<void> {
  const alive = [...spawned];
  for (const child of alive) child.kill('SIGKILL');
  await Promise.all(alive.map((child) => exited(child)));
}

/** Runs `siphon <args>` to completion. */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`siphon ${args.join(' ')} timed out; stderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Waits until a child's stderr (JSON logs) contains `text`. */
export function waitForOutput(child: ChildProcess, text: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`no "${text}" in output: ${seen.slice(-2000)}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolvePromise();
      }
    };
    child.stderr!.on('data', onData);
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolvePromise) => child.once('exit', (code) => resolvePromise(code)));
}

/** Small seeded PRNG (mulberry32) so random kill points are reproducible from the printed seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A free port below Linux's ephemeral range (32768+), for a server a test starts as a child: the
 * simulators `siphon start` launches bind port 0, and could otherwise be handed the very port the
 * test found free for the API.
 */
export async function freePortBelowEphemeral(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (await isPortFree(port)) return port;
  }
}
