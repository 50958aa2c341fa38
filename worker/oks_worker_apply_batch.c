#include "oks_worker_apply_batch.h"
#include "oks_worker_sql.h"

#include "core/oks_json_arena.h"
#include "core/oks_time.h"
#include "oks_worker_apply_invites.h"
#include "oks_worker_apply_managers.h"
#include "oks_worker_apply_teams.h"

#include <stdio.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The guard in both writes is the ordering rule: the newer read (by Okta's Date) wins.
 * `b` reads the before images from the statement's snapshot. No FOR UPDATE there: it may run
 * after `ins`/`upd` changed the rows, and a row this command already updated is skipped by a
 * row lock, which lost the before image. The writes lock their rows; the tenant's advisory lock
 * keeps other reconcilers out. An audit row is written only when the user changed: updated_at,
 * the watermark (a new Date on every read) and the full sync's last_seen_run_id say nothing.
 * A full sync's page passes its run ($5): the rows written here are marked seen by it in the
 * same write, so the page's own "seen" update touches only the rows this one did not write. */
/* rq: each row this batch wrote, and whether the manager rule (mq) and the teams rule (tq) may
 * have something to do for it. "No" is said only where the rule, run on the row, would write
 * nothing, so not sending it decides nothing differently (worker_apply_cost_it_test checks it
 * against the rules themselves); a rule statement none of whose rows asks is not sent at all
 * (docs/worker-reconcile.md "Cost of a round"). A new row always asks.
 * Managers, only in okta_id match mode (the default): the stored edge is what the rule would
 * compute when it was made from the same reference and the user it names has that okta id
 * (unique in a tenant); no reference and no edge is the same; so is a pending reference (no
 * edge, stored as pending with this reference) to an okta id no stored user has (one this
 * batch inserts resolves it through the manager rule's pending lookup, where the new user
 * asks). Any other mode asks every time:
 * a login or email can move to a lower-id user, which the rule then names instead. The user's
 * own key cannot have become a pending reference's (an okta id never changes, and a pending
 * reference to a user is resolved by the batch that inserts it).
 * Teams: deleted and in no team; or no department and in no team the sync made for one; or a
 * primary membership in the department's team (so no other primary: one per user,
 * team_members_one_primary_idx) and no department membership of another team.
 * A changed reference, department or deletion asks without reading anything; otherwise every
 * read is by key: a user's memberships by user_id, their teams by primary key. The joins of the
 * batch's rows carry only the columns the questions read (OFFSET 0 keeps each projection below
 * its join): with whole rows, a 10,000-user batch's hash table spilled to disk. */
#define RULE_QUESTIONS                                                                             \
    "rq AS (SELECT s1.okta_id, w.id, s1.status, s1.profile, s1.cf, s1.mj AS mref, "                \
    "  s1.okta_id IN (SELECT okta_id FROM maud) AS mi, "                                           \
    "  (o.okta_id IS NULL OR $6 <> 'okta_id' OR s1.mref IS DISTINCT FROM w.ref "                   \
    "   OR CASE WHEN s1.mref IS NULL THEN w.mgr IS NOT NULL OR w.ovr "                             \
    "   WHEN w.mgr IS NULL THEN w.ovr OR (SELECT p.manager_ref FROM pending_manager_refs p "       \
    "   WHERE p.tenant_id = " OKS_WORKER_SQL_TENANT " AND p.user_okta_id = s1.okta_id) "           \
    "   IS DISTINCT FROM s1.mref OR (SELECT mu.id FROM users mu WHERE mu.tenant_id = "             \
    "   " OKS_WORKER_SQL_TENANT " AND mu.okta_id = s1.mref) IS NOT NULL "                          \
    "   ELSE NOT w.ovr OR (SELECT mu.okta_id FROM users mu WHERE mu.id = w.mgr) "                  \
    "   IS DISTINCT FROM s1.mref END) AS mq, "                                                     \
    "  (o.okta_id IS NULL OR o.ld IS DISTINCT FROM w.ld "                                          \
    "   OR (w.st = 'deleted' AND o.st <> 'deleted') "                                              \
    "   OR NOT (SELECT CASE WHEN w.st = 'deleted' THEN count(*) = 0 "                              \
    "   WHEN w.ld IS NULL THEN NOT coalesce(bool_or(x.source = 'okta_department'), false) "        \
    "   ELSE coalesce(bool_or(x.is_primary AND x.ln = w.ld), false) "                              \
    "   AND NOT coalesce(bool_or(x.ln <> w.ld AND x.source = 'okta_department'), false) END "      \
    "   FROM (SELECT tm.is_primary, tm.source, (SELECT lower(t.name) FROM teams t "                \
    "   WHERE t.id = tm.team_id) AS ln FROM team_members tm WHERE tm.user_id = w.uid "             \
    "   OFFSET 0) x)) AS tq "                                                                      \
    "  FROM (SELECT okta_id, status, profile, e->'cf' AS cf, e->'mref' AS mj, e->>'mref' AS mref " \
    "  FROM s OFFSET 0) s1 JOIN (SELECT okta_id, j->'id' AS id, (j->>'id')::bigint AS uid, "       \
    "  j->>'status' AS st, lower(" OKS_WORKER_SQL_DEPARTMENT(                                      \
        "j->>'department'") ") AS ld, "                                                            \
                            "  (j->>'manager_user_id')::bigint AS mgr, "                           \
                            "(j->>'override_manager')::boolean AS ovr, "                           \
                            "  j->>'manager_okta_id' AS ref FROM a OFFSET 0) w USING (okta_id) "   \
                            "  LEFT JOIN (SELECT okta_id, j->>'status' AS st, "                    \
                            "  lower(" OKS_WORKER_SQL_DEPARTMENT(                                  \
                                "j->>'department'") ") AS ld FROM b OFFSET 0) o "                  \
                                                    "  USING (okta_id)) "

static const char sql_apply[] =
    "WITH s AS (SELECT e, e->>'okta_id' AS okta_id, e->>'status' AS status, "
    "  (e->>'profile')::boolean AS profile, coalesce(e->'f', '{}') AS f, "
    "  (e->>'app_assigned')::boolean AS app_assigned, (e->>'as_of')::timestamptz AS as_of, "
    "  (e->>'seq')::bigint AS seq FROM jsonb_array_elements($2::jsonb) e), "
    /* a key lookup per row (OFFSET 0 keeps it one): as a join, a tenant estimated at its
     * average size was hashed whole for every batch — its full sync's later pages read
     * most of the tenant each */
    "c AS (SELECT u.* FROM s CROSS JOIN LATERAL (SELECT * FROM users u "
    "  WHERE u.tenant_id = " OKS_WORKER_SQL_TENANT " AND u.okta_id = s.okta_id OFFSET 0) u "
    "  WHERE s.status IS NOT NULL), "
    "b AS (SELECT c.okta_id, to_jsonb(c.*) AS j FROM c), "
    /* a mapped attribute absent from the profile leaves the stored value (docs/rules.md) */
    "m AS (SELECT s.okta_id, s.status, s.as_of, s.app_assigned, "
    "  CASE WHEN s.f ? 'email' THEN s.f->>'email' ELSE c.email END AS email, "
    "  CASE WHEN s.f ? 'first_name' THEN s.f->>'first_name' ELSE c.first_name END AS first_name, "
    "  CASE WHEN s.f ? 'last_name' THEN s.f->>'last_name' ELSE c.last_name END AS last_name, "
    "  CASE WHEN s.f ? 'picture' THEN s.f->>'picture' ELSE c.picture_url END AS picture_url, "
    "  CASE WHEN s.f ? 'title' THEN s.f->>'title' ELSE c.title END AS title, "
    "  CASE WHEN s.f ? 'language' THEN s.f->>'language' ELSE c.language END AS language, "
    "  CASE WHEN s.f ? 'location' THEN s.f->>'location' ELSE c.location END AS location, "
    "  CASE WHEN s.f ? 'department' THEN s.f->>'department' ELSE c.department END "
    "    AS department, "
    "  CASE WHEN s.f ? 'login' THEN s.f->>'login' ELSE c.login END AS login, "
    "  CASE WHEN s.f ? 'employee_number' THEN s.f->>'employee_number' "
    "    ELSE c.employee_number END AS employee_number, "
    "  s.e->>'mref' AS mref, c.okta_id IS NULL AS is_new, nextval('users_id_seq') AS nid, "
    /* the key a new user answers to in the tenant's match mode (nothing is stored for it) */
    "  CASE $6 WHEN 'okta_id' THEN s.okta_id WHEN 'login' THEN lower(s.f->>'login') "
    "  WHEN 'email' THEN lower(s.f->>'email') ELSE s.f->>'employee_number' END AS mykey "
    "  FROM s LEFT JOIN c USING (okta_id) WHERE s.status IS NOT NULL AND s.profile), "
    /* A new user's manager, stored or new in this batch, is set by the insert itself (one
     * tuple instead of an insert and a manager update through all of users' indexes). Only for
     * a user no edge can reach yet: no pending reference and no other row of the batch names
     * it, so the edge cannot be in a cycle and the manager rule would write the same
     * (docs/rules.md "Managers"). Each row's id is drawn here (the column default would draw
     * one per row too), so a report can name a manager inserted by the same statement; a
     * stored match wins, as the rule's lowest id does. The batch's references and new keys are
     * jsonb objects: lookups, never a join. */
    "mk AS (SELECT coalesce(jsonb_object_agg(k, true), '{}') AS ks FROM (SELECT DISTINCT "
    "  CASE WHEN $6 IN ('login', 'email') THEN lower(mref) ELSE mref END AS k FROM m "
    "  WHERE mref IS NOT NULL) x), "
    "bn AS (SELECT coalesce(jsonb_object_agg(mykey, nid), '{}') AS ids FROM (SELECT mykey, "
    "  min(nid) AS nid FROM m WHERE is_new AND (SELECT ks FROM mk) ? mykey GROUP BY mykey) x), "
    "ins AS (INSERT INTO users AS u (id, tenant_id, okta_id, email, first_name, last_name, "
    "  picture_url, title, language, location, department, login, employee_number, status, "
    "  okta_last_updated, app_assigned, first_active_at, last_seen_run_id, manager_user_id, "
    "  override_manager, manager_okta_id) "
    "  SELECT nid, $1::uuid, okta_id, email, first_name, last_name, picture_url, title, "
    "  language, location, department, login, employee_number, status, as_of, app_assigned, "
    "  CASE WHEN status = 'active' THEN now() END, $5::bigint, mgr, mgr IS NOT NULL, "
    "  CASE WHEN mgr IS NOT NULL THEN mref END FROM m CROSS JOIN LATERAL (SELECT "
    "  CASE WHEN m.is_new AND m.mref IS NOT NULL "
    "  AND NOT (m.mykey IS NOT NULL AND (SELECT ks FROM mk) ? m.mykey) "
    "  AND NOT EXISTS (SELECT 1 FROM pending_manager_refs p WHERE p.tenant_id = "
    "  " OKS_WORKER_SQL_TENANT " AND (CASE WHEN $6 IN ('login', 'email') "
    "  THEN lower(p.manager_ref) ELSE p.manager_ref END) = m.mykey) "
    "  THEN coalesce((SELECT min(k.id) FROM (SELECT mu.id FROM users mu WHERE mu.tenant_id = "
    "  " OKS_WORKER_SQL_TENANT " AND ("
    "   ($6 = 'okta_id' AND mu.okta_id = m.mref) "
    "   OR ($6 = 'login' AND lower(mu.login) = lower(m.mref)) "
    "   OR ($6 = 'email' AND lower(mu.email) = lower(m.mref)) "
    "   OR ($6 = 'employee_number' AND mu.employee_number = m.mref)) OFFSET 0) k), "
    "  ((SELECT ids FROM bn)->>(CASE WHEN $6 IN ('login', 'email') THEN lower(m.mref) "
    "  ELSE m.mref END))::bigint) END AS mgr OFFSET 0) g "
    "  ON CONFLICT (tenant_id, okta_id) DO UPDATE SET email = EXCLUDED.email, "
    "  first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, "
    "  picture_url = EXCLUDED.picture_url, title = EXCLUDED.title, "
    "  language = EXCLUDED.language, location = EXCLUDED.location, "
    "  department = EXCLUDED.department, login = EXCLUDED.login, "
    "  employee_number = EXCLUDED.employee_number, status = EXCLUDED.status, "
    "  okta_last_updated = EXCLUDED.okta_last_updated, "
    "  app_assigned = COALESCE(EXCLUDED.app_assigned, u.app_assigned), updated_at = now(), "
    "  first_active_at = COALESCE(u.first_active_at, EXCLUDED.first_active_at), "
    "  last_seen_run_id = COALESCE(EXCLUDED.last_seen_run_id, u.last_seen_run_id) "
    "  WHERE u.okta_last_updated IS NULL OR u.okta_last_updated <= EXCLUDED.okta_last_updated "
    "  RETURNING u.okta_id, to_jsonb(u.*) AS j, u.first_active_at = now() AS fresh), "
    "upd AS (UPDATE users u SET status = s.status, okta_last_updated = s.as_of, "
    "  app_assigned = COALESCE(s.app_assigned, u.app_assigned), updated_at = now(), "
    "  first_active_at = COALESCE(u.first_active_at, "
    "    CASE WHEN s.status = 'active' THEN now() END), "
    "  last_seen_run_id = COALESCE($5::bigint, u.last_seen_run_id) FROM s JOIN c USING (okta_id) "
    "  WHERE u.id = c.id AND NOT s.profile "
    "  AND (u.okta_last_updated IS NULL OR u.okta_last_updated <= s.as_of) "
    "  RETURNING u.okta_id, to_jsonb(u.*) AS j, u.first_active_at = now() AS fresh), "
    "a AS (SELECT * FROM ins UNION ALL SELECT * FROM upd), "
    "aud AS (INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, source, "
    "  actor, sync_run_id) SELECT $1::uuid, 'user', a.okta_id, "
    "  CASE WHEN b.j IS NULL THEN 'create' ELSE a.j->>'status' END, b.j, a.j, $3, $4, "
    "  $5::bigint FROM a LEFT JOIN b USING (okta_id) "
    "  WHERE (b.j - '{updated_at,okta_last_updated,last_seen_run_id}'::text[]) IS DISTINCT FROM "
    "  (a.j - '{updated_at,okta_last_updated,last_seen_run_id}'::text[]) RETURNING 1), "
    /* the manager the insert set: the same audit row the manager rule writes for it. A row
     * with no before image was inserted here: under the tenant's advisory lock no other
     * transaction inserts the tenant's users, so none arrives through ON CONFLICT */
    "maud AS (INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, "
    "  source, actor, sync_run_id) SELECT $1::uuid, 'manager', a.okta_id, 'set', "
    "  jsonb_build_object('manager_user_id', NULL, 'override_manager', false, 'manager_ref', "
    "  NULL), jsonb_build_object('manager_user_id', a.j->'manager_user_id', 'override_manager', "
    "  true, 'manager_ref', a.j->'manager_okta_id'), $3, $4, $5::bigint "
    "  FROM a LEFT JOIN b USING (okta_id) WHERE b.j IS NULL "
    "  AND a.j->>'manager_user_id' IS NOT NULL RETURNING entity_id AS okta_id), "
    "d AS (DELETE FROM dirty_users du USING s WHERE du.tenant_id = " OKS_WORKER_SQL_TENANT " "
    "  AND du.okta_id = s.okta_id AND s.seq > 0 AND du.seq = s.seq RETURNING 1), " RULE_QUESTIONS
    "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM aud), (SELECT count(*) FROM d), "
    "  (SELECT count(*) FROM s WHERE status IS NOT NULL "
    "   AND (profile OR okta_id IN (SELECT okta_id FROM b))), "
    /* Each rule's subjects among the rows this batch wrote, with their id and only the keys
     * that rule reads: each rule statement parses its array again, and one array of every
     * row with every key cost each of them 23-38 ms at 10,000 rows (docs/benchmarks.md "Worker
     * rules"). Custom values: rows with attribute values. Managers: rows whose "mq" asks
     * (RULE_QUESTIONS), less those whose manager the insert set and no one can reach ("mi",
     * maud). Teams: rows whose "tq" asks. Invitations: active rows. */
    "  (SELECT coalesce(jsonb_agg(jsonb_build_object('id', q.id, 'cf', q.cf)), '[]') FROM rq q "
    "   WHERE jsonb_typeof(q.cf) = 'object' AND q.cf <> '{}'), (SELECT count(*) FROM maud), "
    "  (SELECT count(*) FROM a LEFT JOIN b USING (okta_id) WHERE b.j IS NULL), "
    /* rows active since this transaction began: only they can be invited */
    "  (SELECT count(*) FROM a WHERE fresh), "
    "  (SELECT coalesce(jsonb_agg(jsonb_build_object('id', q.id, 'status', q.status, "
    "   'profile', true, 'mref', q.mref)), '[]') FROM rq q "
    "   WHERE coalesce(q.mq, true) AND q.profile AND NOT q.mi), "
    "  (SELECT coalesce(jsonb_agg(jsonb_build_object('id', q.id, 'status', q.status)), '[]') "
    "   FROM rq q WHERE coalesce(q.tq, true)), "
    "  (SELECT coalesce(jsonb_agg(jsonb_build_object('id', q.id, 'status', q.status)), '[]') "
    "   FROM rq q WHERE q.status = 'active')";

static int set_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, v ? json_string(v) : json_null());
}

/* The batch's rows as one JSON document (malloc'd). Its tree is built in this thread's jansson
 * arena (core/oks_json_arena.h): a 1,000-user batch is ~40,000 small allocations that all die
 * here, and through malloc they were about a fifth of the worker's CPU in a drain
 * (docs/benchmarks.md "Nineteenth session"). The profiles' values it holds are references
 * (malloc'd, made by the read), so the tree is released before the scope ends. */
char *oks_worker_apply_batch_json_map(const oks_worker_state *s, size_t n,
                                      const oks_worker_fieldmap *m)
{
    bool scoped = oks_json_arena_begin();
    json_t *arr = json_array();
    bool bad = arr == NULL;
    for (size_t i = 0; i < n && !bad; i++) {
        const oks_worker_state *x = &s[i];
        const oks_okta_user *u = x->user;
        char ts[40];
        oks_time_format_iso8601(x->as_of_ms, ts, sizeof ts);
        json_t *o = json_object();
        bad = !o || set_str(o, "okta_id", x->okta_id) || set_str(o, "status", x->status) ||
              json_object_set_new(o, "profile", json_boolean(u != NULL)) ||
              json_object_set_new(o, "app_assigned",
                                  x->app_assigned < 0 ? json_null()
                                                      : json_boolean(x->app_assigned)) ||
              set_str(o, "as_of", ts) || json_object_set_new(o, "seq", json_integer(x->mark_seq));
        if (!bad && u)
            bad = oks_worker_fields_row(m, u->profile, o) != 0;
        if (bad)
            json_decref(o);
        else
            bad = json_array_append_new(arr, o) != 0;
    }
    char *out = bad ? NULL : oks_json_dumps_malloc(arr, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(arr);
    if (scoped)
        oks_json_arena_end();
    return out;
}

char *oks_worker_apply_batch_json(const oks_worker_state *s, size_t n)
{
    oks_worker_fieldmap m;
    if (oks_worker_fieldmap_defaults(&m) != 0)
        return NULL;
    char *out = oks_worker_apply_batch_json_map(s, n, &m);
    oks_worker_fieldmap_free(&m);
    return out;
}

int oks_worker_apply_batch_tx(oks_db *db, const char *tenant, const oks_worker_state *s, size_t n,
                              const char *source, const char *actor, oks_worker_apply_result *res,
                              oks_err *err)
{
    return oks_worker_apply_batch_run_tx(db, tenant, s, n, source, actor, 0, res, err);
}

int oks_worker_apply_batch_prepare(oks_db *db, const char *tenant, const oks_worker_state *s,
                                   size_t n, oks_worker_apply_batch *b, oks_err *err)
{
    _Static_assert(sizeof b->match == sizeof((oks_worker_fieldmap *)0)->manager_match,
                   "the batch keeps the field map's manager match");
    memset(b, 0, sizeof *b);
    if (n == 0)
        return 0;
    oks_worker_fieldmap m;
    if (oks_worker_fieldmap_load(db, tenant, &m, err) != 0)
        return -1;
    b->js = oks_worker_apply_batch_json_map(s, n, &m);
    memcpy(b->match, m.manager_match, sizeof b->match);
    /* no active custom field: no user carries a value, the statement has nothing to write */
    b->any_fields = json_array_size(m.custom_fields) > 0;
    oks_worker_fieldmap_free(&m);
    return b->js ? 0 : oks_err_set(err, OKS_E_NOMEM, "apply: out of memory building the batch");
}

void oks_worker_apply_batch_free(oks_worker_apply_batch *b)
{
    free(b->js);
    b->js = NULL;
}

/* plan_uses > 0: the apply from a generic plan (oks_worker_apply_batch_round_tx) */
static int exec_tx(oks_db *db, const char *tenant, const oks_worker_apply_batch *b,
                   const char *source, const char *actor, int64_t sync_run_id, int64_t plan_uses,
                   oks_worker_apply_result *res, oks_err *err)
{
    memset(res, 0, sizeof *res);
    if (!b->js)
        return 0;
    char run[24];
    snprintf(run, sizeof run, "%lld", (long long)sync_run_id);
    const char *run_p = sync_run_id > 0 ? run : NULL;
    const char *p[] = {tenant, b->js, source, actor, run_p, b->match};
    const oks_db_stmt generic = {.name = "oks_worker_apply",
                                 .sql = sql_apply,
                                 .n_params = 6,
                                 .max_uses = plan_uses,
                                 .max_age_ms = OKS_WORKER_PLAN_AGE_MS};
    PGresult *r = plan_uses > 0 ? oks_db_exec_generic(db, &generic, p, err)
                                : oks_db_exec_params(db, sql_apply, 6, p, err);
    if (!r)
        return -1;
    res->written = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    res->audited = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    res->marks_cleared = strtol(PQgetvalue(r, 0, 2), NULL, 10);
    long candidates = strtol(PQgetvalue(r, 0, 3), NULL, 10);
    long managers_at_insert = strtol(PQgetvalue(r, 0, 5), NULL, 10);
    res->created = strtol(PQgetvalue(r, 0, 6), NULL, 10);
    res->stale = candidates > res->written ? candidates - res->written : 0;
    long fresh = strtol(PQgetvalue(r, 0, 7), NULL, 10);
    /* each rule's own rows (none: "[]"), read in place: r is kept until the rules ran */
    const char *field_rows = PQgetvalue(r, 0, 4), *manager_rows = PQgetvalue(r, 0, 8),
               *team_rows = PQgetvalue(r, 0, 9), *invite_rows = PQgetvalue(r, 0, 10);
    int rc = 0;
    /* the product's rules on the rows this batch wrote (docs/rules.md); a stale read (an older
     * Date than the stored row) runs no rule. A rule statement that cannot act on the batch is
     * not sent (docs/worker-reconcile.md "Cost of a round"): custom fields without an active
     * field, invitations without a row that became active in this transaction (the only rows
     * the invitation rule looks at), managers and teams without a row that asks (RULE_QUESTIONS:
     * their outcome also depends on stored state, a link or a membership an admin changed is put
     * back on the next read, so the question reads it). */
    if (res->written > 0) {
        if (b->any_fields) {
            rc = oks_worker_apply_fields_tx(db, tenant, field_rows, source, actor, run_p,
                                            &res->custom_values, err);
            res->rules_run++;
        }
        if (rc == 0 && strcmp(manager_rows, "[]") != 0) {
            rc = oks_worker_apply_managers_tx(db, tenant, manager_rows, source, actor, run_p,
                                              b->match, &res->managers, &res->cycles_refused, err);
            res->rules_run++;
        }
        res->managers += managers_at_insert;
        if (rc == 0 && strcmp(team_rows, "[]") != 0) {
            rc = oks_worker_apply_teams_tx(db, tenant, team_rows, source, actor, run_p,
                                           &res->memberships, err);
            res->rules_run++;
        }
        if (rc == 0 && fresh > 0) {
            rc = oks_worker_apply_invites_tx(db, tenant, invite_rows, source, actor, run_p,
                                             &res->invitations, err);
            res->rules_run++;
        }
    }
    PQclear(r);
    return rc;
}

int oks_worker_apply_batch_run_tx(oks_db *db, const char *tenant, const oks_worker_state *s,
                                  size_t n, const char *source, const char *actor,
                                  int64_t sync_run_id, oks_worker_apply_result *res, oks_err *err)
{
    oks_worker_apply_batch b;
    int rc = oks_worker_apply_batch_prepare(db, tenant, s, n, &b, err);
    if (rc == 0)
        rc = exec_tx(db, tenant, &b, source, actor, sync_run_id, 0, res, err);
    oks_worker_apply_batch_free(&b);
    return rc;
}

int oks_worker_apply_batch_round_tx(oks_db *db, const char *tenant, const oks_worker_apply_batch *b,
                                    int64_t plan_uses, oks_worker_apply_result *res, oks_err *err)
{
    return exec_tx(db, tenant, b, "event", "reconcile", 0, plan_uses, res, err);
}
