/*
 * The end of a full sync's listing, under the tenant's lock:
 *   - nothing listed while users are stored active → failed (never "everyone left");
 *   - removals: stored users with status 'active' that the run did not see (last_seen_run_id is
 *     not this run) and that nothing wrote since the run started (updated_at < started_at: an
 *     event applied meanwhile read Okta after the listing) → sync_run_removals;
 *   - the tenant's guard: more than deactivation_threshold_pct % of the stored active users AND
 *     more than deactivation_threshold_min → 'held' with held_reason, nothing deactivated;
 *   - a dry run stops here ('succeeded', counters are what it would do, users untouched);
 *   - otherwise oks_sync_apply_removals (one transaction, audit source full_sync, run
 *     succeeded).
 */
#include "oks_worker_apply_managers.h"
#include "oks_worker_fullsync_int.h"

#include "core/oks_log.h"
#include "sync/oks_sync_removals.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char removals_sql[] =
    "INSERT INTO sync_run_removals (run_id, tenant_id, okta_id, email) "
    "SELECT $1::bigint, u.tenant_id, u.okta_id, u.email FROM users u, sync_runs r "
    "WHERE r.id = $1::bigint AND u.tenant_id = r.tenant_id AND u.status = 'active' "
    "  AND u.last_seen_run_id IS DISTINCT FROM r.id AND u.updated_at < r.started_at "
    "ON CONFLICT DO NOTHING";

/* A dry run seeded every active user and each page deleted the ones it saw; drop those that
 * are no longer candidates by the same rule. */
static const char dry_prune_sql[] =
    "DELETE FROM sync_run_removals x USING sync_runs r WHERE x.run_id = $1::bigint "
    "  AND r.id = x.run_id AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = x.tenant_id "
    "    AND u.okta_id = x.okta_id AND u.status = 'active' AND u.updated_at < r.started_at)";

static int exec1(oks_db *db, const char *sql, const char *run, oks_err *err)
{
    const char *p[] = {run};
    PGresult *r = oks_db_exec_params(db, sql, 1, p, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/* Issue 10's rules that need the whole listing: groups → teams for every user seen, then the
 * manager references still pending (a manager listed on a later page than the report). A group
 * listing that fails is an error of the run, not a failure: memberships stay as they were.
 * -1 only when the database failed (the end is retried). */
static int rules_pass(oks_db *db, oks_okta_client *client, const oks_worker_frun *run)
{
    oks_err err = {0};
    long changed = 0, calls = 0, resolved = 0, errors = 0;
    int g = oks_worker_fullsync_groups(db, client, run, &changed, &calls, &err);
    if (g == -2) {
        OKS_LOG_WARN("full sync: run %s: groups → teams: %s (retried)", run->id_s, err.msg);
        return -1;
    }
    if (g == -1) {
        OKS_LOG_WARN("full sync: run %s: groups → teams skipped: %s", run->id_s, err.msg);
        errors++;
    }
    oks_err merr = {0};
    if (oks_worker_managers_resolve_pending(db, run->tenant, &resolved, &merr) != 0) {
        OKS_LOG_WARN("full sync: run %s: pending managers: %s (retried)", run->id_s, merr.msg);
        return -1;
    }
    char c[24], e[24];
    snprintf(c, sizeof c, "%ld", calls);
    snprintf(e, sizeof e, "%ld", errors);
    const char *p[] = {run->id_s, c, e};
    PGresult *r = oks_db_exec_params(db,
                                     "UPDATE sync_runs SET okta_calls = okta_calls + $2::int, "
                                     "errors = errors + $3::int WHERE id = $1::bigint",
                                     3, p, &merr);
    if (!r)
        return -1;
    PQclear(r);
    OKS_LOG_INFO("full sync: run %s: %ld team memberships changed from groups, %ld pending "
                 "managers resolved",
                 run->id_s, changed, resolved);
    return 0;
}

oks_worker_fstep oks_worker_fullsync_end(oks_db *db, oks_okta_client *client, oks_worker_frun *run)
{
    oks_err err = {0};
    if (!run->dry_run && run->users_seen > 0 && rules_pass(db, client, run) != 0)
        return OKS_WORKER_FSTEP_INTERNAL;
    if (oks_db_begin(db, &err) != 0)
        goto internal;
    const char *p[] = {run->id_s};
    PGresult *r = oks_db_exec_params(
        db,
        "SELECT r.users_seen, t.deactivation_threshold_pct, t.deactivation_threshold_min, "
        "  (SELECT count(*) FROM users u WHERE u.tenant_id = r.tenant_id AND u.status = 'active'),"
        "  r.status FROM sync_runs r JOIN tenants t ON t.id = r.tenant_id "
        "WHERE r.id = $1::bigint FOR UPDATE OF r",
        1, p, &err);
    if (!r)
        goto rollback;
    if (PQntuples(r) == 0 || strcmp(PQgetvalue(r, 0, 4), "running") != 0) {
        PQclear(r);
        oks_db_rollback(db);
        return OKS_WORKER_FSTEP_WAIT; /* finished by another turn meanwhile */
    }
    long seen = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    long pct = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    long min = strtol(PQgetvalue(r, 0, 2), NULL, 10);
    long active = strtol(PQgetvalue(r, 0, 3), NULL, 10);
    PQclear(r);
    if (seen == 0 && active > 0) {
        oks_db_rollback(db);
        char why[200];
        snprintf(why, sizeof why,
                 "empty listing: Okta listed no assigned users while %ld are stored active; "
                 "nothing deactivated",
                 active);
        oks_worker_fullsync_fail(db, run, why);
        return OKS_WORKER_FSTEP_FAILED;
    }
    if (exec1(db, run->dry_run ? dry_prune_sql : removals_sql, run->id_s, &err) != 0)
        goto rollback;
    r = oks_db_exec_params(db, "SELECT count(*) FROM sync_run_removals WHERE run_id = $1::bigint",
                           1, p, &err);
    if (!r)
        goto rollback;
    long gone = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    bool held = gone * 100 > active * pct && gone > min;
    char reason[256] = "", n_s[24];
    snprintf(n_s, sizeof n_s, "%ld", gone);
    if (held)
        snprintf(reason, sizeof reason,
                 "%ld of %ld active users would be deactivated: more than the guard "
                 "(%ld%% and %ld); approve or reject the run",
                 gone, active, pct, min);
    const char *p2[] = {run->id_s, n_s, reason};
    if (run->dry_run || held) {
        r = oks_db_exec_params(
            db,
            run->dry_run
                ? "UPDATE sync_runs SET status = 'succeeded', users_deactivated = $2::int, "
                  "  held_reason = NULLIF($3, ''), finished_at = now(), heartbeat_at = now() "
                  "WHERE id = $1::bigint"
                : "UPDATE sync_runs SET status = 'held', held_reason = $3, heartbeat_at = now() "
                  "WHERE id = $1::bigint AND $2::int >= 0",
            3, p2, &err);
        if (!r)
            goto rollback;
        PQclear(r);
        if (oks_db_commit(db, &err) != 0)
            goto rollback;
        OKS_LOG_INFO("full sync: tenant %s run %s %s: %ld pages, %ld users seen, %ld removals%s%s",
                     run->tenant, run->id_s, held && !run->dry_run ? "held" : "finished",
                     run->pages, seen, gone, run->dry_run ? " (dry run, nothing written)" : "",
                     held ? "; over the guard" : "");
        oks_worker_fullsync_metrics_outcome(run->tenant,
                                            held && !run->dry_run ? "held" : "succeeded");
        return OKS_WORKER_FSTEP_DONE;
    }
    if (oks_db_commit(db, &err) != 0)
        goto rollback;
    long applied = 0;
    if (oks_sync_apply_removals(db, run->id, "full_sync", &applied, &err) != 0) {
        OKS_LOG_WARN("full sync: run %s: applying %ld removals: %s (retried)", run->id_s, gone,
                     err.msg);
        return OKS_WORKER_FSTEP_INTERNAL;
    }
    OKS_LOG_INFO("full sync: tenant %s run %s succeeded: %ld pages, %ld users seen, %ld of %ld "
                 "removals applied",
                 run->tenant, run->id_s, run->pages, seen, applied, gone);
    oks_worker_fullsync_metrics_outcome(run->tenant, "succeeded");
    return OKS_WORKER_FSTEP_DONE;
rollback:
    oks_db_rollback(db);
internal:
    OKS_LOG_WARN("full sync: run %s: the end of the run: %s (retried)", run->id_s, err.msg);
    return OKS_WORKER_FSTEP_INTERNAL;
}
