-- oktasync schema, version 9: room on the page for HOT updates (docs/benchmarks.md "Worker",
-- 2026-12-01 "throughput").
--
-- Every reconcile write rewrites its user's row: Okta's Date moves okta_last_updated (the ordering
-- watermark, docs/worker-reconcile.md) even when nothing else changed, and a profile change
-- rarely touches an indexed column (title, names, language, ... are not indexed). PostgreSQL can
-- then keep the new row version on the same page and skip every index (a HOT update) — but only
-- if the page has room. At the default fillfactor of 100 a page filled by inserts (a first sync,
-- a backfill) has none, so each row's next update went to another page and inserted into all
-- eight indexes of users. 80 leaves about five row versions of room per page; pruning (on page
-- access) frees the dead versions again. dirty_users is updated by the intake (a mark bumped:
-- seq, events, flags) with its indexed columns unchanged: the same reasoning.
--
-- Only pages written from now on honour it: an existing installation gains as its pages are
-- pruned and new ones are added; a maintenance window's VACUUM FULL (or pg_repack) of users
-- applies it to the whole table.
ALTER TABLE users SET (fillfactor = 80);
ALTER TABLE dirty_users SET (fillfactor = 80);
