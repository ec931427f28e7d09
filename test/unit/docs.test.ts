import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/index.js';
import { ERROR_CATALOGUE } from '../../src/core/errors.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('reference docs stay in step with the code', () => {
  it('docs/errors.md lists every error code, in catalogue order', () => {
    const doc = read('docs/errors.md');
    const codes = Object.keys(ERROR_CATALOGUE);
    const positions = codes.map((code) => doc.indexOf(code));
    expect(codes.filter((_, i) => positions[i]! < 0)).toEqual([]);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('docs/configuration.md and .env.example name every variable of the config schema', () => {
    const variables = Object.keys(configSchema.shape);
    const doc = read('docs/configuration.md');
    const example = read('.env.example');
    expect(variables.filter((v) => !doc.includes(`\`${v}\``))).toEqual([]);
    expect(variables.filter((v) => !example.includes(v))).toEqual([]);
  });
});
