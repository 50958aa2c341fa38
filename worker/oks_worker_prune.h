/*
 * processed_events pruning: rows older than dedupe-ttl are deleted every prune-interval, in
 * statements of at most prune-batch rows (short locks, short transactions), one batch per call
 * of oks_worker_prune_step so the intake keeps running between them. One replica at a time:
 * the pruner holds a session advisory lock while it works (a crashed holder's session ends and
 * frees it).
 */
#ifndef OKS_WORKER_PRUNE_H
#define OKS_WORKER_PRUNE_H

#include "db/oks_db.h"
#include "oks_worker_process.h"

#include <stdbool.h>
#include <stdint.h>

/* pg_try_advisory_lock(bigint) key of the pruner (the one-bigint form: a different key space
 * from the reconcilers' two-int locks). */
#define OKS_WORKER_PRUNE_LOCK 7269357421LL

typedef struct oks_worker_prune {
    int64_t next_ms; /* monotonic time of the next round */
    bool running;    /* lock held, batches to go */
    int64_t round_deleted;
} oks_worker_prune;

/* Delete at most batch rows older than ttl_ms; *deleted = how many. */
int oks_worker_prune_batch(oks_db *db, int64_t ttl_ms, int64_t batch, int64_t *deleted,
                           oks_err *err);
/* Try the pruner's lock on this session. */
int oks_worker_prune_lock(oks_db *db, bool *got, oks_err *err);
void oks_worker_prune_unlock(oks_db *db);

/* Called by the consumer loop between batches: at most one statement per call. */
void oks_worker_prune_step(oks_worker_prune *p, oks_worker_ctx *ctx);

#endif
