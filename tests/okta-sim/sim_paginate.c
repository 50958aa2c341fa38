/*
 * Cursor pagination over users in index order: every user a match function accepts, or only
 * the users of a list of ids (the `id eq … or id eq …` filter), looked up in the id index so a
 * request costs O(ids) instead of O(users × ids). Both give the same pages: the candidates are
 * sorted by index and deduplicated, deleted users are skipped, and `after` is the same cursor.
 */
#include "sim.h"

#include <stdlib.h>

typedef struct page_src {
    sim_match_fn match;   /* NULL: every candidate matches */
    void *ctx;            /* for match */
    const uint32_t *only; /* sorted, unique indices; NULL = every user */
    size_t n_only;
} page_src;

/* First position of only[] at or after index start. */
static size_t lower_bound(const uint32_t *a, size_t n, uint32_t start)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Under the caller's read lock. */
static void page(sim_req *r, sim_resp *resp, int64_t limit, int cursor_kind, const page_src *src,
                 sim_item_fn item, void *ctx)
{
    sim_org *org = r->srv->org;
    const char *after = sim_req_arg(r, "after");
    uint32_t start = 0;
    if (after) {
        uint32_t pos;
        if (!sim_cursor_decode(org, cursor_kind, after, &pos) || pos >= org->n_users) {
            sim_resp_error(resp, 400, "E0000054", "Invalid paging request.", r->request_id);
            return;
        }
        start = pos + 1;
    }
    int64_t n = 0;
    int64_t last = -1;
    bool more = false;
    size_t k = src->only ? lower_bound(src->only, src->n_only, start) : start;
    size_t end = src->only ? src->n_only : org->n_users;
    sim_buf_reserve(&resp->body, (size_t)limit * 1024);
    sim_buf_add(&resp->body, "[", 1);
    for (; k < end; k++) {
        uint32_t i = src->only ? src->only[k] : (uint32_t)k;
        if (org->users[i].deleted || (src->match && !src->match(org, i, src->ctx)))
            continue;
        if (n == limit) {
            more = true; /* look-ahead: no next link when nothing follows */
            break;
        }
        if (n++)
            sim_buf_add(&resp->body, ",", 1);
        item(org, i, r->base, ctx, &resp->body);
        last = i;
    }
    sim_buf_add(&resp->body, "]", 1);
    resp->link_self = sim_link(r, after);
    if (more && last >= 0) {
        char cur[SIM_CURSOR_LEN];
        sim_cursor_encode(org, cursor_kind, (uint32_t)last, cur);
        resp->link_next = sim_link(r, cur);
    }
}

void sim_paginate(sim_req *r, sim_resp *resp, int64_t limit, int cursor_kind, sim_match_fn match,
                  sim_item_fn item, void *ctx)
{
    sim_org *org = r->srv->org;
    page_src src = {.match = match, .ctx = ctx};
    pthread_rwlock_rdlock(&org->lock);
    page(r, resp, limit, cursor_kind, &src, item, ctx);
    pthread_rwlock_unlock(&org->lock);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void sim_paginate_ids(sim_req *r, sim_resp *resp, int64_t limit, int cursor_kind,
                      const char *const *ids, size_t n_ids, sim_item_fn item, void *ctx)
{
    sim_org *org = r->srv->org;
    uint32_t *only = malloc((n_ids ? n_ids : 1) * sizeof *only);
    if (!only) {
        resp->body.oom = true; /* answered as 500 */
        return;
    }
    size_t n = 0;
    pthread_rwlock_rdlock(&org->lock);
    for (size_t k = 0; k < n_ids; k++) {
        int64_t idx = sim_org_find_id(org, ids[k]);
        if (idx >= 0)
            only[n++] = (uint32_t)idx;
    }
    qsort(only, n, sizeof *only, cmp_u32);
    size_t uniq = 0;
    for (size_t k = 0; k < n; k++)
        if (uniq == 0 || only[k] != only[uniq - 1])
            only[uniq++] = only[k];
    page_src src = {.only = only, .n_only = uniq};
    page(r, resp, limit, cursor_kind, &src, item, ctx);
    pthread_rwlock_unlock(&org->lock);
    free(only);
}
