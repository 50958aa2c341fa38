/* The reconciler's SQL: due tenants, the tenant lock, faults and backoff, marks. */
#include "oks_worker_reconcile_int.h"
#include "oks_worker_sql.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tenant is due when it has a mark past its own next_attempt_at and the coalescing window,
 * and it is healthy, or its backoff ran out, or its tenants row changed since the fault (a new
 * token un-parks it at once). Oldest change first. While the intake is behind ($3), a tenant
 * is due only with a full round's worth of due marks ($4) or a due mark older than the
 * backlog linger ($5): more marks of it are on their way, and a round's fixed cost is paid
 * once for all of them (docs/worker-reconcile.md "Rounds under a backlog").
 * Two statements: every due tenant, and whether one tenant ($6) still is. One text for both
 * would share one generic plan, which cannot use the tenant's index for the second. */
#define SQL_DUE(tenant_cond)                                                                       \
    "SELECT d.tenant_id::text FROM (SELECT tenant_id, min(first_marked_at) AS oldest "             \
    "  FROM dirty_users WHERE next_attempt_at <= now() "                                           \
    "  AND first_marked_at <= now() - $1::bigint * interval '1 millisecond' " tenant_cond          \
    "  GROUP BY tenant_id HAVING NOT $3::boolean OR count(*) >= $4::bigint "                       \
    "  OR min(first_marked_at) <= now() - $5::bigint * interval '1 millisecond') d "               \
    "JOIN tenants t ON t.id = d.tenant_id "                                                        \
    "LEFT JOIN tenant_okta_state s ON s.tenant_id = d.tenant_id "                                  \
    "WHERE s.fault IS NULL OR s.next_attempt_at <= now() OR t.updated_at > s.fault_since "         \
    "ORDER BY d.oldest LIMIT $2"

static const oks_db_stmt due_all = OKS_WORKER_STMT("oks_due_tenants", SQL_DUE(""), 5);
static const oks_db_stmt due_one =
    OKS_WORKER_STMT("oks_due_tenant", SQL_DUE("AND tenant_id = $6::uuid "), 6);

static PGresult *due(oks_db *db, const oks_worker_cfg *cfg, bool behind, const char *tenant,
                     int cap, oks_err *err)
{
    char win[24], lim[16], full[24], linger[24];
    snprintf(win, sizeof win, "%lld", (long long)cfg->coalesce_window_ms);
    snprintf(lim, sizeof lim, "%d", cap);
    snprintf(full, sizeof full, "%lld", (long long)cfg->reconcile_batch);
    snprintf(linger, sizeof linger, "%lld", (long long)cfg->backlog_linger_ms);
    const char *p[] = {win, lim, behind ? "true" : "false", full, linger, tenant};
    return oks_db_exec_prepared(db, tenant ? &due_one : &due_all, p, err);
}

int oks_worker_rstate_still_due(oks_db *db, const oks_worker_cfg *cfg, bool behind,
                                const char *tenant, oks_err *err)
{
    PGresult *r = due(db, cfg, behind, tenant, 1, err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    PQclear(r);
    return n > 0;
}

int oks_worker_rstate_due(oks_db *db, const oks_worker_cfg *cfg, bool behind, char (*ids)[40],
                          int cap, oks_err *err)
{
    PGresult *r = due(db, cfg, behind, NULL, cap, err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    for (int i = 0; i < n && i < cap; i++)
        snprintf(ids[i], sizeof ids[i], "%s", PQgetvalue(r, i, 0));
    PQclear(r);
    return n < cap ? n : cap;
}

static const oks_db_stmt lock_stmt =
    OKS_WORKER_STMT("oks_tenant_lock", "SELECT pg_try_advisory_lock($1::int, hashtext($2))", 2);
static const oks_db_stmt unlock_stmt =
    OKS_WORKER_STMT("oks_tenant_unlock", "SELECT pg_advisory_unlock($1::int, hashtext($2))", 2);

int oks_worker_rstate_lock(oks_db *db, const char *tenant, oks_err *err)
{
    char cls[16];
    snprintf(cls, sizeof cls, "%d", OKS_WORKER_RECONCILE_LOCK_CLASS);
    const char *p[] = {cls, tenant};
    PGresult *r = oks_db_exec_prepared(db, &lock_stmt, p, err);
    if (!r)
        return -1;
    int got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return got;
}

void oks_worker_rstate_unlock(oks_db *db, const char *tenant)
{
    char cls[16];
    snprintf(cls, sizeof cls, "%d", OKS_WORKER_RECONCILE_LOCK_CLASS);
    const char *p[] = {cls, tenant};
    oks_err err = {0};
    /* A failure means the session is gone, and the lock with it. */
    PQclear(oks_db_exec_prepared(db, &unlock_stmt, p, &err));
}

/* fault_since moves on a new kind of fault or when the tenants row changed after it (a new
 * token that fails too must not stay "changed since the fault" and loop). */
static const char sql_fault[] =
    "INSERT INTO tenant_okta_state AS s (tenant_id, fault, fault_reason, fault_since, attempts, "
    "  next_attempt_at) VALUES ($1::uuid, $2, $3, now(), 1, now() + CASE WHEN $6::bool "
    "  THEN $7::bigint ELSE $4::bigint END * interval '1 millisecond') "
    "ON CONFLICT (tenant_id) DO UPDATE SET fault = EXCLUDED.fault, "
    "  fault_reason = EXCLUDED.fault_reason, "
    "  fault_since = CASE WHEN s.fault IS DISTINCT FROM EXCLUDED.fault OR s.fault_since < "
    "    (SELECT updated_at FROM tenants WHERE id = $1::uuid) THEN now() ELSE s.fault_since END, "
    "  attempts = s.attempts + 1, "
    "  next_attempt_at = now() + CASE WHEN $6::bool THEN $7::bigint "
    "    ELSE least($5::bigint, $4::bigint * power(2, least(s.attempts, 30))::bigint) END "
    "    * interval '1 millisecond' "
    "RETURNING attempts";

int oks_worker_rstate_fault(oks_db *db, const oks_worker_cfg *cfg, const char *tenant,
                            oks_worker_fail f, const char *reason, oks_err *err)
{
    char mn[24], mx[24], pk[24];
    snprintf(mn, sizeof mn, "%lld", (long long)cfg->tenant_backoff_min_ms);
    snprintf(mx, sizeof mx, "%lld", (long long)cfg->tenant_backoff_max_ms);
    snprintf(pk, sizeof pk, "%lld", (long long)cfg->parked_recheck_ms);
    char why[512];
    snprintf(why, sizeof why, "%s", reason ? reason : "");
    const char *p[] = {
        tenant, oks_worker_fail_fault(f), why, mn, mx, oks_worker_fail_parked(f) ? "true" : "false",
        pk};
    PGresult *r = oks_db_exec_params(db, sql_fault, 7, p, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

static const oks_db_stmt clear_stmt = OKS_WORKER_STMT(
    "oks_tenant_clear",
    "UPDATE tenant_okta_state SET fault = NULL, fault_reason = NULL, fault_since = NULL, "
    "attempts = 0, next_attempt_at = '-infinity' WHERE tenant_id = $1::uuid "
    "AND " OKS_WORKER_SQL_FAULT_TO_CLEAR,
    1);

int oks_worker_rstate_clear(oks_db *db, const char *tenant, oks_err *err)
{
    const char *p[] = {tenant};
    PGresult *r = oks_db_exec_prepared(db, &clear_stmt, p, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/* A tenant's due marks, oldest first, each with its stored user read by key (OFFSET 0 keeps
 * it a key lookup: the plan is PostgreSQL's generic one, made with whatever the statistics were,
 * and as a join a tenant estimated at its average size could be hashed whole). */
static const oks_db_stmt marks_stmt = OKS_WORKER_STMT(
    "oks_tenant_marks",
    "SELECT d.okta_id, d.seq, d.events, d.attempts, d.check_assignment, "
    "  COALESCE((extract(epoch FROM d.max_published) * 1000)::bigint, 0), "
    "  u.okta_id IS NOT NULL, "
    "  CASE WHEN u.app_assigned IS NULL THEN -1 WHEN u.app_assigned THEN 1 ELSE 0 END, "
    "  d.check_groups "
    "FROM (SELECT * FROM dirty_users WHERE tenant_id = $1::uuid AND next_attempt_at <= now() "
    "  AND first_marked_at <= now() - $2::bigint * interval '1 millisecond' "
    "  ORDER BY first_marked_at, okta_id LIMIT $3) d "
    "LEFT JOIN LATERAL (SELECT u.okta_id, u.app_assigned FROM users u "
    "  WHERE u.tenant_id = d.tenant_id AND u.okta_id = d.okta_id OFFSET 0) u ON true "
    "ORDER BY d.first_marked_at, d.okta_id",
    3);

int oks_worker_rstate_marks(oks_db *db, const oks_worker_cfg *cfg, const char *tenant, long limit,
                            oks_worker_mark **out, size_t *n, oks_err *err)
{
    char win[24], lim[24];
    snprintf(win, sizeof win, "%lld", (long long)cfg->coalesce_window_ms);
    snprintf(lim, sizeof lim, "%ld", limit);
    const char *p[] = {tenant, win, lim};
    *out = NULL;
    *n = 0;
    PGresult *r = oks_db_exec_prepared(db, &marks_stmt, p, err);
    if (!r)
        return -1;
    int rows = PQntuples(r);
    oks_worker_mark *m = calloc(rows ? (size_t)rows : 1, sizeof *m);
    if (!m) {
        PQclear(r);
        return oks_err_set(err, OKS_E_NOMEM, "reconcile: out of memory");
    }
    for (int i = 0; i < rows; i++) {
        snprintf(m[i].okta_id, sizeof m[i].okta_id, "%s", PQgetvalue(r, i, 0));
        m[i].seq = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        m[i].events = (int)strtol(PQgetvalue(r, i, 2), NULL, 10);
        m[i].attempts = (int)strtol(PQgetvalue(r, i, 3), NULL, 10);
        m[i].check_assignment = strcmp(PQgetvalue(r, i, 4), "t") == 0;
        m[i].max_published_ms = strtoll(PQgetvalue(r, i, 5), NULL, 10);
        m[i].stored = strcmp(PQgetvalue(r, i, 6), "t") == 0;
        m[i].app_assigned = (int)strtol(PQgetvalue(r, i, 7), NULL, 10);
        m[i].check_groups = strcmp(PQgetvalue(r, i, 8), "t") == 0;
    }
    PQclear(r);
    *out = m;
    *n = (size_t)rows;
    return 0;
}

static const oks_db_stmt assigned_stmt =
    OKS_WORKER_STMT("oks_tenant_assigned",
                    "SELECT count(*) FROM (SELECT 1 FROM users WHERE tenant_id = $1::uuid AND "
                    "app_assigned IS NOT FALSE AND status <> 'deleted' LIMIT $2::bigint) x",
                    2);

int64_t oks_worker_rstate_assigned_estimate(oks_db *db, const char *tenant, int64_t cap,
                                            oks_err *err)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)(cap < 0 ? 0 : cap) + 1);
    const char *p[] = {tenant, lim};
    PGresult *r = oks_db_exec_prepared(db, &assigned_stmt, p, err);
    if (!r)
        return -1;
    int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static const char sql_ufail[] =
    "WITH f AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(okta_id text, seq bigint, "
    "  why text, dead boolean)), "
    "del AS (DELETE FROM dirty_users d USING f WHERE d.tenant_id = $1::uuid "
    "  AND d.okta_id = f.okta_id AND d.seq = f.seq AND f.dead RETURNING 1) "
    "UPDATE dirty_users d SET attempts = d.attempts + 1, last_error = f.why, "
    "  next_attempt_at = now() + least($4::bigint, $3::bigint * "
    "  power(2, least(d.attempts, 30))::bigint) * interval '1 millisecond' "
    "FROM f WHERE d.tenant_id = $1::uuid AND d.okta_id = f.okta_id AND d.seq = f.seq "
    "AND NOT f.dead";

int oks_worker_rstate_user_failures(oks_db *db, const oks_worker_cfg *cfg, const char *tenant,
                                    const oks_worker_ufail *f, size_t n, oks_err *err)
{
    if (n == 0)
        return 0;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = json_pack("{s:s, s:I, s:s, s:b}", "okta_id", f[i].mark->okta_id, "seq",
                              (json_int_t)f[i].mark->seq, "why", f[i].why, "dead", f[i].dead);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    char *js = arr ? json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(arr);
    if (!js)
        return oks_err_set(err, OKS_E_NOMEM, "reconcile: out of memory");
    /* per-user backoff: the tenant's minimum, doubling */
    char mn[24], mx[24];
    snprintf(mn, sizeof mn, "%lld", (long long)cfg->tenant_backoff_min_ms);
    snprintf(mx, sizeof mx, "%lld", (long long)cfg->tenant_backoff_max_ms);
    const char *p[] = {tenant, js, mn, mx};
    PGresult *r = oks_db_exec_params(db, sql_ufail, 4, p, err);
    free(js);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}
