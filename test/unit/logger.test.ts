import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from '../../src/observability/index.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', format: 'json', destination }) };
}

describe('logs never carry secrets', () => {
  it('redacts passwords, tokens, authorization headers and connection strings', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        password: 'p4ssw0rd-secret',
        token: 'sph_admin_secret-token',
        req: { headers: { authorization: 'Bearer sph_admin_secret-token' } },
        config: {
          databaseUrl: 'postgres://u:p4ssw0rd-secret@h/db',
          connectionString: 'postgres://u:p4ssw0rd-secret@h/db',
        },
      },
      'something happened',
    );
    const text = lines.join('');
    expect(text).toContain('something happened');
    expect(text).not.toContain('p4ssw0rd-secret');
    expect(text).not.toContain('sph_admin_secret-token');
    expect(text).toContain('[redacted]');
  });

  it('shows a connection string without its password', () => {
    expect(redactUrl('postgres://siphon:hunter2-secret@db:5432/siphon')).toBe(
      'postgres://siphon:***@db:5432/siphon',
    );
  });
});
