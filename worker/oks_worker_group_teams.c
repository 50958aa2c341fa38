#include "oks_worker_group_teams.h"
#include "oks_worker_sql.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads by key, with the tenant hidden where it sits next to one (oks_worker_sql.h); the team
 * mode's manager is a scalar lookup by users.id, never a join the planner could run over an
 * index of the whole tenant. want: the mapped teams of each (not deleted) user's groups; del: the
 * sync's group memberships no longer wanted; ins: the new ones. tm: manager_mode = team for the
 * teams ins added to (see the header); the UPDATE re-checks manager_source IS NULL on the row it
 * locks, so of two transactions adding first members concurrently only the first sets the manager.
 */
static const char sql_groups[] =
    "WITH s AS (SELECT e->>'okta_id' AS okta_id, e->'groups' AS g "
    "  FROM jsonb_array_elements($2::jsonb) e), "
    "u AS (SELECT us.id, us.okta_id, s.g FROM users us JOIN s ON us.tenant_id = "
    "  " OKS_WORKER_SQL_TENANT " "
    "  AND us.okta_id = s.okta_id WHERE us.status <> 'deleted'), "
    "want AS (SELECT DISTINCT u.id AS user_id, u.okta_id, gt.team_id FROM u "
    "  CROSS JOIN LATERAL jsonb_array_elements_text(u.g) gid "
    "  JOIN tenant_group_teams gt ON gt.tenant_id = $1::uuid AND gt.okta_group_id = gid), "
    "del AS (DELETE FROM team_members m USING u WHERE m.tenant_id = " OKS_WORKER_SQL_TENANT " "
    "  AND m.user_id = u.id AND m.source = 'okta_group' AND NOT EXISTS (SELECT 1 FROM want w "
    "  WHERE w.user_id = m.user_id AND w.team_id = m.team_id) RETURNING m.team_id, u.okta_id), "
    "ins AS (INSERT INTO team_members (tenant_id, team_id, user_id, is_primary, source) "
    "  SELECT $1::uuid, team_id, user_id, false, 'okta_group' FROM want "
    "  ON CONFLICT (team_id, user_id) DO NOTHING RETURNING team_id, "
    "user_id), " OKS_WORKER_SQL_TEAM_MODE(
        "ins") "aud AS (INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, "
               "after, source, "
               "  actor, sync_run_id) "
               "  SELECT $1::uuid, 'membership', w.okta_id, 'add', NULL, "
               "jsonb_build_object('team', t.name, "
               "  'primary', false, 'source', 'okta_group'), $3, $4, $5::bigint "
               "  FROM ins JOIN want w USING (team_id, user_id) JOIN teams t ON t.id = ins.team_id "
               "  UNION ALL SELECT $1::uuid, 'membership', del.okta_id, 'remove', "
               "jsonb_build_object("
               "  'team', t.name, 'primary', false, 'source', 'okta_group'), NULL, $3, $4, "
               "$5::bigint "
               "  FROM del JOIN teams t ON t.id = del.team_id" OKS_WORKER_SQL_TEAM_MODE_AUDIT
               "RETURNING 1) "
               "SELECT count(*) FROM aud";

int oks_worker_group_teams_apply_tx(oks_db *db, const char *tenant,
                                    const oks_worker_user_groups *ug, size_t n, const char *source,
                                    const char *actor, int64_t sync_run_id, long *changed,
                                    oks_err *err)
{
    *changed = 0;
    if (n == 0)
        return 0;
    json_t *arr = json_array();
    int bad = !arr;
    for (size_t i = 0; !bad && i < n; i++) {
        json_t *o = json_object(), *g = json_array();
        bad = !o || !g;
        for (size_t k = 0; !bad && k < ug[i].n_groups; k++)
            bad = json_array_append_new(g, json_string(ug[i].group_ids[k])) != 0;
        if (bad || json_object_set_new(o, "okta_id", json_string(ug[i].okta_id)) ||
            json_object_set_new(o, "groups", g) || json_array_append_new(arr, o)) {
            bad = 1;
            json_decref(o);
        }
    }
    char *js = bad ? NULL : json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(arr);
    if (!js)
        return oks_err_set(err, OKS_E_NOMEM, "group teams: out of memory");
    char run[24];
    snprintf(run, sizeof run, "%lld", (long long)sync_run_id);
    const char *p[] = {tenant, js, source, actor, sync_run_id > 0 ? run : NULL};
    PGresult *r = oks_db_exec_params(db, sql_groups, 5, p, err);
    free(js);
    if (!r)
        return -1;
    *changed = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

int oks_worker_group_teams_mapped(oks_db *db, const char *tenant, oks_err *err)
{
    const char *p[] = {tenant};
    PGresult *r = oks_db_exec_params(
        db, "SELECT EXISTS (SELECT 1 FROM tenant_group_teams WHERE tenant_id = $1::uuid)", 1, p,
        err);
    if (!r)
        return -1;
    int yes = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return yes;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int oks_worker_group_set_load(oks_db *db, const char *tenant, oks_worker_group_set *set,
                              oks_err *err)
{
    memset(set, 0, sizeof *set);
    const char *p[] = {tenant};
    PGresult *r = oks_db_exec_params(
        db, "SELECT okta_group_id FROM tenant_group_teams WHERE tenant_id = $1::uuid", 1, p, err);
    if (!r)
        return -1;
    size_t n = (size_t)PQntuples(r);
    set->ids = calloc(n ? n : 1, sizeof *set->ids);
    for (size_t i = 0; set->ids && i < n; i++) {
        if (!(set->ids[i] = strdup(PQgetvalue(r, (int)i, 0))))
            break;
        set->n++;
    }
    PQclear(r);
    if (!set->ids || set->n != n) {
        oks_worker_group_set_free(set);
        return oks_err_set(err, OKS_E_NOMEM, "group teams: out of memory");
    }
    qsort(set->ids, set->n, sizeof *set->ids, by_str);
    return 0;
}

const char *oks_worker_group_set_find(const oks_worker_group_set *set, const char *id)
{
    if (set->n == 0 || !id)
        return NULL;
    char *const *hit = bsearch(&id, set->ids, set->n, sizeof *set->ids, by_str);
    return hit ? *hit : NULL;
}

void oks_worker_group_set_free(oks_worker_group_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->ids[i]);
    free(set->ids);
    memset(set, 0, sizeof *set);
}
