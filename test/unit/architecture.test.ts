import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

/** Runs the project's dependency check over `dir` (its src/); resolves with exit code and report. */
async function depcruise(cwd: string, paths: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(
      process.execPath,
      [DEPCRUISE, ...paths, '--config', CONFIG, '--output-type', 'err'],
      {
        cwd,
      },
    );
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

const scratch: string[] = [];
afterAll(async () => {
  await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
});

/** A throwaway tree laid out like src/, with the given files. */
async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'siphon-arch-'));
  scratch.push(dir);
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext' } }));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

describe('dependency direction (npm run lint:deps)', () => {
  it('passes on the code as it is: no cycle, no arrow back up the layers', { timeout: 60_000 }, async () => {
    const { code, out } = await depcruise(ROOT, ['src', 'bench', 'scripts']);
    expect(out).toMatch(/no dependency violations found/);
    expect(code).toBe(0);
  });

  it('fails when a connector imports the sync engine', { timeout: 60_000 }, async () => {
    const dir = await tree({
      'src/sync/engine.ts': 'export const engine = 1;\n',
      'src/connectors/x/x.adapter.ts':
        "import { engine } from '../../sync/engine.js';\nexport const x = engine;\n",
    });
    const { code, out } = await depcruise(dir, ['src']);
    expect(code).not.toBe(0);
    expect(out).toContain('layer-connectors: src/connectors/x/x.adapter.ts → src/sync/engine.ts');
  });

  it('fails on an import cycle, type-only included', { timeout: 60_000 }, async () => {
    const dir = await tree({
      'src/api/app.ts': "import type { Deps } from './routes.js';\nexport type App = Deps;\n",
      'src/api/routes.ts': "import type { App } from './app.js';\nexport type Deps = { app?: App };\n",
    });
    const { code, out } = await depcruise(dir, ['src']);
    expect(code).not.toBe(0);
    expect(out).toContain('no-circular');
  });

  it('fails when core imports the database driver', { timeout: 60_000 }, async () => {
    const dir = await tree({ 'src/core/rules.ts': "import pg from 'pg';\nexport const p = pg;\n" });
    await mkdir(join(dir, 'node_modules/pg'), { recursive: true });
    await writeFile(join(dir, 'node_modules/pg/package.json'), '{"name":"pg","main":"index.js"}');
    await writeFile(join(dir, 'node_modules/pg/index.js'), 'module.exports = {};');
    const { code, out } = await depcruise(dir, ['src']);
    expect(code).not.toBe(0);
    expect(out).toContain('core-no-io');
  });

  it('fails on a folder of src/ that has no rank', { timeout: 60_000 }, async () => {
    const dir = await tree({
      'src/core/rules.ts': 'export const r = 1;\n',
      'src/misc/helper.ts': "import { r } from '../core/rules.js';\nexport const h = r;\n",
    });
    const { code, out } = await depcruise(dir, ['src']);
    expect(code).not.toBe(0);
    expect(out).toContain('src-folder-known');
  });
});

describe('SQL only in src/db (npm run lint)', () => {
  const source =
    "export async function count(db: { query(sql: string): Promise<unknown> }) {\n  return db.query('SELECT 1');\n}\n";
  const lint = async (filePath: string) => {
    const [result] = await new ESLint({ cwd: ROOT }).lintText(source, { filePath: join(ROOT, filePath) });
    return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
  };

  it('refuses a query call in a feature folder', { timeout: 60_000 }, async () => {
    expect(await lint('src/runner/count.ts')).toContain(
      'no-restricted-syntax: SQL lives in src/db/repositories: add a repository function and call it',
    );
  });

  it('allows it in a repository', { timeout: 60_000 }, async () => {
    expect(await lint('src/db/repositories/count.repository.ts')).toEqual([]);
  });
});
