/* User state reads: the packed id filter on GET /api/v1/users, then single GETs. */
#include "oks_worker_fetch_int.h"

#include "core/oks_json_arena.h"
#include "okta/oks_okta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FILTER_MAX_IDS = 200 }; /* one page of GET /api/v1/users */

/* the path and query before the filter, as the pager builds it */
#define LIST_PREFIX "/api/v1/users?limit=200&filter="

bool oks_worker_fetch_id_ok(const char *id)
{
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    return n > 0 && n <= OKS_WORKER_OKTA_ID_MAX;
}

/* URL-escaped sizes (curl escapes everything but ALPHA DIGIT - . _ ~): `id eq "X"` is
 * id%20eq%20%22X%22 = 16 + len, ` or ` is %20or%20 = 8. */
size_t oks_worker_fetch_pack_filter(const char *const *ids, size_t n, size_t budget, char *out,
                                    size_t cap)
{
    size_t used = 0, have = 0, k = 0;
    if (cap)
        out[0] = '\0';
    for (; k < n && k < FILTER_MAX_IDS; k++) {
        size_t len = strlen(ids[k]);
        size_t cost = 16 + len + (k ? 8 : 0);
        if (used + cost > budget)
            break;
        int w = snprintf(out + have, cap - have, "%sid eq \"%s\"", k ? " or " : "", ids[k]);
        if (w < 0 || (size_t)w >= cap - have) {
            out[have] = '\0';
            break;
        }
        used += cost;
        have += (size_t)w;
    }
    return k;
}

static void found(oks_worker_read *r, oks_okta_user *u, int64_t date)
{
    oks_okta_user_free(&r->user);
    r->user = *u;
    memset(u, 0, sizeof *u);
    r->kind = OKS_WORKER_READ_FOUND;
    r->as_of_ms = date;
}

/* One GET /api/v1/users/{id}. -1 only on a tenant-level failure. */
static int get_one(oks_worker_fetch *f, const oks_worker_mark *m, oks_worker_read *r)
{
    oks_okta_user u;
    oks_err err = {0};
    f->stats.user_gets++;
    if (oks_okta_get_user(f->client, m->okta_id, &u, &err) == 0) {
        found(r, &u, oks_worker_fetch__date(f));
        return 0;
    }
    switch (oks_worker_fetch__fail(f, &err)) {
    case OKS_WORKER_FAIL_NOT_FOUND:
        oks_okta_user_free(&r->user);
        r->kind = OKS_WORKER_READ_GONE;
        r->as_of_ms = oks_worker_fetch__date(f);
        return 0;
    case OKS_WORKER_FAIL_USER:
        oks_worker_fetch__user_failed(r, err.msg);
        return 0;
    default:
        return -1;
    }
}

/* Items of one filter page → reads of the chunk. In an arena scope (scoped) the page goes with
 * the scope, so a user kept for its read gets its own copy of the profile. */
static void take_page(oks_worker_fetch *f, json_t *items, const oks_worker_mark *marks,
                      oks_worker_read *reads, const size_t *chunk, size_t k, bool scoped)
{
    int64_t date = oks_worker_fetch__date(f);
    size_t j;
    json_t *it;
    json_array_foreach(items, j, it)
    {
        oks_okta_user u;
        oks_err perr = {0};
        if (oks_okta_user_parse(it, &u, &perr) != 0)
            continue; /* its id is then missing from the answer: read alone */
        for (size_t c = 0; c < k; c++) {
            if (strcmp(marks[chunk[c]].okta_id, u.id) == 0) {
                if (!scoped || oks_okta_user_own(&u) == 0) /* out of memory: read alone */
                    found(&reads[chunk[c]], &u, date);
                break;
            }
        }
        oks_okta_user_free(&u);
    }
}

/* The pager's next page into the chunk's reads; returns as oks_okta_pager_next (1 a page, 0 no
 * more, -1 failed with *err). A page of ~90 users is ~10,000 small allocations that die with it
 * (all but the profiles kept, which take_page copies out): this thread's jansson arena takes
 * them (core/oks_json_arena.h; docs/benchmarks.md "Nineteenth session"). */
static int take_next_page(oks_worker_fetch *f, oks_okta_pager *p, const oks_worker_mark *marks,
                          oks_worker_read *reads, const size_t *chunk, size_t k, oks_err *err)
{
    bool scoped = oks_json_arena_begin();
    json_t *items = NULL;
    int r = oks_okta_pager_next(p, &items, err);
    if (r > 0)
        take_page(f, items, marks, reads, chunk, k, scoped);
    oks_json_arena_release(items); /* the profiles kept were copied out or incref'd */
    if (scoped)
        oks_json_arena_end();
    return r;
}

/* One filter request for chunk[0..k). 1 = done, 0 = URL too long (caller halves), -1 = fail. */
static int filter_read(oks_worker_fetch *f, const char *filter, const oks_worker_mark *marks,
                       oks_worker_read *reads, const size_t *chunk, size_t k)
{
    oks_err err = {0};
    oks_okta_pager *p = oks_okta_list_users(f->client, NULL, filter, FILTER_MAX_IDS, &err);
    if (!p) {
        f->fail = OKS_WORKER_FAIL_INTERNAL;
        f->err = err;
        return -1;
    }
    int rc = 1;
    for (;;) {
        int r = take_next_page(f, p, marks, reads, chunk, k, &err);
        if (r == 0)
            break;
        f->stats.user_lists++;
        if (r < 0) {
            oks_okta_last last;
            oks_okta_last_response(f->client, &last);
            if (last.too_long && k > 1) {
                rc = 0;
            } else {
                rc = -1;
                /* a list never answers "not found" for a right org: not Okta */
                if (oks_worker_fetch__fail(f, &err) == OKS_WORKER_FAIL_NOT_FOUND ||
                    f->fail == OKS_WORKER_FAIL_NONE) {
                    f->fail = OKS_WORKER_FAIL_MISCONFIGURED;
                    f->err = err;
                }
            }
            break;
        }
    }
    oks_okta_pager_free(p);
    return rc;
}

int oks_worker_fetch__users(oks_worker_fetch *f, const oks_worker_mark *marks,
                            oks_worker_read *reads, const bool *want, size_t n)
{
    int rc = -1;
    size_t *list = malloc((n ? n : 1) * sizeof *list);
    size_t *single = malloc((n ? n : 1) * sizeof *single);
    const char **ids = malloc((n ? n : 1) * sizeof *ids);
    char *filter = malloc(OKS_OKTA_URL_MAX);
    size_t nl = 0, ns = 0;
    if (!list || !single || !ids || !filter) {
        f->fail = OKS_WORKER_FAIL_INTERNAL;
        oks_err_set(&f->err, OKS_E_NOMEM, "reconcile: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!want[i])
            continue;
        if (oks_worker_fetch_id_ok(marks[i].okta_id))
            list[nl++] = i;
        else
            single[ns++] = i;
    }
    size_t url_max =
        f->max_url_bytes < OKS_OKTA_URL_MAX - 1 ? f->max_url_bytes : OKS_OKTA_URL_MAX - 1;
    size_t prefix = oks_okta_base_url_len(f->client) + sizeof LIST_PREFIX - 1;
    size_t budget = url_max > prefix ? url_max - prefix : 0;
    size_t max_ids = FILTER_MAX_IDS;
    for (size_t pos = 0; pos < nl;) {
        size_t take = nl - pos < max_ids ? nl - pos : max_ids;
        for (size_t c = 0; c < take; c++)
            ids[c] = marks[list[pos + c]].okta_id;
        size_t k = oks_worker_fetch_pack_filter(ids, take, budget, filter, OKS_OKTA_URL_MAX);
        if (k == 0) { /* one id longer than the whole budget: read it alone */
            single[ns++] = list[pos++];
            continue;
        }
        int r = filter_read(f, filter, marks, reads, list + pos, k);
        if (r < 0)
            goto out;
        if (r == 0) { /* 414: this org's proxies take less; halve and try again */
            max_ids = k / 2;
            continue;
        }
        for (size_t c = 0; c < k; c++) {
            size_t i = list[pos + c];
            const oks_worker_read *rd = &reads[i];
            bool stale = oks_worker_fetch__stale(&marks[i], rd);
            if (stale)
                f->stats.stale++;
            if (rd->kind != OKS_WORKER_READ_FOUND || stale)
                single[ns++] = i; /* missing (deleted?) or older than its event: ask alone */
        }
        pos += k;
    }
    for (size_t s = 0; s < ns; s++)
        if (get_one(f, &marks[single[s]], &reads[single[s]]) != 0)
            goto out;
    rc = 0;
out:
    free(list);
    free(single);
    free(ids);
    free(filter);
    return rc;
}
