/*
 * Full sync (docs/operations.md "Full sync"): the jobs topic's `full_sync` jobs, run by the
 * reconciler threads as one more kind of per-tenant work, a page at a time under the tenant's
 * advisory lock (so a tenant's event rounds interleave with its pages and other tenants are
 * never held up). A run is the sync_runs row of (tenant, kind, scheduled_for); its state lives
 * there (cursor, counters, worker, heartbeat), so any thread of any replica can continue it.
 */
#ifndef OKS_WORKER_FULLSYNC_H
#define OKS_WORKER_FULLSYNC_H

#include "db/oks_db.h"
#include "oks_worker_job.h"

#include <stdbool.h>

struct oks_worker_rthread;

/* The intake's job branch: make sure the slot's run exists ('queued' when new). A slot already
 * run (succeeded, failed, held, rejected) or running is left alone: a redelivered or doubled
 * job is the same run. 0, or -1 with err (retriable database codes: the message is retried). */
int oks_worker_fullsync_request(oks_db *db, const oks_worker_job *job, oks_err *err);

/* One pass of a reconciler thread: each tenant with an open run it can lock gets one turn
 * (full-sync-pages-per-turn pages, or the end of the run). Returns turns that did work, -1 when
 * the database failed; *internal = our side failed (the thread backs off). */
int oks_worker_fullsync_pass(struct oks_worker_rthread *t, oks_db *db, bool *internal);

#endif
