#include "oks_worker_apply_managers.h"

#include "core/oks_log.h"
#include "oks_worker_metrics.h"

#include <stdlib.h>
#include <string.h>

/* $1 tenant, $2 batch, $3 source, $4 actor, $5 run id, $6 manager_match, $7 every pending.
 * r: the subjects (batch users whose stored state is this read, and pending references that
 * now resolve) with the resolved manager. walk: from each new edge along the manager chain
 * (new edges, and stored edges of everyone else); reaching the start again is a cycle. In a
 * cycle the edge of the latest-read subject (Okta's Date, then okta_id) is the closing one and
 * is refused; cycles of a functional graph are disjoint, so one refusal per cycle breaks all. */
static const char sql_managers[] =
    "WITH RECURSIVE "
    "s AS (SELECT e->>'okta_id' AS okta_id, (e->>'as_of')::timestamptz AS as_of, "
    "  e->>'mref' AS mref FROM jsonb_array_elements($2::jsonb) e "
    "  WHERE (e->>'profile')::boolean AND e->>'status' IS NOT NULL), "
    "bu AS (SELECT us.id, us.okta_id, s.mref, us.okta_last_updated AS as_of FROM users us "
    "  JOIN s ON us.tenant_id = $1::uuid AND us.okta_id = s.okta_id "
    "  AND us.okta_last_updated = s.as_of), "
    "pu AS (SELECT us.id, us.okta_id, p.manager_ref AS mref, us.okta_last_updated AS as_of "
    "  FROM pending_manager_refs p JOIN users us ON us.tenant_id = p.tenant_id "
    "  AND us.okta_id = p.user_okta_id WHERE p.tenant_id = $1::uuid "
    "  AND us.id NOT IN (SELECT id FROM bu) AND ($7::boolean OR EXISTS (SELECT 1 FROM users m "
    "  JOIN s ON m.okta_id = s.okta_id WHERE m.tenant_id = $1::uuid AND ("
    "   ($6 = 'okta_id' AND m.okta_id = p.manager_ref) "
    "   OR ($6 = 'login' AND lower(m.login) = lower(p.manager_ref)) "
    "   OR ($6 = 'email' AND lower(m.email) = lower(p.manager_ref)) "
    "   OR ($6 = 'employee_number' AND m.employee_number = p.manager_ref))))), "
    "r0 AS (SELECT x.*, false AS pending, (SELECT m.id FROM users m WHERE m.tenant_id = $1::uuid "
    "  AND m.id <> x.id AND x.mref IS NOT NULL AND ("
    "   ($6 = 'okta_id' AND m.okta_id = x.mref) "
    "   OR ($6 = 'login' AND lower(m.login) = lower(x.mref)) "
    "   OR ($6 = 'email' AND lower(m.email) = lower(x.mref)) "
    "   OR ($6 = 'employee_number' AND m.employee_number = x.mref)) "
    "  ORDER BY m.id LIMIT 1) AS mgr FROM bu x "
    "  UNION ALL SELECT y.*, true, (SELECT m.id FROM users m WHERE m.tenant_id = $1::uuid "
    "  AND m.id <> y.id AND ("
    "   ($6 = 'okta_id' AND m.okta_id = y.mref) "
    "   OR ($6 = 'login' AND lower(m.login) = lower(y.mref)) "
    "   OR ($6 = 'email' AND lower(m.email) = lower(y.mref)) "
    "   OR ($6 = 'employee_number' AND m.employee_number = y.mref)) "
    "  ORDER BY m.id LIMIT 1) FROM pu y), "
    "r AS (SELECT * FROM r0 WHERE NOT pending OR mgr IS NOT NULL), "
    "g AS (SELECT id, mgr FROM r WHERE mgr IS NOT NULL UNION ALL SELECT id, manager_user_id "
    "  FROM users WHERE tenant_id = $1::uuid AND manager_user_id IS NOT NULL "
    "  AND id NOT IN (SELECT id FROM r)), "
    "walk (start, cur, path) AS (SELECT id, mgr, ARRAY[id] FROM r WHERE mgr IS NOT NULL "
    "  UNION ALL SELECT w.start, g.mgr, w.path || w.cur FROM walk w JOIN g ON g.id = w.cur "
    "  WHERE w.cur <> w.start AND NOT (w.cur = ANY (w.path)) AND cardinality(w.path) < 100000), "
    "refused AS (SELECT x.id, x.okta_id FROM walk c JOIN r x ON x.id = c.start "
    "  WHERE c.cur = c.start AND NOT EXISTS (SELECT 1 FROM r y WHERE y.id = ANY (c.path) "
    "  AND y.id <> x.id AND y.mgr IS NOT NULL AND (y.as_of, y.okta_id) > (x.as_of, x.okta_id))), "
    "nv AS (SELECT r.id, r.okta_id, r.mref, r.mgr, "
    "  CASE WHEN f.id IS NULL THEN r.mgr END AS new_mgr, "
    "  (r.mgr IS NOT NULL AND f.id IS NULL) AS new_ovr FROM r LEFT JOIN refused f USING (id)), "
    "o AS (SELECT us.id, jsonb_build_object('manager_user_id', us.manager_user_id, "
    "  'override_manager', us.override_manager, 'manager_ref', us.manager_okta_id) AS j "
    "  FROM users us JOIN nv USING (id)), "
    "upd AS (UPDATE users u SET manager_user_id = nv.new_mgr, override_manager = nv.new_ovr, "
    "  manager_okta_id = nv.mref FROM nv WHERE u.id = nv.id "
    "  AND (u.manager_user_id IS DISTINCT FROM nv.new_mgr OR u.override_manager <> nv.new_ovr "
    "  OR u.manager_okta_id IS DISTINCT FROM nv.mref) "
    "  RETURNING u.id, u.okta_id, jsonb_build_object('manager_user_id', u.manager_user_id, "
    "  'override_manager', u.override_manager, 'manager_ref', u.manager_okta_id) AS j), "
    "pdel AS (DELETE FROM pending_manager_refs p USING nv WHERE p.tenant_id = $1::uuid "
    "  AND p.user_okta_id = nv.okta_id AND (nv.mref IS NULL OR nv.mgr IS NOT NULL) "
    "  RETURNING p.user_okta_id), "
    "pins AS (INSERT INTO pending_manager_refs AS p (tenant_id, user_okta_id, manager_ref) "
    "  SELECT $1::uuid, okta_id, mref FROM nv WHERE mref IS NOT NULL AND mgr IS NULL "
    "  ON CONFLICT (tenant_id, user_okta_id) DO UPDATE SET manager_ref = EXCLUDED.manager_ref "
    "  WHERE p.manager_ref <> EXCLUDED.manager_ref RETURNING 1), "
    "aud AS (INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, source, "
    "  actor, sync_run_id) SELECT $1::uuid, 'manager', upd.okta_id, "
    "  CASE WHEN f.id IS NOT NULL THEN 'refuse_cycle' "
    "    WHEN upd.j->>'manager_user_id' IS NOT NULL THEN 'set' "
    "    WHEN upd.j->>'manager_ref' IS NOT NULL THEN 'pending' ELSE 'clear' END, "
    "  o.j, upd.j, $3, $4, $5::bigint FROM upd JOIN o USING (id) "
    "  LEFT JOIN refused f USING (id) RETURNING 1) "
    "SELECT (SELECT count(*) FROM aud), (SELECT count(*) FROM refused), "
    "  (SELECT string_agg(okta_id, ',') FROM refused), "
    "  (SELECT count(*) FROM r WHERE pending AND mgr IS NOT NULL)";

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
                                 long *changed, long *refused, oks_err *err)
{
    char match[16];
    long resolved;
    if (tenant_match(db, tenant, match, sizeof match, err) != 0)
        return -1;
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
