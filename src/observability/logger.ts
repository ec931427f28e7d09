import { pino, type Logger } from 'pino';
import { traceLogFields } from './tracing.js';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line. */
const REDACT = [
  'password',
  '*.password',
  'secrets',
  '*.secrets',
  'adminToken',
  '*.adminToken',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'databaseUrl',
  '*.databaseUrl',
  'connectionString',
  '*.connectionString',
];

export function createLogger(options: {
  level: string;
  format: 'pretty' | 'json';
  name?: string;
  /** Where JSON lines go. @default standard error */
  destination?: NodeJS.WritableStream;
}): Logger {
  const base = {
    level: options.level,
    redact: { paths: REDACT, censor: '[redacted]' },
    name: options.name ?? 'siphon',
    // A line written inside a span carries its trace_id and span_id (nothing when tracing is off).
    mixin: traceLogFields,
  };
  if (options.format === 'pretty') {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', destination: 2 },
      },
    });
  }
  return pino(base, options.destination ?? pino.destination(2));
}

/** Removes the password from a connection string before it is shown to anyone. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
