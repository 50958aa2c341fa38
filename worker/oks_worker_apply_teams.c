#include "oks_worker_apply_teams.h"
#include "oks_worker_sql.h"

#include <stdlib.h>

/* Reads are by key (users.id, teams (tenant_id, lower(name)), team_members (team_id, user_id)
 * or (user_id)). Where a join could be planned as a scan of the tenant's rows — a batch's row
 * estimate is a guess, and a new tenant's statistics are stale — the lookup is a scalar
 * subquery on a unique key instead (docs/benchmarks.md "Worker rules"). A batch row whose "tq"
 * is false is not a subject: the rule would write nothing for it (oks_worker_apply_batch.c,
 * RULE_QUESTIONS); a batch without "tq" makes every row one. */
#define SUBJECTS                                                                                   \
    "s AS (SELECT (e->>'id')::bigint AS id "                                                       \
    "  FROM jsonb_array_elements($2::jsonb) e WHERE e->>'status' IS NOT NULL "                     \
    "  AND coalesce((e->>'tq')::boolean, true)), "                                                 \
    "u AS (SELECT us.id, us.okta_id, us.status, " OKS_WORKER_SQL_DEPARTMENT(                       \
        "us.department") " AS dep "                                                                \
                         "  FROM s JOIN users us ON us.id = s.id), "

#define AUDIT_COLS                                                                                 \
    "INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, source, "         \
    "actor, sync_run_id) "

/* Teams created on demand; memberships removed (deleted users: all; otherwise the sync's
 * department membership of another team); an admin primary demoted when the department names
 * another team. The batch users' memberships are read once, by user (OFFSET 0 keeps it a key
 * lookup per user: as a join, stale statistics planned a scan of every tenant's memberships
 * per round), each with its team's name by primary key; a membership's tenant is its user's
 * (the composite key to users). The delete and the demotion then find their rows by the
 * membership's key. */
static const char sql_remove[] =
    "WITH " SUBJECTS
    "nt AS (INSERT INTO teams (tenant_id, name, source) SELECT DISTINCT ON (lower(dep)) "
    "  $1::uuid, dep, 'okta_department' FROM u WHERE dep IS NOT NULL AND status <> 'deleted' "
    "  ORDER BY lower(dep), dep ON CONFLICT (tenant_id, lower(name)) DO NOTHING "
    "  RETURNING id, name), "
    "mu AS MATERIALIZED (SELECT u.id AS user_id, u.okta_id, u.status, u.dep, m.team_id, "
    "  m.is_primary, m.source, (SELECT t.name FROM teams t WHERE t.id = m.team_id) AS name "
    "  FROM u CROSS JOIN LATERAL (SELECT m.team_id, m.is_primary, m.source FROM team_members m "
    "  WHERE m.user_id = u.id OFFSET 0) m), "
    "del AS (DELETE FROM team_members m USING mu WHERE m.team_id = mu.team_id "
    "  AND m.user_id = mu.user_id AND (mu.status = 'deleted' OR (mu.source = 'okta_department' "
    "  AND (mu.dep IS NULL OR lower(mu.name) <> lower(mu.dep)))) "
    "  RETURNING mu.okta_id, mu.name, mu.is_primary, mu.source), "
    "dem AS (UPDATE team_members m SET is_primary = false FROM mu WHERE m.team_id = mu.team_id "
    "  AND m.user_id = mu.user_id AND mu.is_primary AND mu.source <> 'okta_department' "
    "  AND mu.status <> 'deleted' AND mu.dep IS NOT NULL AND lower(mu.name) <> lower(mu.dep) "
    "  RETURNING mu.okta_id, mu.name, mu.source), "
    "aud AS (" AUDIT_COLS
    "  SELECT $1::uuid, 'team', nt.name, 'create', NULL, jsonb_build_object('team_id', nt.id, "
    "  'name', nt.name, 'source', 'okta_department'), $3, $4, $5::bigint FROM nt "
    "  UNION ALL SELECT $1::uuid, 'membership', del.okta_id, 'remove', jsonb_build_object("
    "  'team', del.name, 'primary', del.is_primary, 'source', del.source), NULL, $3, $4, "
    "  $5::bigint FROM del "
    "  UNION ALL SELECT $1::uuid, 'membership', dem.okta_id, 'unset_primary', jsonb_build_object("
    "  'team', dem.name, 'primary', true, 'source', dem.source), jsonb_build_object('team', "
    "  dem.name, 'primary', false, 'source', dem.source), $3, $4, $5::bigint FROM dem "
    "  RETURNING 1) "
    "SELECT count(*) FROM aud";

/* The department team as primary membership (an existing membership is promoted), then team
 * mode. The team row update re-checks manager_source IS NULL under its row lock, so of two
 * transactions adding first members concurrently only the first sets the manager. */
static const char sql_add[] =
    /* one lookup of the department team per user (as scalar subqueries inlined into want,
     * the planner repeated it in the filter, the index condition and the output) */
    "WITH " SUBJECTS "dt AS MATERIALIZED (SELECT u.id AS user_id, u.okta_id, t.id AS team_id, "
    "  t.name FROM u CROSS JOIN LATERAL (SELECT t.id, t.name FROM teams t "
    "  WHERE t.tenant_id = " OKS_WORKER_SQL_TENANT " AND lower(t.name) = lower(u.dep) OFFSET 0) t "
    "  WHERE u.dep IS NOT NULL AND u.status <> 'deleted'), "
    "want AS (SELECT dt.user_id, dt.okta_id, dt.team_id, dt.name, m.source AS old_source FROM dt "
    "  LEFT JOIN LATERAL (SELECT m.source, m.is_primary FROM team_members m "
    "  WHERE m.team_id = dt.team_id AND m.user_id = dt.user_id OFFSET 0) m ON true "
    "  WHERE m.is_primary IS NOT TRUE), "
    "w AS (INSERT INTO team_members AS m (tenant_id, team_id, user_id, is_primary, source) "
    "  SELECT $1::uuid, team_id, user_id, true, 'okta_department' FROM want "
    "  ON CONFLICT (team_id, user_id) DO UPDATE SET is_primary = true "
    "  RETURNING m.team_id, m.user_id), " OKS_WORKER_SQL_TEAM_MODE(
        "want") "aud AS (" AUDIT_COLS "  SELECT $1::uuid, 'membership', want.okta_id, "
                "  CASE WHEN want.old_source IS NULL THEN 'add' ELSE 'set_primary' END, "
                "  CASE WHEN want.old_source IS NULL THEN NULL ELSE jsonb_build_object('team', "
                "want.name, "
                "  'primary', false, 'source', want.old_source) END, jsonb_build_object('team', "
                "want.name, "
                "  'primary', true, 'source', coalesce(want.old_source, 'okta_department')), $3, "
                "$4, "
                "  $5::bigint FROM want" OKS_WORKER_SQL_TEAM_MODE_AUDIT "RETURNING 1) "
                "SELECT (SELECT count(*) FROM aud) + 0 * (SELECT count(*) FROM w)";

int oks_worker_apply_teams_tx(oks_db *db, const char *tenant, const char *batch_json,
                              const char *source, const char *actor, const char *run_id,
                              long *changed, oks_err *err)
{
    const char *p[] = {tenant, batch_json, source, actor, run_id};
    *changed = 0;
    const char *sql[] = {sql_remove, sql_add};
    for (int i = 0; i < 2; i++) {
        PGresult *r = oks_db_exec_params(db, sql[i], 5, p, err);
        if (!r)
            return -1;
        *changed += strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    return 0;
}
