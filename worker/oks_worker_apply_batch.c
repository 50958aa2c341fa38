#include "oks_worker_apply_batch.h"

#include "core/oks_time.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The guard in both writes is the ordering rule: the newer read (by Okta's Date) wins.
 * `b` reads the before images from the statement's snapshot. No FOR UPDATE there: it may run
 * after `ins`/`upd` changed the rows, and a row this command already updated is skipped by a
 * row lock, which lost the before image. The writes lock their rows; the tenant's advisory lock
 * keeps other reconcilers out. An audit row is written only when the user changed: updated_at
 * and the watermark (a new Date on every read) say nothing. */
static const char sql_apply[] =
    "WITH s AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(okta_id text, status text, "
    "  profile boolean, email text, first_name text, last_name text, picture_url text, "
    "  title text, language text, location text, department text, app_assigned boolean, "
    "  as_of timestamptz, seq bigint)), "
    "b AS (SELECT u.okta_id, to_jsonb(u.*) AS j FROM users u JOIN s ON s.okta_id = u.okta_id "
    "  WHERE u.tenant_id = $1::uuid AND s.status IS NOT NULL), "
    "ins AS (INSERT INTO users AS u (tenant_id, okta_id, email, first_name, last_name, "
    "  picture_url, title, language, location, department, status, okta_last_updated, "
    "  app_assigned) "
    "  SELECT $1::uuid, okta_id, email, first_name, last_name, picture_url, title, language, "
    "  location, department, status, as_of, app_assigned FROM s "
    "  WHERE status IS NOT NULL AND profile "
    "  ON CONFLICT (tenant_id, okta_id) DO UPDATE SET email = EXCLUDED.email, "
    "  first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, "
    "  picture_url = EXCLUDED.picture_url, title = EXCLUDED.title, "
    "  language = EXCLUDED.language, location = EXCLUDED.location, "
    "  department = EXCLUDED.department, status = EXCLUDED.status, "
    "  okta_last_updated = EXCLUDED.okta_last_updated, "
    "  app_assigned = COALESCE(EXCLUDED.app_assigned, u.app_assigned), updated_at = now() "
    "  WHERE u.okta_last_updated IS NULL OR u.okta_last_updated <= EXCLUDED.okta_last_updated "
    "  RETURNING u.okta_id, to_jsonb(u.*) AS j), "
    "upd AS (UPDATE users u SET status = s.status, okta_last_updated = s.as_of, "
    "  app_assigned = COALESCE(s.app_assigned, u.app_assigned), updated_at = now() FROM s "
    "  WHERE u.tenant_id = $1::uuid AND u.okta_id = s.okta_id AND s.status IS NOT NULL "
    "  AND NOT s.profile AND (u.okta_last_updated IS NULL OR u.okta_last_updated <= s.as_of) "
    "  RETURNING u.okta_id, to_jsonb(u.*) AS j), "
    "a AS (SELECT * FROM ins UNION ALL SELECT * FROM upd), "
    "aud AS (INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, source, "
    "  actor) SELECT $1::uuid, 'user', a.okta_id, "
    "  CASE WHEN b.j IS NULL THEN 'create' ELSE a.j->>'status' END, b.j, a.j, $3, $4 "
    "  FROM a LEFT JOIN b USING (okta_id) "
    "  WHERE (b.j - '{updated_at,okta_last_updated}'::text[]) IS DISTINCT FROM "
    "  (a.j - '{updated_at,okta_last_updated}'::text[]) RETURNING 1), "
    "d AS (DELETE FROM dirty_users du USING s WHERE du.tenant_id = $1::uuid "
    "  AND du.okta_id = s.okta_id AND s.seq > 0 AND du.seq = s.seq RETURNING 1) "
    "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM aud), (SELECT count(*) FROM d), "
    "  (SELECT count(*) FROM s WHERE status IS NOT NULL "
    "   AND (profile OR okta_id IN (SELECT okta_id FROM b)))";

static int set_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, v ? json_string(v) : json_null());
}

char *oks_worker_apply_batch_json(const oks_worker_state *s, size_t n)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const oks_worker_state *x = &s[i];
        const oks_okta_user *u = x->user;
        char ts[40];
        oks_time_format_iso8601(x->as_of_ms, ts, sizeof ts);
        json_t *o = json_object();
        int bad = !o || set_str(o, "okta_id", x->okta_id) || set_str(o, "status", x->status) ||
                  json_object_set_new(o, "profile", json_boolean(u != NULL)) ||
                  json_object_set_new(o, "app_assigned",
                                      x->app_assigned < 0 ? json_null()
                                                          : json_boolean(x->app_assigned)) ||
                  set_str(o, "as_of", ts) ||
                  json_object_set_new(o, "seq", json_integer(x->mark_seq));
        if (!bad && u) {
            const char *language = u->preferred_language ? u->preferred_language : u->locale;
            bad = set_str(o, "email", u->email) || set_str(o, "first_name", u->first_name) ||
                  set_str(o, "last_name", u->last_name) ||
                  set_str(o, "picture_url", u->profile_url) || set_str(o, "title", u->title) ||
                  set_str(o, "language", language) || set_str(o, "location", u->city) ||
                  set_str(o, "department", u->department);
        }
        if (bad || json_array_append_new(arr, o) != 0) {
            if (bad)
                json_decref(o);
            json_decref(arr);
            return NULL;
        }
    }
    char *out = json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(arr);
    return out;
}

int oks_worker_apply_batch_tx(oks_db *db, const char *tenant, const oks_worker_state *s, size_t n,
                              const char *source, const char *actor, oks_worker_apply_result *res,
                              oks_err *err)
{
    memset(res, 0, sizeof *res);
    if (n == 0)
        return 0;
    char *js = oks_worker_apply_batch_json(s, n);
    if (!js)
        return oks_err_set(err, OKS_E_NOMEM, "apply: out of memory building the batch");
    const char *p[] = {tenant, js, source, actor};
    PGresult *r = oks_db_exec_params(db, sql_apply, 4, p, err);
    free(js);
    if (!r)
        return -1;
    res->written = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    res->audited = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    res->marks_cleared = strtol(PQgetvalue(r, 0, 2), NULL, 10);
    long candidates = strtol(PQgetvalue(r, 0, 3), NULL, 10);
    res->stale = candidates > res->written ? candidates - res->written : 0;
    PQclear(r);
    return 0;
}
