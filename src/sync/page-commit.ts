import { parseDuration } from '../core/duration.js';
import { assertNever } from '../core/assert-never.js';
import { refreshOf, type SocialSpec } from '../core/social-spec.schema.js';
import { withTransaction, type Executor, type Pool } from '../db/pool.js';
import { enqueueEnrichment, enrichmentItems, type EnrichmentSource } from '../enrichment/index.js';
import { injectTraceContext } from '../observability/index.js';
import type {
  CommentsPage,
  FollowsPage,
  PlatformAdapter,
  PostsPage,
  ProfileStep,
  RawKind,
  RawPage,
} from '../connectors/connector.js';
import * as jobs from '../db/repositories/sync-jobs.repository.js';
import * as queue from '../db/repositories/sync-queue.repository.js';
import * as tables from '../db/repositories/social-tables.repository.js';

/**
 * Committing one fetched page, in the caller's transaction: claim it (a page is committed once),
 * store its raw responses, write its rows by page kind (one function per kind below), quarantine,
 * enrichment, then the task's cursor and counters and the follow-up tasks on the queue.
 */

export type Page =
  | { readonly kind: 'profile'; readonly value: ProfileStep }
  | { readonly kind: 'posts'; readonly value: PostsPage }
  | { readonly kind: 'stories'; readonly value: PostsPage }
  | { readonly kind: 'comments'; readonly value: CommentsPage }
  | { readonly kind: 'follows'; readonly value: FollowsPage };

/** What committing a page of one kind did: counts, the next cursor, tasks to queue, rows to enrich. */
interface PageEffect {
  readonly read: number;
  readonly written: number;
  /** The task's next cursor; null: its stream is done. */
  readonly next: string | null;
  readonly enrich: EnrichmentSource;
}

/** What a page commit needs besides the transaction. */
export interface PageCommit {
  readonly step: jobs.StepRow;
  readonly spec: SocialSpec;
  readonly page: Page;
  readonly calls: number;
  /** The platform's adapter (which streams it offers), when this runner has it. */
  readonly adapter: PlatformAdapter | undefined;
  /** Enrichment is on: queue the page's rows for the ML service. */
  readonly ml: boolean;
}

/**
 * Commits a fetched page; false when another worker committed it first (nothing is written then). A
 * post's comments that are its whole pass (most pages of a sync) and a profile take one statement
 * each (ADR 0019); the rest, and pages with quarantined items or enrichment, a transaction
 * (commitPageInTransaction).
 */
export async function commitPage(pool: Pool, c: PageCommit): Promise<boolean> {
  const { step, page } = c;
  // Quarantined items and enrichment add writes of their own: those pages take the transaction.
  if (page.value.quarantined.length === 0 && !c.ml) {
    const raws = () => rawResponses(step.platform, step.task_id, page.value.raw);
    if (page.kind === 'comments' && step.cursor === null && page.value.nextCursor === null) {
      return (
        await jobs.commitWholeCommentsPage(pool, {
          taskId: step.task_id,
          platform: step.platform,
          post: step.external_id,
          rows: page.value.comments,
          raws: raws(),
          calls: c.calls,
        })
      ).claimed;
    }
    if (page.kind === 'profile' && step.account_status === 'active') {
      return (
        await queue.commitProfilePage(pool, {
          taskId: step.task_id,
          jobId: step.job_id,
          platform: step.platform,
          profile: page.value.profile,
          raws: raws(),
          children: accountStreams(c, page.value),
          calls: c.calls,
          trace: injectTraceContext(),
        })
      ).claimed;
    }
  }
  return withTransaction(pool, (tx) => commitPageInTransaction(tx, c));
}

/** Returns false when another worker committed this page first (nothing is written then). */
async function commitPageInTransaction(tx: Executor, c: PageCommit): Promise<boolean> {
  const { step, page } = c;
  const raws = rawResponses(step.platform, step.task_id, page.value.raw);
  if (!(await jobs.claimPageCommit(tx, step.task_id, step.cursor, raws))) return false;
  const effect = await commitByKind(tx, c);
  if (page.value.quarantined.length > 0) await tables.insertQuarantine(tx, page.value.quarantined);
  if (c.ml) {
    await enqueueEnrichment(tx, {
      platform: step.platform,
      runId: step.run_id,
      items: enrichmentItems(effect.enrich),
    });
  }
  await jobs.savePage(tx, step.task_id, {
    cursor: effect.next,
    items: effect.read,
    written: effect.written,
    calls: c.calls,
    done: effect.next === null,
  });
  // The next page of this task (its children were queued when they were opened).
  if (effect.next !== null) await queue.enqueueTasks(tx, [step.task_id], null, injectTraceContext());
  return true;
}

function commitByKind(tx: Executor, c: PageCommit): Promise<PageEffect> {
  const { page } = c;
  switch (page.kind) {
    case 'profile':
      return commitProfile(tx, c, page.value);
    case 'posts':
      return commitPosts(tx, c, page.value);
    case 'stories':
      return commitStories(tx, c, page.value);
    case 'comments':
      return commitComments(tx, c, page.value);
    case 'follows':
      return commitFollows(tx, c, page.value);
    default:
      return assertNever(page, 'page kind');
  }
}

/** The profile row, then the account's streams: posts, stories (where shown), relations (if asked). */
async function commitProfile(tx: Executor, c: PageCommit, value: ProfileStep): Promise<PageEffect> {
  const { step } = c;
  const { profile } = value;
  const written = profile ? await tables.upsertProfiles(tx, step.platform, [profile]) : 0;
  // As the step read it: an account marked unreachable meanwhile keeps its mark until its next sync.
  if (step.account_status !== 'active') await jobs.markAccountReachable(tx, step.account_id);
  await queue.openChildTasks(tx, step.job_id, accountStreams(c, value), injectTraceContext());
  return { read: profile ? 1 : 0, written, next: null, enrich: { profile } };
}

/** The account's streams a profile page opens: posts, stories (where shown), relations (if asked). */
function accountStreams(c: PageCommit, value: ProfileStep): jobs.ChildTask[] {
  const { spec, adapter } = c;
  const streams: jobs.ChildTask[] = [];
  if (value.postsSource !== null)
    streams.push({ kind: 'posts', externalId: value.postsSource, detail: null });
  const storiesSource = value.storiesSource ?? null;
  if (spec.stories !== false && storiesSource !== null && adapter?.fetchStoriesPage) {
    streams.push({ kind: 'stories', externalId: storiesSource, detail: null });
  }
  if (spec.relations && adapter && adapter.relations.length > 0) {
    streams.push(...adapter.relations.map((r) => ({ kind: 'follows' as const, externalId: r, detail: r })));
  }
  return streams;
}

/**
 * A posts page: rows and media, the comment tasks of the posts the pipeline reads comments of, and
 * the stop at the cutoff; the last page of a complete pass marks the account's unseen posts deleted.
 */
async function commitPosts(tx: Executor, c: PageCommit, value: PostsPage): Promise<PageEffect> {
  const { step, spec } = c;
  const platform = step.platform;
  const cut = cutoffs(step, spec);
  const { posts, media, commentable, oldestPublishedAt, nextCursor } = value;
  const inRange = posts.filter((p) => withinUntil(p.published_at, step.until));
  let written = await tables.upsertPosts(tx, platform, inRange);
  written += await tables.upsertMedia(tx, platform, media);
  // A post the platform now counts zero comments on has none left: stored ones were deleted.
  const emptied = inRange.filter((p) => p.comment_count === 0).map((p) => p.external_id);
  await tables.markCommentsOfPostsDeleted(tx, platform, emptied);
  const published = new Map(posts.map((p) => [p.external_id, p.published_at]));
  const wanted =
    spec.comments === 'none' && step.job_kind === 'sync'
      ? []
      : commentable.filter((id) => {
          const at = published.get(id);
          const time = at ? Date.parse(at) : Number.NaN;
          if (!withinUntil(at ?? null, step.until)) return false;
          return cut.commentsFrom === null || Number.isNaN(time) || time >= cut.commentsFrom;
        });
  await queue.openChildTasks(
    tx,
    step.job_id,
    wanted.map((id) => ({ kind: 'comments' as const, externalId: id, detail: null })),
    injectTraceContext(),
  );
  const reachedCutoff =
    cut.stopBefore !== null && oldestPublishedAt !== null && oldestPublishedAt < cut.stopBefore;
  const next = reachedCutoff ? null : nextCursor;
  if (cut.completePass) {
    await seeAndSweep(
      tx,
      step,
      posts.map((p) => p.external_id),
      next === null,
      async () => ({
        table: 'posts',
        profile: inRange[0]?.profile_external_id ?? (await profileIdOf(tx, step)),
      }),
    );
  }
  return { read: posts.length, written, next, enrich: { posts: inRange, media } };
}

/** Stories are kept after they expire, never marked deleted; the platform gives no comments on them. */
async function commitStories(tx: Executor, c: PageCommit, value: PostsPage): Promise<PageEffect> {
  const { step } = c;
  const { posts, media, nextCursor } = value;
  const inRange = posts.filter((p) => withinUntil(p.published_at, step.until));
  let written = await tables.upsertPosts(tx, step.platform, inRange);
  written += await tables.upsertMedia(tx, step.platform, media);
  return { read: posts.length, written, next: nextCursor, enrich: { posts: inRange, media } };
}

/** A comments page of one post; its last page marks the post's unseen comments deleted. */
async function commitComments(tx: Executor, c: PageCommit, value: CommentsPage): Promise<PageEffect> {
  const { step } = c;
  const { comments, nextCursor } = value;
  if (nextCursor === null && step.cursor === null) {
    // The pass is this one page: rows and deletion marks in one statement.
    const written = await tables.upsertCommentsOfWholePass(tx, step.platform, step.external_id, comments);
    return { read: comments.length, written, next: null, enrich: { comments } };
  }
  const written = await tables.upsertComments(tx, step.platform, comments);
  await seeAndSweep(
    tx,
    step,
    comments.map((x) => x.external_id),
    nextCursor === null,
    async () => ({ table: 'comments', post: step.external_id }),
  );
  return { read: comments.length, written, next: nextCursor, enrich: { comments } };
}

/** A page of one relation stream; its last page marks the relations not seen as ended. */
async function commitFollows(tx: Executor, c: PageCommit, value: FollowsPage): Promise<PageEffect> {
  const { step } = c;
  const { follows, nextCursor } = value;
  const written = await tables.upsertFollows(tx, step.platform, follows);
  await seeAndSweep(
    tx,
    step,
    follows.map((f) => f.other_external_id),
    nextCursor === null,
    async () => ({ table: 'follows', profile: await profileIdOf(tx, step), relation: step.external_id }),
  );
  return { read: follows.length, written, next: nextCursor, enrich: {} };
}

/**
 * One page of a complete pass over a stream: its ids are remembered for the task, and its last page
 * marks what the pass never saw deleted. A pass of one page (the first is also the last, the usual
 * case) remembers nothing: it hands its ids to the sweep directly.
 */
async function seeAndSweep(
  tx: Executor,
  step: jobs.StepRow,
  seen: readonly string[],
  last: boolean,
  scope: () => Promise<tables.DeletionScope>,
): Promise<void> {
  if (last && step.cursor === null) {
    await tables.markUnseenDeleted(tx, step.platform, step.task_id, await scope(), seen);
    return;
  }
  await tables.recordSeen(tx, step.task_id, seen);
  if (last) await tables.markUnseenDeleted(tx, step.platform, step.task_id, await scope());
}

interface Cutoffs {
  /** Posts pages stop after the page whose oldest post is older than this (epoch ms). */
  readonly stopBefore: number | null;
  /** Comments are read for posts published at or after this (null: all). */
  readonly commentsFrom: number | null;
  /** A complete pass over everything: rows it did not see are marked deleted. */
  readonly completePass: boolean;
}

function cutoffs(step: jobs.StepRow, spec: SocialSpec): Cutoffs {
  if (step.job_kind === 'backfill') {
    const since = step.since?.getTime() ?? null;
    return { stopBefore: since, commentsFrom: since, completePass: since === null && step.until === null };
  }
  const last = step.last_synced_at?.getTime() ?? null;
  const from = last === null ? null : last - parseDuration(spec.lookback);
  // refresh 'all': the whole feed again (fresh counters, edits and deletions of older posts); the
  // comments of older posts are still read only as `comments` says.
  // comments 'all' means the comments of every known post: those posts must be seen, so the whole
  // feed is read whatever `refresh` says.
  const everyPost = refreshOf(spec) === 'all' || spec.comments === 'all';
  return {
    stopBefore: everyPost ? null : from,
    commentsFrom: spec.comments === 'all' ? null : from,
    completePass: from === null || everyPost,
  };
}

function withinUntil(publishedAt: string | null, until: Date | null): boolean {
  if (until === null || publishedAt === null) return true;
  return Date.parse(publishedAt) < until.getTime();
}

/** The profile's platform id (the account may be named by a handle or username). */
async function profileIdOf(tx: Executor, step: jobs.StepRow): Promise<string> {
  return (
    (await tables.findProfileId(tx, step.platform, step.account_external_id)) ?? step.account_external_id
  );
}

/** The page's raw responses as the raw zone stores them (with the claim, in one statement). */
function rawResponses(
  platform: string,
  taskId: number,
  pages: readonly RawPage[],
): tables.RawResponseInsert[] {
  return pages.map((page) => ({
    platform,
    kind: page.kind as RawKind,
    externalId: page.externalId,
    request: page.request,
    payload: page.payload,
    payloadHash: tables.payloadHash(page.payload),
    syncTaskId: taskId,
  }));
}
