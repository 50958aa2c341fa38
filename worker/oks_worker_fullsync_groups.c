/*
 * Groups → teams at the end of a full sync (docs/rules.md "Teams from groups"): the members of
 * each group the tenant maps (GET /api/v1/groups/{id} for its type: the built-in Everyone group
 * is skipped; then GET /api/v1/groups/{id}/users, 1,000 a page) are inverted into
 * user → groups and handed, for every user the run saw (an empty set for users in no mapped
 * group), to oks_worker_group_teams_apply_tx in chunks of CHUNK users, one transaction each.
 * Memory: one (user, group) pair per membership of a mapped group, not per user of the org.
 * A group listing that fails changes no membership (the pass is skipped and counted as an
 * error): a partial member list would read as "left the group".
 */
#include "oks_worker_fullsync_int.h"
#include "oks_worker_group_teams.h"

#include "core/oks_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK = 1000 };

typedef struct pair {
    char *user;
    size_t group; /* index into groups */
} pair;

static int by_user(const void *a, const void *b)
{
    return strcmp(((const pair *)a)->user, ((const pair *)b)->user);
}

typedef struct pass {
    char **groups;
    size_t n_groups;
    pair *pairs;
    size_t n_pairs, cap;
} pass;

static void pass_free(pass *p)
{
    for (size_t i = 0; i < p->n_groups; i++)
        free(p->groups[i]);
    for (size_t i = 0; i < p->n_pairs; i++)
        free(p->pairs[i].user);
    free(p->groups);
    free(p->pairs);
}

static int mapped_groups(oks_db *db, const char *tenant, pass *p, oks_err *err)
{
    const char *prm[] = {tenant};
    PGresult *r = oks_db_exec_params(db,
                                     "SELECT okta_group_id FROM tenant_group_teams "
                                     "WHERE tenant_id = $1::uuid ORDER BY 1",
                                     1, prm, err);
    if (!r)
        return -1;
    size_t n = (size_t)PQntuples(r);
    p->groups = calloc(n ? n : 1, sizeof *p->groups);
    for (size_t i = 0; p->groups && i < n; i++)
        if ((p->groups[i] = strdup(PQgetvalue(r, (int)i, 0))))
            p->n_groups++;
    PQclear(r);
    if (!p->groups || p->n_groups != n)
        return oks_err_set(err, OKS_E_NOMEM, "full sync: out of memory");
    return 0;
}

static int members(oks_okta_client *client, pass *p, size_t g, long *calls, oks_err *err)
{
    oks_okta_pager *pg = oks_okta_list_group_users(client, p->groups[g], 1000, err);
    if (!pg)
        return -1;
    int rc;
    json_t *items;
    while ((rc = oks_okta_pager_next(pg, &items, err)) == 1) {
        (*calls)++;
        size_t i;
        json_t *u;
        json_array_foreach(items, i, u)
        {
            const char *id = json_string_value(json_object_get(u, "id"));
            if (!id)
                continue;
            if (p->n_pairs == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 1024;
                pair *grown = realloc(p->pairs, cap * sizeof *grown);
                if (!grown) {
                    json_decref(items);
                    oks_okta_pager_free(pg);
                    return oks_err_set(err, OKS_E_NOMEM, "full sync: out of memory");
                }
                p->pairs = grown;
                p->cap = cap;
            }
            if (!(p->pairs[p->n_pairs].user = strdup(id))) {
                json_decref(items);
                oks_okta_pager_free(pg);
                return oks_err_set(err, OKS_E_NOMEM, "full sync: out of memory");
            }
            p->pairs[p->n_pairs++].group = g;
        }
        json_decref(items);
    }
    oks_okta_pager_free(pg);
    return rc < 0 ? -1 : 0;
}

/* One chunk of the run's users (okta_id > after), applied in one transaction. Returns users in
 * the chunk (0 = done), -1 on error; *after moves to the chunk's last id. */
static long chunk(oks_db *db, const oks_worker_frun *run, pass *p, char *after, size_t cap,
                  long *changed, oks_err *err)
{
    const char *prm[] = {run->tenant, run->id_s, after};
    char lim[16];
    snprintf(lim, sizeof lim, "%d", CHUNK);
    const char *prm4[] = {prm[0], prm[1], prm[2], lim};
    PGresult *r = oks_db_exec_params(db,
                                     "SELECT okta_id FROM users WHERE tenant_id = $1::uuid "
                                     "AND last_seen_run_id = $2::bigint AND okta_id > $3 "
                                     "AND status <> 'deleted' ORDER BY okta_id LIMIT $4::int",
                                     4, prm4, err);
    if (!r)
        return -1;
    long n = PQntuples(r);
    oks_worker_user_groups *ug = calloc(n ? (size_t)n : 1, sizeof *ug);
    const char **gids = calloc(p->n_pairs ? p->n_pairs : 1, sizeof *gids);
    long rc = -1;
    if (!ug || !gids) {
        oks_err_set(err, OKS_E_NOMEM, "full sync: out of memory");
        goto out;
    }
    size_t used = 0;
    for (long i = 0; i < n; i++) {
        const char *id = PQgetvalue(r, (int)i, 0);
        ug[i].okta_id = id;
        ug[i].group_ids = gids + used;
        pair key = {.user = (char *)id};
        pair *hit =
            p->n_pairs ? bsearch(&key, p->pairs, p->n_pairs, sizeof *p->pairs, by_user) : NULL;
        if (hit) {
            while (hit > p->pairs && strcmp(hit[-1].user, id) == 0)
                hit--;
            for (; hit < p->pairs + p->n_pairs && strcmp(hit->user, id) == 0; hit++)
                gids[used++] = p->groups[hit->group];
        }
        ug[i].n_groups = (size_t)(gids + used - ug[i].group_ids);
    }
    long ch = 0;
    if (n > 0) {
        if (oks_db_begin(db, err) != 0)
            goto out;
        if (oks_worker_group_teams_apply_tx(db, run->tenant, ug, (size_t)n, "full_sync",
                                            "full_sync", run->id, &ch, err) != 0 ||
            oks_db_commit(db, err) != 0) {
            oks_db_rollback(db);
            goto out;
        }
        snprintf(after, cap, "%s", PQgetvalue(r, (int)n - 1, 0));
    }
    *changed += ch;
    rc = n;
out:
    free(ug);
    free(gids);
    PQclear(r);
    return rc;
}

int oks_worker_fullsync_groups(oks_db *db, oks_okta_client *client, const oks_worker_frun *run,
                               long *changed, long *calls, oks_err *err)
{
    pass p = {0};
    *changed = 0;
    int rc = -2;
    if (mapped_groups(db, run->tenant, &p, err) != 0)
        goto out;
    for (size_t g = 0; g < p.n_groups; g++) {
        /* the built-in Everyone group is never a team, even when mapped (as on the event path,
         * which leaves type BUILT_IN out of a user's groups): it counts as having no members */
        char type[32];
        (*calls)++;
        if (oks_okta_get_group_type(client, p.groups[g], type, sizeof type, err) != 0) {
            rc = err->code == OKS_E_NOMEM ? -2 : -1;
            goto out;
        }
        if (strcmp(type, "BUILT_IN") == 0)
            continue;
        if (members(client, &p, g, calls, err) != 0) {
            rc = err->code == OKS_E_NOMEM ? -2 : -1;
            goto out;
        }
    }
    if (p.n_groups == 0) {
        rc = 0;
        goto out;
    }
    if (p.n_pairs)
        qsort(p.pairs, p.n_pairs, sizeof *p.pairs, by_user);
    char after[OKS_WORKER_OKTA_ID_MAX + 1] = "";
    long n;
    while ((n = chunk(db, run, &p, after, sizeof after, changed, err)) > 0)
        ;
    rc = n < 0 ? -2 : 0;
out:
    pass_free(&p);
    return rc;
}
