/*
 * oks_sync_apply_removals: a full sync run's removals applied in one transaction (the worker at
 * the end of a run under the guard; `oktasyncctl sync approve` for a held run).
 *
 * A removal is still due when its user, now:
 *   - is stored with status 'active' (not deleted, not already deactivated by an event),
 *   - was not seen by a later run (last_seen_run_id NULL or < this run's id: ids grow),
 *   - was not written by anything since this run started (users.updated_at < started_at): an
 *     event applied meanwhile read Okta after the listing did, so its answer stands (a user
 *     re-assigned after the listing is left alone; the next full sync looks again).
 * Others keep applied_at NULL (visible in `sync diff`).
 */
#include "sync/oks_sync_removals.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char apply_sql[] =
    "WITH run AS (SELECT id, tenant_id, started_at FROM sync_runs WHERE id = $1::bigint), "
    "gone AS (SELECT u.tenant_id, u.okta_id, to_jsonb(u.*) AS before "
    "  FROM sync_run_removals r JOIN run ON r.run_id = run.id "
    "  JOIN users u ON u.tenant_id = r.tenant_id AND u.okta_id = r.okta_id "
    "  WHERE r.applied_at IS NULL AND u.status = 'active' "
    "    AND (u.last_seen_run_id IS NULL OR u.last_seen_run_id < run.id) "
    "    AND u.updated_at < run.started_at "
    "  FOR UPDATE OF u), "
    "upd AS (UPDATE users u SET status = 'deactivated', app_assigned = false FROM gone g "
    "  WHERE u.tenant_id = g.tenant_id AND u.okta_id = g.okta_id "
    "  RETURNING u.tenant_id, u.okta_id, to_jsonb(u.*) AS after), "
    "aud AS (INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, source, "
    "  actor, sync_run_id) SELECT g.tenant_id, 'user', g.okta_id, 'deactivated', g.before, "
    "  upd.after, 'full_sync', $2, $1::bigint FROM gone g JOIN upd USING (tenant_id, okta_id) "
    "  RETURNING entity_id), "
    "mark AS (UPDATE sync_run_removals r SET applied_at = now() FROM aud "
    "  WHERE r.run_id = $1::bigint AND r.okta_id = aud.entity_id RETURNING 1) "
    "SELECT count(*) FROM mark";

int oks_sync_apply_removals(oks_db *db, int64_t run_id, const char *actor, long *applied,
                            oks_err *err)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, run_id);
    const char *who = actor && *actor ? actor : "full_sync";
    *applied = 0;
    if (oks_db_begin(db, err) != 0)
        return -1;
    const char *p1[] = {id};
    PGresult *r = oks_db_exec_params(
        db, "SELECT status, started_at IS NULL FROM sync_runs WHERE id = $1::bigint FOR UPDATE", 1,
        p1, err);
    if (!r)
        goto fail;
    if (PQntuples(r) == 0) {
        PQclear(r);
        oks_err_set(err, OKS_E_NOTFOUND, "sync run %" PRId64 " does not exist", run_id);
        goto fail;
    }
    char status[16];
    snprintf(status, sizeof status, "%s", PQgetvalue(r, 0, 0));
    bool never_started = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    if ((strcmp(status, "held") != 0 && strcmp(status, "running") != 0) || never_started) {
        oks_err_set(err, OKS_E_CONFLICT,
                    "sync run %" PRId64 " is %s: only a held (or finishing) run's removals apply",
                    run_id, status);
        goto fail;
    }
    const char *p2[] = {id, who};
    r = oks_db_exec_params(db, apply_sql, 2, p2, err);
    if (!r)
        goto fail;
    long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    char nbuf[24];
    snprintf(nbuf, sizeof nbuf, "%ld", n);
    const char *p3[] = {id, nbuf, who};
    r = oks_db_exec_params(
        db,
        "UPDATE sync_runs SET users_deactivated = users_deactivated + $2::int, "
        "  approved_by = CASE WHEN status = 'held' THEN $3 ELSE approved_by END, "
        "  approved_at = CASE WHEN status = 'held' THEN now() ELSE approved_at END, "
        "  status = 'succeeded', finished_at = now(), cursor = NULL "
        "WHERE id = $1::bigint",
        3, p3, err);
    if (!r)
        goto fail;
    PQclear(r);
    if (oks_db_commit(db, err) != 0)
        goto fail;
    *applied = n;
    return 0;
fail:
    oks_db_rollback(db);
    return -1;
}
