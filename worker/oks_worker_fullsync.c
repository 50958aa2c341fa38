/*
 * Full sync runs: picked by the reconciler threads (oks_worker_fullsync_pass), one turn per
 * tenant under the tenant's advisory lock (the same lock as its event rounds: a tenant's Okta
 * reads never overlap, so Date stamps never go backwards). The run's state is its sync_runs row.
 *
 * Ownership: a running run is continued by the replica named in sync_runs.worker while its
 * heartbeat_at (moved at every page) is younger than full-sync-takeover; after that any replica
 * takes it over, from the saved cursor. One running run per tenant and kind across the fleet is
 * the partial unique index sync_runs_one_running_idx; a second queued slot waits its turn.
 */
#include "oks_worker_fullsync_int.h"

#include "core/oks_log.h"
#include "core/oks_time.h"
#include "oks_worker_sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { FULLSYNC_DUE_CAP = 16 };

static char me[96];
static pthread_once_t me_once = PTHREAD_ONCE_INIT;

static void me_init(void)
{
    char host[64] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "worker");
    snprintf(me, sizeof me, "%s:%ld", host, (long)getpid());
}

const char *oks_worker_fullsync_me(void)
{
    pthread_once(&me_once, me_init);
    return me;
}

int oks_worker_fullsync_request(oks_db *db, const oks_worker_job *job, oks_err *err)
{
    char when[40];
    oks_time_format_iso8601(job->scheduled_for_ms, when, sizeof when);
    const char *p[] = {job->tenant, job->kind, when};
    /* The scheduler inserted the row before publishing; it is missing only in its documented
     * "acknowledged, then COMMIT failed" window. A deleted tenant: nothing to run. */
    PGresult *r = oks_db_exec_params(
        db,
        "INSERT INTO sync_runs (tenant_id, kind, scheduled_for, status) "
        "SELECT id, $2, $3::timestamptz, 'queued' FROM tenants WHERE id = $1::uuid "
        "ON CONFLICT (tenant_id, kind, scheduled_for) DO NOTHING",
        3, p, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

void oks_worker_fullsync_fail(oks_db *db, const oks_worker_frun *run, const char *why)
{
    const char *p[] = {run->id_s, why};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(
        db,
        "UPDATE sync_runs SET status = 'failed', error = $2, errors = errors + 1, "
        "  finished_at = now(), heartbeat_at = now() WHERE id = $1::bigint AND status = 'running'",
        2, p, &err);
    if (!r) {
        OKS_LOG_WARN("full sync: run %s: recording its failure: %s", run->id_s, err.msg);
        return;
    }
    PQclear(r);
    OKS_LOG_WARN("full sync: tenant %s run %s failed: %s", run->tenant, run->id_s, why);
    oks_worker_fullsync_metrics_outcome(run->tenant, "failed");
}

/* Under the tenant's lock: the run to work on (started or claimed for this replica). 1 = *run
 * filled, 0 = nothing for us now, -1 = database error. */
static int claim(oks_db *db, const oks_worker_cfg *cfg, const char *tenant, oks_worker_frun *run,
                 oks_err *err)
{
    char takeover[24];
    snprintf(takeover, sizeof takeover, "%" PRId64, cfg->full_sync_takeover_ms);
    const char *p[] = {tenant, oks_worker_fullsync_me(), takeover};
    /* A running run first; otherwise start the oldest queued slot. The UPDATE is the claim: a
     * live owner's run (fresh heartbeat, another worker) is not ours to continue. */
    PGresult *r = oks_db_exec_params(
        db,
        "WITH pick AS (SELECT id FROM sync_runs WHERE tenant_id = $1::uuid "
        "    AND kind = 'full_sync' AND status IN ('queued', 'running') "
        "  ORDER BY (status = 'running') DESC, scheduled_for, id LIMIT 1) "
        "UPDATE sync_runs s SET status = 'running', worker = $2, heartbeat_at = now(), "
        "  started_at = coalesce(s.started_at, now()) FROM pick WHERE s.id = pick.id "
        "  AND (s.status = 'queued' OR s.worker IS NULL OR s.worker = $2 OR s.heartbeat_at IS NULL "
        "       OR s.heartbeat_at < now() - $3::bigint * interval '1 millisecond') "
        "RETURNING s.id, s.dry_run, s.pages, s.users_seen, s.cursor, "
        "  s.started_at = now() AND s.pages = 0",
        3, p, err);
    if (!r) {
        /* 23505: another slot of the tenant is running (it holds the index) */
        if (oks_db_last_sqlstate(db) && strcmp(oks_db_last_sqlstate(db), "23505") == 0)
            return 0;
        return -1;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    memset(run, 0, sizeof *run);
    run->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(run->id_s, sizeof run->id_s, "%" PRId64, run->id);
    snprintf(run->tenant, sizeof run->tenant, "%s", tenant);
    run->dry_run = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    run->pages = strtol(PQgetvalue(r, 0, 2), NULL, 10);
    run->users_seen = strtol(PQgetvalue(r, 0, 3), NULL, 10);
    run->cursor = PQgetisnull(r, 0, 4) ? NULL : strdup(PQgetvalue(r, 0, 4));
    bool fresh = strcmp(PQgetvalue(r, 0, 5), "t") == 0;
    PQclear(r);
    if (fresh)
        OKS_LOG_INFO("full sync: tenant %s run %s started%s", tenant, run->id_s,
                     run->dry_run ? " (dry run)" : "");
    else if (run->pages > 0 && run->cursor)
        OKS_LOG_DEBUG("full sync: tenant %s run %s continues at page %ld", tenant, run->id_s,
                      run->pages + 1);
    return 1;
}

/* One turn on one tenant (its lock held). Returns 1 when work was done, 0 when none, -1 on an
 * internal failure. */
static int turn(oks_worker_rthread *t, oks_db *db, const char *tenant)
{
    const oks_worker_cfg *cfg = t->r->cfg;
    oks_err err = {0};
    oks_worker_frun run;
    int c = claim(db, cfg, tenant, &run, &err);
    if (c <= 0) {
        if (c < 0)
            OKS_LOG_WARN("full sync: tenant %s: claiming its run: %s", tenant, err.msg);
        return c;
    }
    int rc = 1;
    oks_worker_tenant ten = {0};
    if (oks_worker_tenant_load(&t->pg, t->r->key, tenant, &ten, &err) != 0) {
        if (oks_worker_fail_classify(OKS_WORKER_SRC_TENANT, &err, -1, NULL) ==
            OKS_WORKER_FAIL_INTERNAL)
            rc = -1;
        else
            oks_worker_fullsync_fail(db, &run, err.msg);
        goto out;
    }
    if (!ten.okta_app_id) {
        oks_worker_fullsync_fail(db, &run,
                                 "the tenant has no okta_app_id: a full sync lists the app's "
                                 "assigned users");
        goto out;
    }
    oks_okta_client *client = oks_worker_okta_client(&t->okta, tenant, &ten, &err);
    if (!client) {
        if (err.code == OKS_E_INVALID)
            oks_worker_fullsync_fail(db, &run, err.msg);
        else
            rc = -1;
        goto out;
    }
    int64_t per_turn = cfg->full_sync_pages_per_turn > 0 ? cfg->full_sync_pages_per_turn : 1;
    oks_worker_fpage bufs[2] = {{0}, {0}};
    oks_worker_fpage *cur = NULL; /* the page at run.cursor, fetched ahead */
    for (int64_t i = 0; i < per_turn && !atomic_load(&t->r->stop); i++) {
        oks_worker_fstep s = OKS_WORKER_FSTEP_LISTED;
        if (run.pages == 0 || run.cursor) {
            oks_worker_fpage *ahead = (i + 1 < per_turn) ? &bufs[cur == &bufs[0] ? 1 : 0] : NULL;
            s = oks_worker_fullsync_page(db, client, ten.okta_app_id, &run, cur, ahead);
            cur = ahead && ahead->got != 0 ? ahead : NULL;
        }
        if (s == OKS_WORKER_FSTEP_LISTED)
            s = oks_worker_fullsync_end(db, client, &run);
        if (s == OKS_WORKER_FSTEP_INTERNAL)
            rc = -1;
        if (s != OKS_WORKER_FSTEP_MORE)
            break;
    }
    if (cur)
        oks_worker_fullsync_fpage_free(cur);
out:
    free(run.cursor);
    oks_worker_tenant_free(&ten);
    return rc;
}

/* Run on every pass of every reconciler: prepared, as the round's statements are. */
static const oks_db_stmt runs_stmt = OKS_WORKER_STMT(
    "oks_fullsync_due",
    "SELECT tenant_id FROM sync_runs WHERE kind = 'full_sync' AND status IN ('queued', "
    "'running') GROUP BY tenant_id ORDER BY min(scheduled_for) LIMIT $1::int",
    1);

int oks_worker_fullsync_pass(oks_worker_rthread *t, oks_db *db, bool *internal)
{
    oks_worker_reconciler *r = t->r;
    oks_err err = {0};
    char cap[16];
    snprintf(cap, sizeof cap, "%d", FULLSYNC_DUE_CAP);
    const char *p[] = {cap};
    PGresult *res = oks_db_exec_prepared(db, &runs_stmt, p, &err);
    if (!res) {
        OKS_LOG_WARN("full sync: looking for runs: %s", err.msg);
        return -1;
    }
    char ids[FULLSYNC_DUE_CAP][40];
    int n = PQntuples(res) < FULLSYNC_DUE_CAP ? PQntuples(res) : FULLSYNC_DUE_CAP;
    for (int i = 0; i < n; i++)
        snprintf(ids[i], sizeof ids[i], "%s", PQgetvalue(res, i, 0));
    PQclear(res);
    int turns = 0;
    for (int k = 0; k < n && !atomic_load(&r->stop); k++) {
        const char *tenant = ids[(k + t->index) % n];
        int got = oks_worker_rstate_lock(db, tenant, &err);
        if (got < 0)
            return -1;
        if (got == 0)
            continue;
        int rc = turn(t, db, tenant);
        oks_worker_rstate_unlock(db, tenant);
        if (rc < 0)
            *internal = true;
        else
            turns += rc;
    }
    return turns;
}
