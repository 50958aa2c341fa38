#include "oks_worker_apply_managers.h"
#include "oks_worker_sql.h"

#include "core/oks_log.h"
#include "oks_worker_metrics.h"

#include <stdlib.h>
#include <string.h>

/* $1 tenant, $2 batch, $3 source, $4 actor, $5 run id, $6 manager_match, $7 every pending.
 * A batch row marked "mi" is skipped: a new user whose manager its own insert set, which no
 * pending reference and no other row of the batch names (oks_worker_apply_batch.c), so it
 * cannot be resolved to, cannot be on a cycle, and the rule would write what is stored. So is
 * a row whose "mq" is false: its stored edge is what the rule would compute
 * (oks_worker_apply_batch.c, RULE_QUESTIONS); a batch without "mq" asks for every row.
 * r: the subjects (batch users whose stored state is this read, and pending references that
 * now resolve) with the resolved manager and the before image. Only an edge that changes (ws)
 * can close a cycle, because the stored graph has none: walk follows the manager chain from each
 * such edge (the batch's edges first, else the stored ones: rm holds them as one jsonb object,
 * so each step is a key lookup or a primary-key read, never a join that the planner could turn
 * into a scan of the tenant's users); reaching the start again is a cycle. In a cycle the
 * changed edge of the latest-read subject (Okta's Date, then okta_id) is the closing one and is
 * refused; an edge already stored is never the one refused. Cycles of a functional graph are
 * disjoint, so one refusal per cycle breaks them all. The path check and the depth bound end
 * every walk. Every read here is by key, so a page costs the same in a tenant of 100 users or
 * of 100,000 (docs/benchmarks.md "Full sync"). */
#define OLD_IMAGE                                                                                  \
    "jsonb_build_object('manager_user_id', us.manager_user_id, 'override_manager', "               \
    "us.override_manager, 'manager_ref', us.manager_okta_id) AS oj, us.manager_user_id AS "        \
    "old_mgr, us.override_manager AS old_ovr, us.manager_okta_id AS old_ref"

static const char sql_managers[] =
    "WITH RECURSIVE "
    "s AS (SELECT (e->>'id')::bigint AS id, "
    "  e->>'mref' AS mref FROM jsonb_array_elements($2::jsonb) e "
    "  WHERE (e->>'profile')::boolean AND e->>'status' IS NOT NULL AND e->'mi' IS NULL "
    "  AND coalesce((e->>'mq')::boolean, true)), "
    "bu AS (SELECT us.id, us.okta_id, s.mref, us.okta_last_updated AS as_of, " OLD_IMAGE
    ", lower(us.login) AS l, lower(us.email) AS em, us.employee_number AS en "
    "  FROM s JOIN users us ON us.id = s.id), "
    /* the keys the batch's users answer to in the tenant's match mode ($6 is folded into
     * the plan: every lookup below is an index read, whatever the tenant's size) */
    "bkey AS (SELECT DISTINCT CASE $6 WHEN 'okta_id' THEN okta_id WHEN 'login' THEN l "
    "  WHEN 'email' THEN em ELSE en END AS k FROM bu), "
    "pr AS (SELECT p.user_okta_id, p.manager_ref FROM pending_manager_refs p "
    "  WHERE $7::boolean AND p.tenant_id = $1::uuid "
    "  UNION ALL SELECT p.user_okta_id, p.manager_ref FROM bkey CROSS JOIN LATERAL (SELECT "
    "  p.user_okta_id, p.manager_ref FROM pending_manager_refs p WHERE p.tenant_id = "
    "  " OKS_WORKER_SQL_TENANT " AND (CASE WHEN $6 IN ('login', 'email') "
    "  THEN lower(p.manager_ref) ELSE p.manager_ref END) = bkey.k) p "
    "  WHERE NOT $7::boolean AND bkey.k IS NOT NULL), "
    "pu AS (SELECT us.id, us.okta_id, pr.manager_ref AS mref, us.okta_last_updated AS "
    "as_of, " OLD_IMAGE " FROM pr JOIN users us ON us.tenant_id = " OKS_WORKER_SQL_TENANT " "
    "  AND us.okta_id = pr.user_okta_id WHERE us.id NOT IN (SELECT id FROM bu)), "
    /* The lowest-id match. OFFSET 0 fences the lookup off from the min(): with ORDER BY id
     * LIMIT 1 the planner may read the tenant's users in id order until one matches, which
     * with a new tenant's stale statistics it did (10,000 × 10,000 rows for one batch). */
    "c0 AS (SELECT x.id, x.okta_id, x.mref, x.as_of, x.oj, x.old_mgr, x.old_ovr, x.old_ref, "
    "  false AS pending FROM bu x UNION ALL SELECT y.*, true FROM pu y), "
    "r0 AS (SELECT c0.*, (SELECT min(k.id) FROM (SELECT m.id FROM users m "
    "  WHERE m.tenant_id = " OKS_WORKER_SQL_TENANT
    " AND m.id <> c0.id AND c0.mref IS NOT NULL AND ("
    "   ($6 = 'okta_id' AND m.okta_id = c0.mref) "
    "   OR ($6 = 'login' AND lower(m.login) = lower(c0.mref)) "
    "   OR ($6 = 'email' AND lower(m.email) = lower(c0.mref)) "
    "   OR ($6 = 'employee_number' AND m.employee_number = c0.mref)) OFFSET 0) k) AS mgr "
    "  FROM c0), "
    "r AS (SELECT * FROM r0 WHERE NOT pending OR mgr IS NOT NULL), "
    "rm AS MATERIALIZED (SELECT coalesce(jsonb_object_agg(id::text, mgr), '{}') AS m FROM r), "
    "ws AS (SELECT id, mgr FROM r WHERE mgr IS NOT NULL AND mgr IS DISTINCT FROM old_mgr), "
    /* a changed edge X -> M closes a cycle only through an edge into X: a user with no report
     * (stored, or in this batch) is not walked from — most of an org are leaves */
    "wv AS (SELECT ws.id, ws.mgr FROM ws WHERE ws.id IN (SELECT mgr FROM r WHERE mgr IS NOT "
    "  NULL) OR EXISTS (SELECT 1 FROM users x WHERE x.manager_user_id = ws.id)), "
    "walk (start, cur, path) AS (SELECT id, mgr, ARRAY[id] FROM wv "
    "  UNION ALL SELECT w.start, nx.n, w.path || w.cur FROM walk w CROSS JOIN rm "
    "  CROSS JOIN LATERAL (SELECT CASE WHEN rm.m ? w.cur::text "
    "  THEN (rm.m->>w.cur::text)::bigint ELSE (SELECT us.manager_user_id FROM users us "
    "  WHERE us.id = w.cur) END AS n) nx "
    "  WHERE w.cur <> w.start AND NOT (w.cur = ANY (w.path)) AND nx.n IS NOT NULL "
    "  AND cardinality(w.path) < 100000), "
    "refused AS (SELECT c.start AS id FROM walk c JOIN users xu ON xu.id = c.start "
    "  WHERE c.cur = c.start AND NOT EXISTS (SELECT 1 FROM unnest(c.path) y(id) "
    "  JOIN users yu ON yu.id = y.id WHERE y.id <> c.start AND y.id IN (SELECT id FROM ws) "
    "  AND (yu.okta_last_updated, yu.okta_id) > (xu.okta_last_updated, xu.okta_id))), "
    "nv0 AS (SELECT r.*, CASE WHEN r.id NOT IN (SELECT id FROM refused) THEN r.mgr END "
    "  AS new_mgr, (r.mgr IS NOT NULL AND r.id NOT IN (SELECT id FROM refused)) AS new_ovr, "
    "  r.id IN (SELECT id FROM refused) AS is_refused FROM r), "
    "nv AS (SELECT * FROM nv0 WHERE old_mgr IS DISTINCT FROM new_mgr OR old_ovr <> new_ovr "
    "  OR old_ref IS DISTINCT FROM mref), "
    "upd AS (UPDATE users u SET manager_user_id = nv.new_mgr, override_manager = nv.new_ovr, "
    "  manager_okta_id = nv.mref FROM nv WHERE u.id = nv.id RETURNING 1), "
    "pdel AS (DELETE FROM pending_manager_refs p USING nv0 WHERE p.tenant_id "
    "= " OKS_WORKER_SQL_TENANT " "
    "  AND p.user_okta_id = nv0.okta_id AND (nv0.mref IS NULL OR nv0.mgr IS NOT NULL) "
    "  RETURNING 1), "
    "pins AS (INSERT INTO pending_manager_refs AS p (tenant_id, user_okta_id, manager_ref) "
    "  SELECT $1::uuid, okta_id, mref FROM nv0 WHERE mref IS NOT NULL AND mgr IS NULL "
    "  ON CONFLICT (tenant_id, user_okta_id) DO UPDATE SET manager_ref = EXCLUDED.manager_ref "
    "  WHERE p.manager_ref <> EXCLUDED.manager_ref RETURNING 1), "
    "aud AS (INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, source, "
    "  actor, sync_run_id) SELECT $1::uuid, 'manager', nv.okta_id, "
    "  CASE WHEN nv.is_refused THEN 'refuse_cycle' WHEN nv.new_mgr IS NOT NULL THEN 'set' "
    "    WHEN nv.mref IS NOT NULL THEN 'pending' ELSE 'clear' END, nv.oj, "
    "  jsonb_build_object('manager_user_id', nv.new_mgr, 'override_manager', nv.new_ovr, "
    "  'manager_ref', nv.mref), $3, $4, $5::bigint FROM nv RETURNING 1) "
    "SELECT (SELECT count(*) FROM aud), (SELECT count(*) FROM refused), "
    "  (SELECT string_agg(r.okta_id, ',') FROM r WHERE r.id IN (SELECT id FROM refused)), "
    "  (SELECT count(*) FROM r WHERE pending AND mgr IS NOT NULL), "
    "  (SELECT count(*) FROM upd) + (SELECT count(*) FROM pdel) + (SELECT count(*) FROM pins)";

static int run(oks_db *db, const char *tenant, const char *batch_json, const char *source,
               const char *actor, const char *run_id, const char *match, int all_pending,
               long *changed, long *refused, long *resolved, oks_err *err)
{
    const char *p[] = {tenant, batch_json, source, actor, run_id, match, all_pending ? "t" : "f"};
    PGresult *r = oks_db_exec_params(db, sql_managers, 7, p, err);
    if (!r)
        return -1;
    *changed = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    *refused = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    *resolved = strtol(PQgetvalue(r, 0, 3), NULL, 10);
    if (*refused > 0) {
        oks_worker_metrics_add_manager_cycles(*refused);
        oks_log_fields(OKS_LOG_WARN, "manager edge refused: it would close a cycle", "tenant",
                       tenant, "okta_user_ids", PQgetvalue(r, 0, 2), NULL);
    }
    PQclear(r);
    return 0;
}

static int tenant_match(oks_db *db, const char *tenant, char *out, size_t cap, oks_err *err)
{
    const char *p[] = {tenant};
    PGresult *r =
        oks_db_exec_params(db, "SELECT manager_match FROM tenants WHERE id = $1::uuid", 1, p, err);
    if (!r)
        return -1;
    snprintf(out, cap, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "okta_id");
    PQclear(r);
    return 0;
}

int oks_worker_apply_managers_tx(oks_db *db, const char *tenant, const char *batch_json,
                                 const char *source, const char *actor, const char *run_id,
                                 const char *match, long *changed, long *refused, oks_err *err)
{
    long resolved;
    return run(db, tenant, batch_json, source, actor, run_id, match, 0, changed, refused, &resolved,
               err);
}

int oks_worker_managers_resolve_pending(oks_db *db, const char *tenant, long *resolved,
                                        oks_err *err)
{
    char match[16];
    long changed, refused;
    if (tenant_match(db, tenant, match, sizeof match, err) != 0)
        return -1;
    return run(db, tenant, "[]", "full_sync", "full_sync", NULL, match, 1, &changed, &refused,
               resolved, err);
}
