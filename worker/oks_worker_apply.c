#include "oks_worker_apply.h"
#include "oks_worker_sql.h"

#include "core/oks_time.h"

#include <string.h>

const char *oks_worker_outcome_name(oks_worker_outcome o)
{
    switch (o) {
    case OKS_WORKER_APPLIED:
        return "applied";
    case OKS_WORKER_UNCHANGED:
        return "unchanged";
    case OKS_WORKER_STALE:
        return "stale";
    case OKS_WORKER_DUPLICATE:
        return "duplicate";
    }
    return "?";
}

static const char sql_processed[] = "INSERT INTO processed_events (tenant_id, event_uuid) "
                                    "VALUES ($1::uuid, $2) ON CONFLICT DO NOTHING RETURNING 1";

static const char sql_before[] =
    "SELECT to_jsonb(u.*) FROM users u "
    "WHERE u.tenant_id = " OKS_WORKER_SQL_TENANT " AND u.okta_id = $2 FOR UPDATE";

/* The WHERE on the conflict branch is the ordering rule: Okta state, not event order, wins.
 * This naive path (the benchmark baseline) writes the default fields only; picture is never
 * written here (no default attribute: profileUrl is a page link, docs/rules.md), and the
 * product's rules run in the coalescing path (oks_worker_apply_batch). */
static const char sql_upsert[] =
    "INSERT INTO users AS u (tenant_id, okta_id, email, first_name, last_name, "
    "title, language, location, department, status, okta_last_updated) "
    "VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::timestamptz) "
    "ON CONFLICT (tenant_id, okta_id) DO UPDATE SET email = EXCLUDED.email, "
    "first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, "
    "title = EXCLUDED.title, language = EXCLUDED.language, "
    "location = EXCLUDED.location, department = EXCLUDED.department, status = EXCLUDED.status, "
    "okta_last_updated = EXCLUDED.okta_last_updated, updated_at = now() "
    "WHERE u.okta_last_updated IS NULL OR u.okta_last_updated <= EXCLUDED.okta_last_updated "
    "RETURNING to_jsonb(u.*)";

static const char sql_status[] =
    "UPDATE users u SET status = $3, okta_last_updated = $4::timestamptz, updated_at = now() "
    "WHERE u.tenant_id = " OKS_WORKER_SQL_TENANT " AND u.okta_id = $2 "
    "AND (u.okta_last_updated IS NULL OR u.okta_last_updated <= $4::timestamptz) "
    "RETURNING to_jsonb(u.*)";

/* Audit only real changes: updated_at moves on every write and says nothing. */
static const char sql_audit[] =
    "INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, source, actor, "
    "event_uuid) SELECT $1::uuid, 'user', $2, $3, $4::jsonb, $5::jsonb, 'event', $7, $6 "
    "WHERE ($4::jsonb - 'updated_at') IS DISTINCT FROM ($5::jsonb - 'updated_at')";

static PGresult *write_user(oks_db *db, const oks_worker_change *c, const char *ts, oks_err *err)
{
    if (!c->user) {
        const char *p[] = {c->tenant, c->okta_id, c->status, ts};
        return oks_db_exec_params(db, sql_status, 4, p, err);
    }
    const oks_okta_user *u = c->user;
    const char *language = u->preferred_language ? u->preferred_language : u->locale;
    const char *p[] = {c->tenant,     c->okta_id, u->email, u->first_name,
                       u->last_name,  u->title,   language, u->city,
                       u->department, c->status,  ts};
    return oks_db_exec_params(db, sql_upsert, 11, p, err);
}

/* Inside the open transaction: everything after the processed_events insert. */
static int apply_body(oks_db *db, const oks_worker_change *c, oks_worker_outcome *outcome,
                      oks_err *err)
{
    int rc = -1;
    char ts[32];
    PGresult *before = NULL, *after = NULL, *audit = NULL;
    oks_time_format_iso8601(c->watermark_ms, ts, sizeof ts);
    const char *key[] = {c->tenant, c->okta_id};
    before = oks_db_exec_params(db, sql_before, 2, key, err);
    if (!before)
        goto out;
    const char *before_json = PQntuples(before) == 1 ? PQgetvalue(before, 0, 0) : NULL;
    after = write_user(db, c, ts, err);
    if (!after)
        goto out;
    if (PQntuples(after) != 1) {
        /* Status-only change of a user we never stored: nothing to do. Otherwise the guard
         * refused older state. */
        *outcome = before_json ? OKS_WORKER_STALE : OKS_WORKER_UNCHANGED;
        rc = 0;
        goto out;
    }
    const char *after_json = PQgetvalue(after, 0, 0);
    const char *action = !before_json ? "create" : c->status;
    /* actor: the Okta event type that caused the change (the Okta actor is in the raw event) */
    const char *ap[] = {c->tenant,  c->okta_id,    action,       before_json,
                        after_json, c->event_uuid, c->event_type};
    audit = oks_db_exec_params(db, sql_audit, 7, ap, err);
    if (!audit)
        goto out;
    *outcome = strcmp(PQcmdTuples(audit), "1") == 0 ? OKS_WORKER_APPLIED : OKS_WORKER_UNCHANGED;
    rc = 0;
out:
    PQclear(before);
    PQclear(after);
    PQclear(audit);
    return rc;
}

int oks_worker_apply(oks_db *db, const oks_worker_change *c, oks_worker_outcome *outcome,
                     oks_err *err)
{
    PGresult *r = NULL;
    if (oks_db_begin(db, err) != 0)
        return -1;
    const char *pp[] = {c->tenant, c->event_uuid};
    r = oks_db_exec_params(db, sql_processed, 2, pp, err);
    if (!r)
        goto fail;
    if (PQntuples(r) == 0) {
        PQclear(r);
        oks_db_rollback(db);
        *outcome = OKS_WORKER_DUPLICATE;
        return 0;
    }
    PQclear(r);
    if (apply_body(db, c, outcome, err) != 0)
        goto fail;
    if (oks_db_commit(db, err) != 0)
        goto fail;
    return 0;
fail:
    oks_db_rollback(db);
    return -1;
}
