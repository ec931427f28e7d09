import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import type { RolePasswords } from '../db/roles.js';

/** Secrets Siphon generates for a local installation, kept in SIPHON_HOME/secrets.json (mode 0600). */
export interface LocalSecrets {
  readonly postgresPassword: string;
  readonly adminToken: string;
  readonly viewerToken: string;
  readonly rolePasswords: RolePasswords;
}

const token = (prefix: string) => `${prefix}_${randomBytes(24).toString('base64url')}`;

/**
 * Reads SIPHON_HOME/secrets.json, filling in what is missing with fresh random values. Values set in
 * the environment win over the file. Nothing here is ever logged.
 */
export function loadSecrets(config: Config): LocalSecrets {
  const file = join(config.home, 'secrets.json');
  const stored: Partial<LocalSecrets> = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as LocalSecrets)
    : {};
  const generated: LocalSecrets = {
    postgresPassword: stored.postgresPassword ?? randomBytes(18).toString('base64url'),
    adminToken: stored.adminToken ?? token('sph_admin'),
    viewerToken: stored.viewerToken ?? token('sph_viewer'),
    rolePasswords: {
      reader: stored.rolePasswords?.reader ?? randomBytes(18).toString('base64url'),
      writer: stored.rolePasswords?.writer ?? randomBytes(18).toString('base64url'),
      api: stored.rolePasswords?.api ?? randomBytes(18).toString('base64url'),
    },
  };
  if (JSON.stringify(stored) !== JSON.stringify(generated)) {
    mkdirSync(config.home, { recursive: true });
    writeFileSync(file, `${JSON.stringify(generated, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return {
    postgresPassword: generated.postgresPassword,
    adminToken: config.tokens.admin ?? generated.adminToken,
    viewerToken: config.tokens.viewer ?? generated.viewerToken,
    rolePasswords: {
      reader: config.rolePasswords.reader ?? generated.rolePasswords.reader,
      writer: config.rolePasswords.writer ?? generated.rolePasswords.writer,
      api: config.rolePasswords.api ?? generated.rolePasswords.api,
    },
  };
}
