import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommentRow, ProfileRow } from '../../src/connectors/connector.js';
import { withTransaction } from '../../src/db/pool.js';
import { claimPageCommit, commitWholeCommentsPage } from '../../src/db/repositories/sync-jobs.repository.js';
import {
  payloadHash,
  upsertCommentsOfWholePass,
  type RawResponseInsert,
} from '../../src/db/repositories/social-tables.repository.js';
import {
  commitProfilePage,
  enqueueTasks,
  purgeReturnedSteps,
} from '../../src/db/repositories/sync-queue.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// The page commits that write in one statement what used to take several: the claim with the raw
// responses, and a post's comments that are the whole pass (claim, raw, comments, deletion marks and
// the task's progress). Each must write everything when the claim holds and nothing when it does not.

let db: TestDatabase;
let jobId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  const { rows } = await db.admin.query<{ id: string }>(
    `WITH a AS (INSERT INTO social.accounts (platform, external_id) VALUES ('youtube', 'UC1') RETURNING id)
     INSERT INTO etl.sync_jobs (account_id, platform, status) SELECT id, 'youtube', 'RUNNING' FROM a RETURNING id`,
  );
  jobId = rows[0]!.id;
});
afterAll(async () => {
  await db.drop();
});

async function commentsTask(post: string, cursor: string | null = null): Promise<number> {
  const { rows } = await db.admin.query<{ id: number }>(
    `INSERT INTO etl.sync_tasks (job_id, kind, external_id, cursor) VALUES ($1, 'comments', $2, $3) RETURNING id`,
    [jobId, post, cursor],
  );
  return Number(rows[0]!.id);
}

function comment(id: string, post: string, text: string): CommentRow {
  return {
    external_id: id,
    post_external_id: post,
    parent_external_id: null,
    author: 'someone',
    text,
    like_count: 1,
    published_at: '2026-01-02T03:04:05.000Z',
    edited_at: null,
  };
}

function raw(taskId: number, post: string, payload: unknown): RawResponseInsert {
  return {
    platform: 'youtube',
    kind: 'comments_page',
    externalId: post,
    request: { path: '/commentThreads', videoId: post },
    payload,
    payloadHash: payloadHash(payload),
    syncTaskId: taskId,
  };
}

/** A whole comments pass of one comment, as commitWholeCommentsPage takes it. */
function onePostPage(taskId: number, post: string, commentId: string) {
  return {
    taskId,
    platform: 'youtube',
    post,
    rows: [comment(commentId, post, 'x')],
    raws: [raw(taskId, post, { items: [{ id: commentId }] })],
    calls: 1,
  };
}

async function comments(post: string) {
  const { rows } = await db.admin.query<{ external_id: string; text: string; deleted: boolean }>(
    `SELECT external_id, text, deleted_at IS NOT NULL AS deleted FROM social.comments
      WHERE platform = 'youtube' AND post_external_id = $1 ORDER BY external_id`,
    [post],
  );
  return rows;
}

async function rawsOf(taskId: number) {
  const { rows } = await db.admin.query(
    `SELECT kind, external_id, request, payload, payload_hash FROM social.raw_responses
      WHERE sync_task_id = $1 ORDER BY id`,
    [taskId],
  );
  return rows;
}

async function task(taskId: number) {
  const { rows } = await db.admin.query(
    `SELECT status, cursor, pages, items, written, calls, finished_at IS NOT NULL AS finished
       FROM etl.sync_tasks WHERE id = $1`,
    [taskId],
  );
  return rows[0];
}

describe('page commits in one statement', () => {
  it('a whole comments pass: comments, deletion marks of the others, raw response and progress, once', async () => {
    // Stored before: c1 (changed now), c2 (gone from the platform), c3 (unchanged).
    await upsertCommentsOfWholePass(db.writer, 'youtube', 'v1', [
      comment('c1', 'v1', 'old'),
      comment('c2', 'v1', 'gone soon'),
      comment('c3', 'v1', 'same'),
    ]);
    const taskId = await commentsTask('v1');
    const payload = { kind: 'youtube#commentThreadListResponse', items: [{ id: 'c1' }, { id: 'c3' }] };
    const page = {
      taskId,
      platform: 'youtube',
      post: 'v1',
      rows: [comment('c1', 'v1', 'new'), comment('c3', 'v1', 'same'), comment('c4', 'v1', 'first')],
      raws: [raw(taskId, 'v1', payload)],
      calls: 1,
    };
    expect(await commitWholeCommentsPage(db.writer, page)).toEqual({ claimed: true, written: 2 });
    expect(await comments('v1')).toEqual([
      { external_id: 'c1', text: 'new', deleted: false },
      { external_id: 'c2', text: 'gone soon', deleted: true },
      { external_id: 'c3', text: 'same', deleted: false },
      { external_id: 'c4', text: 'first', deleted: false },
    ]);
    expect(await rawsOf(taskId)).toEqual([
      {
        kind: 'comments_page',
        external_id: 'v1',
        request: { path: '/commentThreads', videoId: 'v1' },
        payload,
        payload_hash: payloadHash(payload),
      },
    ]);
    expect(await task(taskId)).toEqual({
      status: 'DONE',
      cursor: null,
      pages: 1,
      items: 3,
      written: 2,
      calls: 1,
      finished: true,
    });

    // The same page again (a second worker, or the step run again after a crash): the claim fails
    // and nothing changes, not even the rows the page would now rewrite.
    const again = { ...page, rows: [comment('c1', 'v1', 'newer')], calls: 5 };
    expect(await commitWholeCommentsPage(db.writer, again)).toEqual({ claimed: false, written: 0 });
    expect((await comments('v1')).map((c) => [c.external_id, c.text, c.deleted])).toEqual([
      ['c1', 'new', false],
      ['c2', 'gone soon', true],
      ['c3', 'same', false],
      ['c4', 'first', false],
    ]);
    expect(await rawsOf(taskId)).toHaveLength(1);
    expect(await task(taskId)).toMatchObject({ pages: 1, items: 3, written: 2, calls: 1 });
  });

  it('a pass with no comments marks every stored comment of the post deleted', async () => {
    await upsertCommentsOfWholePass(db.writer, 'youtube', 'v2', [comment('d1', 'v2', 'x')]);
    const taskId = await commentsTask('v2');
    const result = await commitWholeCommentsPage(db.writer, {
      taskId,
      platform: 'youtube',
      post: 'v2',
      rows: [],
      raws: [raw(taskId, 'v2', { items: [] })],
      calls: 1,
    });
    expect(result).toEqual({ claimed: true, written: 0 });
    expect(await comments('v2')).toEqual([{ external_id: 'd1', text: 'x', deleted: true }]);
    expect(await task(taskId)).toMatchObject({ status: 'DONE', items: 0, written: 0 });
  });

  it('a task whose job ended, or that moved past the page, is not claimed', async () => {
    const moved = await commentsTask('v3', 'page-2');
    // The step started from the first page (cursor null) but the task is already at page 2.
    expect(await commitWholeCommentsPage(db.writer, onePostPage(moved, 'v3', 'e1'))).toEqual({
      claimed: false,
      written: 0,
    });
    expect(await comments('v3')).toEqual([]);
    expect(await rawsOf(moved)).toEqual([]);

    // claimPageCommit (the transaction path) stores several raw responses with its claim, or none.
    const open = await commentsTask('v4', 'page-2');
    const raws = [raw(open, 'v4', { page: 2 }), raw(open, 'v4', { replies: true })];
    expect(await withTransaction(db.writer, (tx) => claimPageCommit(tx, open, null, raws))).toBe(false);
    expect(await rawsOf(open)).toEqual([]);
    expect(await withTransaction(db.writer, (tx) => claimPageCommit(tx, open, 'page-2', raws))).toBe(true);
    expect((await rawsOf(open)).map((r) => r.payload)).toEqual([{ page: 2 }, { replies: true }]);

    await db.admin.query(`UPDATE etl.sync_jobs SET status = 'FAILED' WHERE id = $1`, [jobId]);
    const late = await commentsTask('v5');
    expect(await commitWholeCommentsPage(db.writer, onePostPage(late, 'v5', 'f1'))).toEqual({
      claimed: false,
      written: 0,
    });
    expect(await comments('v5')).toEqual([]);
  });
});

describe('steps a stopping runner hands back', () => {
  it('are removed when their task is finished, kept when it is open or another runner holds them', async () => {
    await db.admin.query(`UPDATE etl.sync_jobs SET status = 'RUNNING' WHERE id = $1`, [jobId]);
    const done = await commentsTask('w1');
    const open = await commentsTask('w2');
    const taken = await commentsTask('w3');
    await enqueueTasks(db.writer, [done, open, taken]);
    await db.admin.query(`UPDATE etl.sync_tasks SET status = 'DONE' WHERE id = ANY($1::bigint[])`, [
      [done, taken],
    ]);
    await db.admin.query(
      `UPDATE graphile_worker._private_jobs SET locked_at = now(), locked_by = 'another-pool'
        WHERE key = $1`,
      [`sync-task:${taken}`],
    );
    const { rows } = await db.admin.query<{ id: string; key: string }>(
      'SELECT id::text, key FROM graphile_worker.jobs ORDER BY id',
    );
    expect(rows.map((r) => r.key)).toEqual([`sync-task:${done}`, `sync-task:${open}`, `sync-task:${taken}`]);
    expect(
      await purgeReturnedSteps(
        db.writer,
        rows.map((r) => r.id),
      ),
    ).toBe(1);
    const { rows: left } = await db.admin.query<{ key: string }>(
      'SELECT key FROM graphile_worker.jobs ORDER BY id',
    );
    expect(left.map((r) => r.key)).toEqual([`sync-task:${open}`, `sync-task:${taken}`]);
    expect(await purgeReturnedSteps(db.writer, [])).toBe(0);
  });
});

describe('a profile page in one statement', () => {
  it('writes the profile, opens and queues its streams, ends the task; a second commit writes nothing', async () => {
    await db.admin.query(`UPDATE etl.sync_jobs SET status = 'RUNNING' WHERE id = $1`, [jobId]);
    const { rows: created } = await db.admin.query<{ id: string }>(
      `INSERT INTO etl.sync_tasks (job_id, kind, external_id) VALUES ($1, 'profile', 'UC1') RETURNING id`,
      [jobId],
    );
    const taskId = Number(created[0]!.id);
    const profile: ProfileRow = {
      external_id: 'UC1',
      handle: '@one',
      title: 'Channel one',
      description: null,
      country: 'FR',
      published_at: '2020-01-01T00:00:00.000Z',
      subscriber_count: 10,
      view_count: 100,
      post_count: 3,
    };
    const page = {
      taskId,
      jobId,
      platform: 'youtube',
      profile,
      raws: [raw(taskId, 'UC1', { items: [{ id: 'UC1' }] })],
      children: [
        { kind: 'posts' as const, externalId: 'UU1', detail: null },
        { kind: 'follows' as const, externalId: 'subscription', detail: 'subscription' },
      ],
      calls: 1,
      trace: {},
    };
    expect(await commitProfilePage(db.writer, page)).toEqual({ claimed: true, written: 1 });
    const { rows: stored } = await db.admin.query(
      `SELECT handle, title, subscriber_count::int FROM social.profiles WHERE platform = 'youtube' AND external_id = 'UC1'`,
    );
    expect(stored).toEqual([{ handle: '@one', title: 'Channel one', subscriber_count: 10 }]);
    const { rows: children } = await db.admin.query<{ id: string; kind: string; external_id: string }>(
      `SELECT id::text, kind, external_id FROM etl.sync_tasks WHERE job_id = $1 AND kind IN ('posts', 'follows') ORDER BY id`,
      [jobId],
    );
    expect(children.map((t) => [t.kind, t.external_id])).toEqual([
      ['posts', 'UU1'],
      ['follows', 'subscription'],
    ]);
    const { rows: queued } = await db.admin.query<{ key: string }>(
      `SELECT key FROM graphile_worker.jobs WHERE key = ANY($1::text[]) ORDER BY id`,
      [children.map((t) => `sync-task:${t.id}`)],
    );
    expect(queued.map((q) => q.key)).toEqual(children.map((t) => `sync-task:${t.id}`));
    expect(await rawsOf(taskId)).toHaveLength(1);
    expect(await task(taskId)).toEqual({
      status: 'DONE',
      cursor: null,
      pages: 1,
      items: 1,
      written: 1,
      calls: 1,
      finished: true,
    });

    await db.admin.query('DELETE FROM graphile_worker._private_jobs');
    const changed = { ...page, profile: { ...profile, title: 'Renamed' }, calls: 3 };
    expect(await commitProfilePage(db.writer, changed)).toEqual({ claimed: false, written: 0 });
    expect(await count('SELECT count(*) FROM graphile_worker.jobs')).toBe(0);
    expect(await count(`SELECT count(*) FROM social.profiles WHERE title = 'Renamed'`)).toBe(0);
    expect(await rawsOf(taskId)).toHaveLength(1);
    expect(await task(taskId)).toMatchObject({ pages: 1, calls: 1 });
  });
});

async function count(sql: string): Promise<number> {
  const { rows } = await db.admin.query<{ count: string }>(sql);
  return Number(rows[0]!.count);
}
