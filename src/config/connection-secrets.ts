import { SiphonError } from '../core/errors.js';
import { readCredentialsFile } from './credentials-file.js';
import type { Config } from './load-config.js';

/** What a connection says about its password: a reference, never the secret. */
export interface SecretReference {
  readonly name: string;
  readonly password_env: string | null;
  readonly password_secret: string | null;
}

/**
 * Returns a connection's password from this process's SIPHON_SECRET_* variables or the secrets file;
 * undefined when the connection names none. Throws SIPHON_ERR_CONNECTION_SECRET_MISSING naming the
 * reference (never a value) when this process does not hold it.
 */
export type SecretResolver = (connection: SecretReference) => string | undefined;

export function createSecretResolver(config: Pick<Config, 'secretEnv' | 'credentialsFile'>): SecretResolver {
  return (connection) => {
    if (connection.password_env) {
      const value = config.secretEnv[connection.password_env];
      if (value === undefined) {
        throw new SiphonError(
          'SIPHON_ERR_CONNECTION_SECRET_MISSING',
          `connection ${connection.name}: the environment variable ${connection.password_env} is not set in this process`,
          { field: 'password_env', details: { connection: connection.name } },
        );
      }
      return value;
    }
    if (connection.password_secret) {
      // Read at each opening: a rotated password in the file applies without a restart.
      const entries = config.credentialsFile
        ? (readCredentialsFile(config.credentialsFile).connections ?? [])
        : [];
      const entry = entries.find((e) => e.name === connection.password_secret);
      if (!entry) {
        throw new SiphonError(
          'SIPHON_ERR_CONNECTION_SECRET_MISSING',
          `connection ${connection.name}: the secrets file (SIPHON_CREDENTIALS_FILE) has no connections entry "${connection.password_secret}"`,
          { field: 'password_secret', details: { connection: connection.name } },
        );
      }
      return entry.password;
    }
    return undefined;
  };
}
