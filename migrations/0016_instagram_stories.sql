-- Instagram own-account stories (GET /{ig-user-id}/stories, the last 24 h) are read by a task of
-- their own: a story is kept in social.posts (media_type 'STORY') after it expires, and a complete
-- pass over the feed (/media, which never lists stories) must not mark it deleted.
ALTER TABLE etl.sync_tasks DROP CONSTRAINT sync_tasks_kind_check;
ALTER TABLE etl.sync_tasks ADD CONSTRAINT sync_tasks_kind_check
  CHECK (kind IN ('profile', 'posts', 'stories', 'comments', 'follows'));
