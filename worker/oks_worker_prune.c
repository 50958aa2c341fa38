#include "oks_worker_prune.h"

#include "core/oks_log.h"
#include "core/oks_time.h"

#include <stdio.h>
#include <stdlib.h>

int oks_worker_prune_batch(oks_db *db, int64_t ttl_ms, int64_t batch, int64_t *deleted,
                           oks_err *err)
{
    char ttl[32], lim[32];
    snprintf(ttl, sizeof ttl, "%lld milliseconds", (long long)ttl_ms);
    snprintf(lim, sizeof lim, "%lld", (long long)batch);
    const char *params[] = {ttl, lim};
    /* ctid: the rows just picked, without a second index lookup by key */
    PGresult *r = oks_db_exec_params(
        db,
        "DELETE FROM processed_events WHERE ctid IN (SELECT ctid FROM processed_events "
        "WHERE processed_at < now() - $1::interval LIMIT $2::int)",
        2, params, err);
    if (!r)
        return -1;
    *deleted = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

int oks_worker_prune_lock(oks_db *db, bool *got, oks_err *err)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", OKS_WORKER_PRUNE_LOCK);
    const char *params[] = {key};
    PGresult *r = oks_db_exec_params(db, "SELECT pg_try_advisory_lock($1::bigint)", 1, params, err);
    if (!r)
        return -1;
    *got = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return 0;
}

void oks_worker_prune_unlock(oks_db *db)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", OKS_WORKER_PRUNE_LOCK);
    const char *params[] = {key};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(db, "SELECT pg_advisory_unlock($1::bigint)", 1, params, &err);
    PQclear(r); /* a lost session lost the lock with it */
}

static void finish(oks_worker_prune *p, oks_db *db, const oks_worker_cfg *cfg)
{
    if (db)
        oks_worker_prune_unlock(db);
    if (p->round_deleted > 0) {
        char n[24];
        snprintf(n, sizeof n, "%lld", (long long)p->round_deleted);
        oks_log_fields(OKS_LOG_INFO, "processed_events pruned", "rows", n, NULL);
    }
    p->running = false;
    p->round_deleted = 0;
    p->next_ms = oks_now_mono_ms() + cfg->prune_interval_ms;
}

void oks_worker_prune_step(oks_worker_prune *p, oks_worker_ctx *ctx)
{
    const oks_worker_cfg *cfg = ctx->cfg;
    if (!p->running && oks_now_mono_ms() < p->next_ms)
        return;
    oks_err err = {0};
    oks_db *db = oks_worker_pg_get(&ctx->pg, &err);
    if (!db) {
        finish(p, NULL, cfg);
        return;
    }
    if (!p->running) {
        bool got = false;
        if (oks_worker_prune_lock(db, &got, &err) != 0 || !got) {
            finish(p, NULL, cfg); /* another replica prunes (or the database is down) */
            return;
        }
        p->running = true;
    }
    int64_t deleted = 0;
    if (oks_worker_prune_batch(db, cfg->dedupe_ttl_ms, cfg->prune_batch, &deleted, &err) != 0) {
        OKS_LOG_WARN("pruning processed_events: %s", err.msg);
        finish(p, db, cfg);
        return;
    }
    oks_counter_add(ctx->m.pruned, (uint64_t)deleted);
    p->round_deleted += deleted;
    if (deleted < cfg->prune_batch)
        finish(p, db, cfg);
}
