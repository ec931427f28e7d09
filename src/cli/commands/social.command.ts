import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { channelIdOf } from '../../simulators/youtube/ids.js';
import { startYouTubeSimulator } from '../../simulators/youtube/index.js';
import { YouTubeClient } from '../../connectors/youtube/index.js';
import { backoffMs } from '../../core/duration.js';
import { classifyFailure, SiphonError } from '../../core/errors.js';
import { ensureAccount, syncYouTubeAccount } from '../../sync/index.js';
import { loadConfig } from '../../config/index.js';
import { withContext } from '../context.js';
import { jsonOption, printRows } from '../output.js';

const ATTEMPTS = 5;

/** Social sync from the command line: platform simulators, and a sync of named accounts. */
export function registerSocialCommands(program: Command): void {
  const simulate = program
    .command('simulate')
    .description('local simulators of the platform APIs (loopback only)');
  simulate
    .command('youtube')
    .description('serve a YouTube Data API v3 simulator with deterministic data')
    .option('--port <port>', 'port on 127.0.0.1 (0: any free port)', (v) => int(v, '--port', 0, 65535), 8101)
    .option('--channels <n>', 'number of channels', (v) => int(v, '--channels', 1, 1_000_000), 30)
    .option('--seed <n>', 'data seed (same seed, same data)', (v) => int(v, '--seed', 0, 2 ** 31), 1)
    .option('--key <key>', 'the API key it accepts', 'sim-key')
    .action(async (options: { port: number; channels: number; seed: number; key: string }) => {
      const sim = await startYouTubeSimulator(
        { seed: options.seed, channels: options.channels, apiKeys: [options.key] },
        options.port,
      );
      const ids = Array.from({ length: Math.min(5, options.channels) }, (_, i) =>
        channelIdOf(options.seed, i),
      );
      process.stdout.write(
        [
          `YouTube simulator on ${sim.baseUrl} (${options.channels} channels, seed ${options.seed})`,
          `  SIPHON_YOUTUBE_BASE_URL=${sim.baseUrl} SIPHON_YOUTUBE_API_KEY=${options.key} \\`,
          `    npm run siphon -- sync youtube ${ids.join(' ')}`,
          '  Stop with Ctrl-C.',
          '',
        ].join('\n'),
      );
      const stop = () => void sim.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  const sync = program
    .command('sync')
    .description('sync social accounts into the raw zone and the unified tables');
  sync
    .command('youtube <channel-id...>')
    .description('sync YouTube channels: profile, new uploads, their comments (resumes an interrupted sync)')
    .addOption(jsonOption())
    .action(async (channelIds: string[], options: { json?: boolean }) => {
      const config = loadConfig();
      if (!config.youtube.apiKey) {
        throw new SiphonError('SIPHON_ERR_CONFIG_INVALID', 'SIPHON_YOUTUBE_API_KEY is not set', {
          field: 'SIPHON_YOUTUBE_API_KEY',
        });
      }
      const client = new YouTubeClient({ baseUrl: config.youtube.baseUrl, apiKey: config.youtube.apiKey });
      await withContext(async ({ writer, logger }) => {
        const rows: Array<Record<string, unknown>> = [];
        for (const channelId of channelIds) {
          const account = await ensureAccount(writer, 'youtube', channelId);
          // Transient and rate-limited failures leave the job resumable: try again after a pause.
          for (let attempt = 1; ; attempt += 1) {
            try {
              const result = await syncYouTubeAccount({ pool: writer, client, logger }, account);
              rows.push({
                channel: channelId,
                job: result.jobId,
                status: result.status,
                resumed: result.resumed,
                error_code: result.errorCode ?? '',
              });
              break;
            } catch (error) {
              if (classifyFailure(error) !== 'retryable' || attempt >= ATTEMPTS) throw error;
              await sleep(backoffMs(attempt, 500, 15_000));
            }
          }
        }
        printRows(rows, ['channel', 'status', 'resumed', 'error_code', 'job'], options);
        if (rows.some((r) => r.status !== 'SUCCESS')) process.exitCode = 1;
      });
    });
}

function int(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}
