/*
 * SQL shared by the worker's batch statements.
 *
 * OKS_WORKER_SQL_TENANT is the tenant id ($1) hidden from the planner in an InitPlan. A
 * tenant's own statistics are stale exactly while it matters — a new tenant's first full sync,
 * or a tenant that grew since the last ANALYZE — and then every index that starts with
 * tenant_id is estimated at one row, the same as the unique key the lookup names; on that tie
 * PostgreSQL picked (tenant_id, status) over (tenant_id, okta_id) and read the whole tenant for
 * each user of a batch (10,000 × 10,000 rows, docs/benchmarks.md "Worker rules"). Hidden, the
 * tenant is estimated as an average one, and the lookup that names the whole unique key wins.
 * Use it where a tenant predicate sits next to a key; tenant-wide scans keep $1::uuid.
 */
#ifndef OKS_WORKER_SQL_H
#define OKS_WORKER_SQL_H

#define OKS_WORKER_SQL_TENANT "(SELECT $1::uuid)"

/* How long a statement the worker prepares keeps its plan (oks_db_stmt.max_age_ms): tables such
 * as dirty_users go from empty to a backlog's 100,000 rows and back within minutes, and a plan
 * made at one end must not serve the other for long. */
#define OKS_WORKER_PLAN_AGE_MS 60000

/* A tenant_okta_state row a successful round must reset: a fault, or failed attempts counting
 * towards the backoff. The round's tenant read asks it, and the reset runs only then. */
#define OKS_WORKER_SQL_FAULT_TO_CLEAR "(fault IS NOT NULL OR attempts > 0)"

/* A small statement the worker runs per round or per look, prepared on each connection so
 * PostgreSQL plans it once (oks_db_exec_prepared): their planning cost more than their runs. */
#define OKS_WORKER_STMT(nm, text, np)                                                              \
    {                                                                                              \
        .name = nm, .sql = text, .n_params = np, .max_age_ms = OKS_WORKER_PLAN_AGE_MS              \
    }

/* A user's department as a team name (docs/rules.md "Teams"): trimmed, NULL when empty (no
 * primary team from Okta); team names compare case-insensitively, as lower() of this. */
#define OKS_WORKER_SQL_DEPARTMENT(col) "NULLIF(btrim(" col "), '')"

/*
 * manager_mode = team (docs/rules.md "Managers"), shared by the department teams
 * (oks_worker_apply_teams.c) and the group teams (oks_worker_group_teams.c): each team the
 * statement's CTE `added` (team_id, user_id) gave members takes the manager of its lowest-id such
 * member who has one, if the team has no manager and no manager_source. The UPDATE re-checks that
 * on the row it locks, so of two transactions adding first members at once only the first sets
 * it. Team mode gates the whole update as an InitPlan: nothing is read for other tenants. The
 * manager is a scalar lookup by users.id, never a join the planner could run over the tenant.
 * Defines CTEs f and tm; OKS_WORKER_SQL_TEAM_MODE_AUDIT is tm's audit row (a UNION ALL branch
 * of the statement's audit insert, $3 source, $4 actor, $5 run).
 */
#define OKS_WORKER_SQL_TEAM_MODE(added)                                                            \
    "f AS MATERIALIZED (SELECT DISTINCT ON (team_id) team_id, mgr FROM (SELECT " added             \
    ".team_id, " added ".user_id, (SELECT us.manager_user_id FROM users us WHERE us.id = " added   \
    ".user_id) AS mgr FROM " added ") x WHERE mgr IS NOT NULL ORDER BY team_id, user_id), "        \
    "tm AS (UPDATE teams t SET manager_user_id = f.mgr, manager_source = 'first_member' "          \
    "  FROM f WHERE t.id = f.team_id AND t.tenant_id = $1::uuid AND (SELECT tn.manager_mode "      \
    "  FROM tenants tn WHERE tn.id = $1::uuid) = 'team' AND t.manager_user_id IS NULL "            \
    "  AND t.manager_source IS NULL RETURNING t.id, t.name, t.manager_user_id), "

#define OKS_WORKER_SQL_TEAM_MODE_AUDIT                                                             \
    " UNION ALL SELECT $1::uuid, 'team', tm.name, 'set_manager', jsonb_build_object("              \
    "  'manager_user_id', NULL), jsonb_build_object('manager_user_id', tm.manager_user_id, "       \
    "  'manager_source', 'first_member'), $3, $4, $5::bigint FROM tm "

#endif
