import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, OPERATOR, VIEWER } from '../helpers/api.js';
import {
  expectCount,
  expectText,
  expectVisible,
  launchChromium,
  screenshot,
  seriousA11yViolations,
} from '../helpers/browser.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createPipeline, startTestRunner, TEST_SQL_POLICY } from '../helpers/runner.js';
import { installDemoPipelines } from '../../src/demo/demo.service.js';
import { changeEnabled, patchPipeline } from '../../src/pipelines/index.js';
import type { Runner } from '../../src/runner/index.js';

// The console in real headless Chromium (Debian's package, driven by playwright-core): sign-in, the
// pages, live progress over server-sent events, roles, CSRF, escaping, cookie flags, accessibility.

const HOSTILE = '<img src=x onerror=alert(1)>';

let db: TestDatabase;
let app: FastifyInstance;
let runner: Runner;
let browser: Browser;
let base: string;
let slowId: string;
let slowerId: string;
const dialogs: string[] = [];
const a11y: Record<string, string[]> = {};

beforeAll(async () => {
  browser = await launchChromium();
  db = await createTestDatabase();
  await db.admin.query(
    `INSERT INTO content.film_work (id, title, rating) SELECT md5(i::text)::uuid, 'Film ' || i, i % 10 FROM generate_series(1, 120) i`,
  );
  await installDemoPipelines(db.admin);
  slowId = (
    await createPipeline(db, {
      name: 'slow_films',
      description: 'One film every 40 ms, ten per batch',
      source_query: 'SELECT id, title FROM content.film_work WHERE pg_sleep(0.04) IS NOT NULL',
      target_table: 'analytics.slow_films',
      unique_key: ['id'],
      mode: 'full',
      batch_size: 10,
    })
  ).id;
  slowerId = (
    await createPipeline(db, {
      name: 'slower_films',
      source_query: 'SELECT id, title FROM content.film_work WHERE pg_sleep(0.05) IS NOT NULL',
      target_table: 'analytics.slower_films',
      unique_key: ['id'],
      mode: 'full',
      batch_size: 10,
    })
  ).id;
  const hostile = await createPipeline(db, {
    name: 'hostile_text',
    description: `desc ${HOSTILE}`,
    source_query: `SELECT id, title FROM content.film_work /* ${HOSTILE} */`,
    target_table: 'analytics.hostile_text',
    unique_key: ['id'],
    mode: 'full',
  });
  // A failed run and an incident whose messages carry markup, as an error from a source could.
  const { rows } = await db.admin.query<{ id: string }>(
    `INSERT INTO etl.etl_runs (pipeline_id, config_version, trigger, mode, status, runner_id, lease_epoch,
                               finished_at, error_code, error, error_details)
     VALUES ($1, 1, 'api', 'full', 'FAILED', $2, 1, now(), 'SIPHON_ERR_SOURCE_QUERY', $3, $4) RETURNING id`,
    [hostile.id, `runner ${HOSTILE}`, `column "${HOSTILE}" does not exist`, JSON.stringify({ batchNo: 3 })],
  );
  await db.admin.query(
    `INSERT INTO etl.incidents (kind, fingerprint, pipeline_id, run_id, error_code, message)
     VALUES ('pipeline_failed', 'hostile', $1, $2, 'SIPHON_ERR_SOURCE_QUERY', $3)`,
    [hostile.id, rows[0]!.id, `incident ${HOSTILE}`],
  );
  await db.admin.query(
    `INSERT INTO etl.quota_limits (platform, credential, calls_per_window, window_ms, daily_units, units_used, day, day_zone)
     VALUES ('youtube', 'key-1', 10, 1000, 10000, 9200, (now() AT TIME ZONE 'America/Los_Angeles')::date, 'America/Los_Angeles')`,
  );
  runner = await startTestRunner(db, { id: 'browser-runner' });
  app = await buildTestApp(db);
  base = await app.listen({ host: '127.0.0.1', port: 0 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await runner?.stop();
  await app?.close();
  await db?.drop();
});

async function newSession(token: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto('/ui');
  expect(new URL(page.url()).pathname).toBe('/ui/sign-in');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/ui`);
  return { context, page };
}

/** Screenshot and accessibility check of the page as it is now. */
async function record(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  a11y[name] = await seriousA11yViolations(page);
}

// The tests' TypeScript has no DOM types: what runs in the page is written as script text.

/** Collects the text the live panel shows in `field` now and every text after, and marks the document to prove it is not reloaded. */
async function watchField(page: Page, field: string): Promise<void> {
  await page.evaluate(`(() => {
    window.notReloaded = true;
    const el = document.querySelector('[data-field=${JSON.stringify(field)}]');
    window.seen = [el.textContent];
    new MutationObserver(() => window.seen.push(el.textContent)).observe(el, {
      childList: true, characterData: true, subtree: true,
    });
  })()`);
}

/** The run statuses the live panel shows until it shows RUNNING (watching from now). */
async function seenRunStatusBeforeRunning(page: Page): Promise<string[]> {
  await watchField(page, 'run_status');
  await expectText(page.locator('[data-field="run_status"]'), 'RUNNING', 15_000);
  return (await seen(page)).slice(0, -1);
}

const seen = (page: Page) => page.evaluate('window.seen') as Promise<string[]>;
const notReloaded = (page: Page) => page.evaluate('window.notReloaded === true') as Promise<boolean>;

/** A POST made by script in the page (what a forged request can do), with the page's own form token or none. */
function postFromPage(
  page: Page,
  url: string,
  withToken: boolean,
): Promise<{ status: number; body: string }> {
  return page.evaluate(`(async () => {
    const input = document.querySelector('input[name="_csrf"]');
    const body = new URLSearchParams(${withToken} ? { _csrf: input.value } : {});
    const res = await fetch(${JSON.stringify(url)}, { method: 'POST', body, redirect: 'manual' });
    return { status: res.status, body: await res.text() };
  })()`) as Promise<{ status: number; body: string }>;
}

describe('console in Chromium', () => {
  let operator: { context: BrowserContext; page: Page };

  it('signs in with a token into an HttpOnly, SameSite=Strict session cookie and shows the overview', async () => {
    await (async () => {
      const context = await browser.newContext({ baseURL: base });
      const page = await context.newPage();
      await page.goto('/ui/sign-in');
      await record(page, '00-sign-in');
      await page.getByLabel('API token').fill('not-a-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expectText(page.getByRole('alert'), 'That token is not valid.');
      expect(await context.cookies()).toEqual([]);
      await context.close();
    })();
    operator = await newSession(OPERATOR);
    const { page, context } = operator;
    const [cookie, ...others] = await context.cookies();
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ name: 'siphon_session', httpOnly: true, sameSite: 'Strict', path: '/ui' });
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(page.url()).not.toContain(OPERATOR);
    expect(await page.content()).not.toContain(OPERATOR);
    await expectText(page.getByRole('heading', { level: 1 }), 'Overview');
    await expectVisible(page.getByText('operator-1 (operator)'));
    await expectVisible(page.getByText('browser-runner'));
    await record(page, '01-overview');
  });

  it('lists the demo pipelines, searchable and filterable', async () => {
    const { page } = operator;
    await page.getByRole('link', { name: 'Pipelines', exact: true }).click();
    for (const name of [
      'film_dim_full',
      'film_dim_incremental',
      'film_rating_agg_full',
      'film_rating_agg_incremental',
    ])
      await expectVisible(page.getByRole('link', { name, exact: true }));
    await record(page, '02-pipelines');
    await page.getByLabel('Search').fill('rating_agg');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expectVisible(page.getByText('2 shown'));
    await expectCount(page.getByRole('link', { name: 'film_dim_full', exact: true }), 0);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Status').selectOption('FAILED');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expectVisible(page.getByText('0 shown'));
  });

  it('runs a pipeline after a confirmation and shows its progress reach SUCCESS without reloading', async () => {
    const { page } = operator;
    await page.goto(`/ui/pipelines/${slowId}`);
    await page.getByRole('link', { name: 'Run', exact: true }).click();
    await expectText(page.getByRole('heading', { level: 1 }), 'Run slow_films?');
    await record(page, '03-confirm');
    await page.getByRole('button', { name: 'Confirm: run' }).click();
    await expectText(page.getByRole('status'), 'Run: the pipeline is now RUN_REQUESTED.');
    await watchField(page, 'run_status');
    await expectText(page.locator('[data-field="run_status"]'), 'SUCCESS', 30_000);
    await expectText(page.locator('[data-field="status"]'), 'IDLE');
    await expectText(page.locator('[data-field="rows_written"]'), '120');
    expect(await seen(page)).toContain('RUNNING');
    expect(await notReloaded(page)).toBe(true);
    await page.getByRole('link', { name: 'Reconcile', exact: true }).click();
    await page.getByRole('button', { name: 'Confirm: reconcile' }).click();
    await expectText(page.getByRole('status'), {
      contains: 'Reconciled: CLEAN: source 120 rows, target 120; 0 missing, 0 extra, 0 changed.',
    });
    await expectText(page.locator('section:has(#h-checkpoint)'), {
      contains: 'Latest reconcile SUCCESS CLEAN: source 120 rows',
    });
    await page.reload();
    await expectVisible(page.locator('svg.chart'));
    await record(page, '04-pipeline');
  });

  it('follows a running run on its page: rows, batches, rate and ETA, then SUCCESS, without reloading', async () => {
    const { page } = operator;
    await page.goto(`/ui/pipelines/${slowId}/confirm/run`);
    await page.getByRole('button', { name: 'Confirm: run' }).click();
    const open = page.getByRole('link', { name: 'open the run' });
    // The link appears once a runner has started the new run; until then the panel says so and
    // never passes the previous run off as this one.
    expect(await seenRunStatusBeforeRunning(page)).not.toContain('SUCCESS');
    await open.click();
    await expectText(page.getByRole('heading', { level: 1 }), 'Run of slow_films');
    await watchField(page, 'batches');
    const eta = page.locator('[data-field="eta"]');
    await expectText(eta, { contains: 'about' }, 10_000); // the previous full run read 120 rows
    await expectText(page.locator('[data-field="rate"]'), { contains: 'rows/s' });
    await expectText(page.locator('[data-field="run_status"]'), 'SUCCESS', 30_000);
    await expectText(eta, 'finished');
    await expectText(page.locator('[data-field="batches"]'), '12');
    expect((await seen(page)).length).toBeGreaterThan(1);
    expect(await notReloaded(page)).toBe(true);
    await page.reload();
    await expectCount(page.locator('ol.ledger li'), 12);
    await record(page, '05-run');
  });

  it('pauses a long run after its current batch and resumes it to the end', async () => {
    const { page } = operator;
    await page.goto(`/ui/pipelines/${slowerId}/confirm/run`);
    await page.getByRole('button', { name: 'Confirm: run' }).click();
    await expectText(page.locator('[data-field="status"]'), 'RUNNING', 15_000);
    await page.getByRole('link', { name: 'Pause', exact: true }).click();
    await page.getByRole('button', { name: 'Confirm: pause' }).click();
    await expectText(page.getByRole('status'), { contains: 'Pause: the pipeline is now PAUSE' });
    await expectText(page.locator('[data-field="status"]'), 'PAUSED', 15_000);
    await expectText(page.locator('[data-field="run_status"]'), 'PAUSED');
    const paused = await db.admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM analytics.slower_films',
    );
    expect(paused.rows[0]!.n).toBeGreaterThan(0);
    expect(paused.rows[0]!.n).toBeLessThan(120);
    await page.reload();
    await page.getByRole('link', { name: 'Resume', exact: true }).click();
    await page.getByRole('button', { name: 'Confirm: resume' }).click();
    await expectText(page.getByRole('status'), 'Resume: the pipeline is now RUN_REQUESTED.');
    await expectText(page.locator('[data-field="status"]'), 'IDLE', 30_000);
    await expectText(page.locator('[data-field="run_status"]'), 'SUCCESS');
    const done = await db.admin.query<{ n: number }>('SELECT count(*)::int AS n FROM analytics.slower_films');
    expect(done.rows[0]!.n).toBe(120);
    const runs = await db.admin.query(
      'SELECT status FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at',
      [slowerId],
    );
    expect(runs.rows.map((r) => r.status)).toEqual(['PAUSED', 'SUCCESS']);
  });

  it('is readable on a phone and usable with the keyboard', async () => {
    const context = await browser.newContext({ baseURL: base, viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto('/ui/sign-in');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.type(OPERATOR);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/ui`);
    for (const [path, name] of [
      ['/ui', '11-phone-overview'],
      ['/ui/pipelines', '12-phone-pipelines'],
      [`/ui/pipelines/${slowId}`, '13-phone-pipeline'],
    ] as const) {
      await page.goto(path);
      // Nothing wider than the screen: tables scroll inside their own box.
      expect(await page.evaluate('document.documentElement.scrollWidth'), path).toBeLessThanOrEqual(390);
      await screenshot(page, name);
    }
    await context.close();
  });

  it('shows a refused action in words, with the code', async () => {
    const { page } = operator;
    await page.goto(`/ui/pipelines/${slowId}/confirm/run`);
    await changeEnabled(db.api, slowId, false, 'test'); // the page is now out of date
    await page.getByRole('button', { name: 'Confirm: run' }).click();
    await expectText(page.getByRole('alert'), { contains: 'SIPHON_ERR_PIPELINE_DISABLED' });
    await expectText(page.getByRole('alert'), {
      contains: 'the pipeline is disabled; enable it before running it',
    });
    await page.getByRole('link', { name: 'Enable', exact: true }).click();
    await page.getByRole('button', { name: 'Confirm: enable' }).click();
    await expectText(page.getByRole('status'), 'The pipeline is enabled.');
  });

  it('creates a mart through the form: a refused query shows its error at the field, a good one validates and saves', async () => {
    const { page } = operator;
    await page.goto('/ui/pipelines');
    await page.getByRole('link', { name: 'New pipeline' }).click();
    await page.getByLabel('Name').fill('film_titles');
    await page
      .getByLabel('Source query')
      .fill(`SELECT id, title FROM content.film_work WHERE pg_terminate_backend(1) -- ${HOSTILE}`);
    await page.getByLabel('Target table').fill('analytics.film_titles');
    await page.getByLabel('Unique key').fill('id');
    await page.getByRole('button', { name: 'Validate (dry run)' }).click();
    const query = page.getByLabel('Source query');
    expect(await query.getAttribute('aria-invalid')).toBe('true');
    await expectText(page.locator('#err-source_query'), { contains: 'SIPHON_ERR_SQL_FORBIDDEN' });
    await expectText(page.locator('#err-source_query'), { contains: 'pg_terminate_backend' });
    expect(await query.getAttribute('aria-describedby')).toContain('err-source_query');
    // What was typed is kept, as text.
    expect(await query.inputValue()).toContain(HOSTILE);
    await record(page, '08-new-pipeline-refused');
    await query.fill('SELECT id, title, rating FROM content.film_work');
    await page.getByRole('button', { name: 'Validate (dry run)' }).click();
    await expectText(page.locator('#h-report'), 'Dry run: valid');
    await expectText(page.getByRole('status'), { contains: 'will be created from these columns' });
    await expectCount(page.locator('caption', { hasText: 'Sample rows' }), 1);
    expect(await page.getByLabel('Source query').getAttribute('aria-invalid')).toBeNull();
    await record(page, '09-new-pipeline-validated');
    await page.getByRole('button', { name: 'Save' }).click();
    await expectText(page.getByRole('status'), 'Pipeline film_titles is created.');
    await expectText(page.getByRole('heading', { level: 1 }), 'film_titles');
    const { rows } = await db.admin.query(
      'SELECT source_query, updated_by FROM etl.etl_pipelines WHERE name = $1',
      ['film_titles'],
    );
    expect(rows[0]).toEqual({
      source_query: 'SELECT id, title, rating FROM content.film_work',
      updated_by: 'operator-1',
    });
  });

  it('edits a pipeline with the version it read, refuses a stale edit, and compares two versions', async () => {
    const { page } = operator;
    await page.goto('/ui/pipelines/film_titles');
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await expectText(page.getByRole('heading', { level: 1 }), 'Edit film_titles');
    expect(await page.getByLabel('Source query').inputValue()).toBe(
      'SELECT id, title, rating FROM content.film_work',
    );
    await page
      .getByLabel('Source query')
      .fill('SELECT id, title, rating FROM content.film_work WHERE rating > 2');
    await page.getByLabel('Batch size').fill('50');
    await record(page, '14-edit-pipeline');
    await page.getByRole('button', { name: 'Save' }).click();
    await expectText(page.getByRole('status'), 'Saved as version 2: source_query, batch_size changed.');
    // A second edit opened at version 2, while someone else saves version 3: refused, nothing lost.
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await patchPipeline(db.api, 'film_titles', { description: 'changed elsewhere' }, 'someone', 2, {
      policy: TEST_SQL_POLICY,
    });
    await page.getByLabel('Batch size').fill('60');
    await page.getByRole('button', { name: 'Save' }).click();
    await expectText(page.getByRole('alert'), { contains: 'SIPHON_ERR_PIPELINE_VERSION' });
    expect(await page.getByLabel('Batch size').inputValue()).toBe('60');
    const { rows } = await db.admin.query(
      'SELECT version, batch_size FROM etl.etl_pipelines WHERE name = $1',
      ['film_titles'],
    );
    expect(rows[0]).toEqual({ version: 3, batch_size: 50 });
    await page.goto('/ui/pipelines/film_titles');
    await page.locator('select[name="from"]').selectOption('1');
    await page.locator('select[name="to"]').selectOption('3');
    await page.getByRole('button', { name: 'Compare' }).click();
    await expectText(page.getByRole('heading', { level: 1 }), 'film_titles: version 1 → 3');
    await expectText(page.getByRole('status'), '3 fields differ: batch_size, description, source_query.');
    await record(page, '15-versions');
  });

  it('renders hostile text in descriptions, queries, run errors and incidents as text, running no script', async () => {
    const { page } = operator;
    await page.goto('/ui/pipelines/hostile_text');
    await expectVisible(page.getByText(`desc ${HOSTILE}`));
    await expectVisible(page.getByText(`/* ${HOSTILE} */`));
    await page.locator('table a', { hasText: /Z$/ }).first().click();
    await expectVisible(page.getByText(`column "${HOSTILE}" does not exist`));
    await expectVisible(page.getByText('in batch 3'));
    await expectVisible(page.getByText(`runner ${HOSTILE}`));
    await page.goto('/ui');
    await expectVisible(page.getByText(`incident ${HOSTILE}`));
    await page.goto('/ui/pipelines?q=' + encodeURIComponent(`"><script>alert(2)</script>`));
    expect(await page.getByLabel('Search').inputValue()).toBe(`"><script>alert(2)</script>`);
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('acknowledges and resolves an incident', async () => {
    const { page } = operator;
    await page.getByRole('link', { name: 'Incidents' }).click();
    await record(page, '06-incidents');
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await expectText(page.getByRole('status'), 'Incident pipeline_failed is now ACKNOWLEDGED.');
    await page.getByRole('button', { name: 'Resolve' }).click();
    await expectText(page.getByRole('status'), 'Incident pipeline_failed is now RESOLVED.');
    const { rows } = await db.admin.query(
      "SELECT status, resolved_by FROM etl.incidents WHERE fingerprint = 'hostile'",
    );
    expect(rows[0]).toEqual({ status: 'RESOLVED', resolved_by: 'operator-1' });
  });

  it('shows the quota burn of each credential on the social page', async () => {
    const { page } = operator;
    await page.getByRole('link', { name: 'Social', exact: true }).click();
    await expectText(page.locator('tbody tr').first(), { contains: '9,200 of 10,000 92 %' });
    await record(page, '10-social');
  });

  it('shows a viewer no action and refuses its forged POST, and any POST without the form token', async () => {
    const viewer = await newSession(VIEWER);
    const { page } = viewer;
    await page.goto(`/ui/pipelines/${slowId}`);
    await expectVisible(page.getByText('Read-only: signed in as a viewer.'));
    await expectCount(page.getByRole('navigation', { name: 'Actions' }), 0);
    await page.goto('/ui/incidents');
    await expectCount(page.getByRole('button', { name: /Acknowledge|Resolve/ }), 0);
    await record(page, '07-viewer-pipeline');
    const forged = await postFromPage(page, `/ui/pipelines/${slowId}/actions/disable`, true);
    expect(forged.status).toBe(403);
    expect(forged.body).toContain('SIPHON_ERR_AUTH_FORBIDDEN');
    const noToken = await postFromPage(operator.page, `/ui/pipelines/${slowId}/actions/disable`, false);
    expect(noToken.status).toBe(403);
    expect(noToken.body).toContain('SIPHON_ERR_CONSOLE_CSRF');
    const { rows } = await db.admin.query('SELECT enabled FROM etl.etl_pipelines WHERE id = $1', [slowId]);
    expect(rows[0].enabled).toBe(true);
    await viewer.context.close();
  });

  it('signs out: the session ends and pages lead back to the sign-in form', async () => {
    const { page, context } = operator;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectText(page.getByRole('heading', { level: 1 }), 'Sign in to Siphon');
    expect(await context.cookies()).toEqual([]);
    await page.goto('/ui/pipelines');
    expect(new URL(page.url()).pathname).toBe('/ui/sign-in');
    await context.close();
  });

  it('axe-core finds no serious or critical violation on any page visited', () => {
    expect(Object.keys(a11y).sort()).toEqual([
      '00-sign-in',
      '01-overview',
      '02-pipelines',
      '03-confirm',
      '04-pipeline',
      '05-run',
      '06-incidents',
      '07-viewer-pipeline',
      '08-new-pipeline-refused',
      '09-new-pipeline-validated',
      '10-social',
      '14-edit-pipeline',
      '15-versions',
    ]);
    expect(a11y).toEqual(Object.fromEntries(Object.keys(a11y).map((k) => [k, []])));
  });
});
