/* Group reads of a round: GET /api/v1/users/{id}/groups for the users whose teams from groups
 * may have changed (docs/worker-reconcile.md "Reads"). */
#include "oks_worker_fetch_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The spec defines no paging for this endpoint; a next link is followed, up to this many. */
enum { GROUP_PAGES_MAX = 100 };

bool oks_worker_read_needs_groups(const oks_worker_mark *m, const oks_worker_read *r, bool has_app)
{
    if ((!m->check_groups && m->stored) || r->kind != OKS_WORKER_READ_FOUND)
        return false;
    if (m->stored || !has_app)
        return true;
    /* about to be created only when assigned (a non-member's row is never stored) */
    int assigned = r->assigned >= 0 ? r->assigned : m->app_assigned;
    return assigned == 1;
}

/* One page's groups into r (mapped ones only, BUILT_IN left out). -1 = an item without a
 * group id: the answer cannot be trusted to be complete. */
static int take(json_t *items, const oks_worker_group_set *mapped, oks_worker_read *r, size_t *cap)
{
    size_t j;
    json_t *it;
    json_array_foreach(items, j, it)
    {
        const char *id = json_string_value(json_object_get(it, "id"));
        if (!id || !*id)
            return -1;
        const char *type = json_string_value(json_object_get(it, "type"));
        if (type && strcmp(type, "BUILT_IN") == 0)
            continue; /* Everyone: every user is in it; never a team */
        const char *own = oks_worker_group_set_find(mapped, id);
        if (!own)
            continue;
        bool dup = false;
        for (size_t k = 0; k < r->n_groups && !dup; k++)
            dup = r->groups[k] == own;
        if (dup)
            continue;
        if (r->n_groups == *cap) {
            size_t nc = *cap ? *cap * 2 : 8;
            const char **g = realloc(r->groups, nc * sizeof *g);
            if (!g)
                return -2;
            r->groups = g;
            *cap = nc;
        }
        r->groups[r->n_groups++] = own;
    }
    return 0;
}

static void forget(oks_worker_read *r)
{
    free(r->groups);
    r->groups = NULL;
    r->n_groups = 0;
    r->groups_read = false;
}

/* One user's groups. -1 only on a tenant-level failure (or out of memory). */
static int read_one(oks_worker_fetch *f, const oks_worker_mark *m, oks_worker_read *r,
                    const oks_worker_group_set *mapped)
{
    oks_err err = {0};
    forget(r);
    oks_okta_pager *p = oks_okta_list_user_groups(f->client, m->okta_id, &err);
    if (!p) {
        f->fail = OKS_WORKER_FAIL_INTERNAL;
        f->err = err;
        return -1;
    }
    size_t cap = 0;
    int rc = 0, pages = 0;
    for (;;) {
        json_t *items = NULL;
        if (pages == GROUP_PAGES_MAX) {
            oks_worker_fetch__user_failed(r, "groups: more pages than the reconciler reads");
            break;
        }
        int got = oks_okta_pager_next(p, &items, &err);
        if (got == 0) {
            r->groups_read = true;
            break;
        }
        pages++;
        f->stats.group_reads++;
        if (got < 0) {
            switch (oks_worker_fetch__fail(f, &err)) {
            case OKS_WORKER_FAIL_NOT_FOUND: /* deleted since its state was read: asked again */
            case OKS_WORKER_FAIL_USER: {
                char why[OKS_ERR_MSG_MAX];
                snprintf(why, sizeof why, "groups: %.200s", err.msg);
                oks_worker_fetch__user_failed(r, why);
                break;
            }
            default:
                rc = -1;
            }
            break;
        }
        int t = take(items, mapped, r, &cap);
        json_decref(items);
        if (t == -2) {
            oks_err_set(&f->err, OKS_E_NOMEM, "reconcile: out of memory");
            f->fail = OKS_WORKER_FAIL_INTERNAL;
            rc = -1;
            break;
        }
        if (t == -1) {
            oks_worker_fetch__user_failed(r, "groups: Okta listed a group without an id");
            break;
        }
    }
    oks_okta_pager_free(p);
    if (!r->groups_read)
        forget(r);
    return rc;
}

int oks_worker_fetch_groups(oks_worker_fetch *f, const oks_worker_mark *marks,
                            oks_worker_read *reads, const bool *want, size_t n,
                            const oks_worker_group_set *mapped)
{
    f->fail = OKS_WORKER_FAIL_NONE;
    oks_err_clear(&f->err);
    for (size_t i = 0; i < n; i++)
        if (want[i] && read_one(f, &marks[i], &reads[i], mapped) != 0)
            return -1;
    return 0;
}
