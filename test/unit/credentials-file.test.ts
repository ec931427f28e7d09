import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCredentialPools } from '../../src/bootstrap/adapters.js';
import { loadConfig } from '../../src/config/index.js';
import { readCredentialsFile } from '../../src/config/credentials-file.js';
import { testTempDir } from '../helpers/tmp.js';

const dir = testTempDir('credentials');
const file = (name: string, body: string) => {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
};

describe('SIPHON_CREDENTIALS_FILE', () => {
  it('builds a pool per platform, named, with each credential’s own limits; the env credential joins', () => {
    const path = file(
      'ok.json',
      JSON.stringify({
        youtube: [
          { name: 'project-a', api_key: 'AIza-a', rate: { daily_units: 5000 } },
          { name: 'project-b', api_key: 'AIza-b' },
        ],
        tiktok: [
          { name: 'research-1', client_key: 'ck', client_secret: 'cs', rate: { calls: 5, window: '1s' } },
        ],
      }),
    );
    const config = loadConfig(
      { SIPHON_ENV_FILE: 'none', SIPHON_CREDENTIALS_FILE: path, SIPHON_YOUTUBE_API_KEY: 'AIza-env' },
      dir,
    );
    const pools = buildCredentialPools(config);
    const youtube = pools.get('youtube')!;
    expect(youtube.map((c) => c.adapter.credentialId)).toEqual(['project-a', 'project-b', 'env']);
    expect(youtube[0]!.limit).toEqual({
      callsPerWindow: 10,
      windowMs: 1000,
      dailyUnits: 5000,
      dayZone: 'America/Los_Angeles',
    });
    expect(youtube[1]!.limit).toBeUndefined();
    expect(pools.get('tiktok')!.map((c) => [c.adapter.credentialId, c.limit?.callsPerWindow])).toEqual([
      ['research-1', 5],
    ]);
  });

  it('refuses a broken file with the field named, never a secret', () => {
    const cases: [string, string, RegExp][] = [
      ['not-json.json', '{ nope', /is not JSON/],
      [
        'dup.json',
        JSON.stringify({
          youtube: [
            { name: 'a', api_key: 'SECRET1' },
            { name: 'a', api_key: 'SECRET2' },
          ],
        }),
        /youtube\.1\.name: names another credential/,
      ],
      [
        'bad-name.json',
        JSON.stringify({ tiktok: [{ name: 'Bad Name', client_key: 'SECRET1', client_secret: 'SECRET2' }] }),
        /tiktok\.0\.name/,
      ],
      [
        'instagram.json',
        JSON.stringify({ instagram: [{ name: 'a', access_token: 'SECRET1' }] }),
        /Unrecognized key/,
      ],
      [
        'bad-rate.json',
        JSON.stringify({ youtube: [{ name: 'a', api_key: 'SECRET1', rate: { window: 'soon' } }] }),
        /youtube\.0\.rate\.window/,
      ],
    ];
    for (const [name, body, message] of cases) {
      const error = (() => {
        try {
          readCredentialsFile(file(name, body));
        } catch (e) {
          return e as Error & { code: string };
        }
        throw new Error(`${name} was accepted`);
      })();
      expect(error.code, name).toBe('SIPHON_ERR_CONFIG_INVALID');
      expect(error.message, name).toMatch(message);
      expect(error.message, name).not.toMatch(/SECRET/);
    }
    expect(() => readCredentialsFile(join(dir, 'missing.json'))).toThrow(/cannot read .*ENOENT/);
  });
});
