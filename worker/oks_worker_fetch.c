/* The round's read plan: who needs what, the cost model, and the order of the reads. */
#include "oks_worker_fetch_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LISTING_PAGE = 500 };

bool oks_worker_fetch_use_listing(size_t needed, int64_t assigned_estimate)
{
    if (needed == 0)
        return false;
    int64_t est = assigned_estimate > 0 ? assigned_estimate : 0;
    size_t pages = (size_t)((est + LISTING_PAGE - 1) / LISTING_PAGE);
    if (pages == 0)
        pages = 1;
    return pages <= needed;
}

size_t oks_worker_fetch_listing_page_cap(size_t needed)
{
    return needed > 0 ? needed : 1;
}

int64_t oks_worker_fetch_listing_max_rows(size_t needed)
{
    return (int64_t)needed * LISTING_PAGE;
}

bool oks_worker_mark_needs_assignment(const oks_worker_mark *m)
{
    return m->check_assignment || !m->stored || m->app_assigned < 0;
}

bool oks_worker_fetch__stale(const oks_worker_mark *m, const oks_worker_read *r)
{
    return r->kind == OKS_WORKER_READ_FOUND && m->max_published_ms > 0 &&
           r->user.last_updated_ms + OKS_WORKER_STALE_SLACK_MS < m->max_published_ms;
}

void oks_worker_reads_free(oks_worker_read *reads, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        oks_okta_user_free(&reads[i].user);
        free(reads[i].groups);
        reads[i].groups = NULL;
        reads[i].n_groups = 0;
        reads[i].groups_read = false;
    }
}

void oks_worker_fetch__user_failed(oks_worker_read *r, const char *why)
{
    oks_okta_user_free(&r->user);
    r->kind = OKS_WORKER_READ_FAILED;
    snprintf(r->error, sizeof r->error, "%s", why);
}

int64_t oks_worker_fetch__date(const oks_worker_fetch *f)
{
    oks_okta_last last;
    oks_okta_last_response(f->client, &last);
    return last.date_ms;
}

oks_worker_fail oks_worker_fetch__fail(oks_worker_fetch *f, const oks_err *err)
{
    oks_okta_last last;
    oks_okta_last_response(f->client, &last);
    oks_worker_fail k =
        oks_worker_fail_classify(OKS_WORKER_SRC_OKTA, err, last.status, last.error_code);
    if (k != OKS_WORKER_FAIL_NOT_FOUND && k != OKS_WORKER_FAIL_USER) {
        f->fail = k;
        f->err = *err;
    }
    return k;
}

long oks_worker_fetch__find(const oks_worker_fetch_index *ix, const char *okta_id)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ix->marks[ix->order[mid]].okta_id, okta_id);
        if (c == 0)
            return (long)ix->order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* qsort has no context argument: the comparison reads the marks of this thread's round. */
static _Thread_local const oks_worker_mark *tl_base;

static int by_id_tl(const void *a, const void *b)
{
    return strcmp(tl_base[*(const size_t *)a].okta_id, tl_base[*(const size_t *)b].okta_id);
}

static int index_build(oks_worker_fetch_index *ix, const oks_worker_mark *marks, size_t n)
{
    ix->marks = marks;
    ix->n = n;
    ix->order = malloc((n ? n : 1) * sizeof *ix->order);
    if (!ix->order)
        return -1;
    for (size_t i = 0; i < n; i++)
        ix->order[i] = i;
    tl_base = marks;
    qsort(ix->order, n, sizeof *ix->order, by_id_tl);
    return 0;
}

int oks_worker_fetch_run(oks_worker_fetch *f, const oks_worker_mark *marks, oks_worker_read *reads,
                         size_t n)
{
    int rc = -1;
    bool *need = calloc(n ? n : 1, sizeof *need), *want = calloc(n ? n : 1, sizeof *want);
    oks_worker_fetch_index ix = {0};
    f->fail = OKS_WORKER_FAIL_NONE;
    memset(&f->stats, 0, sizeof f->stats);
    oks_err_clear(&f->err);
    if (!need || !want || index_build(&ix, marks, n) != 0) {
        oks_err_set(&f->err, OKS_E_NOMEM, "reconcile: out of memory");
        f->fail = OKS_WORKER_FAIL_INTERNAL;
        goto out;
    }
    size_t needed = 0;
    for (size_t i = 0; i < n; i++) {
        reads[i].assigned = -1;
        need[i] = f->app_id && oks_worker_mark_needs_assignment(&marks[i]);
        needed += need[i];
    }
    if (needed && oks_worker_fetch_use_listing(needed, f->assigned_estimate)) {
        bool complete = false;
        int64_t first_date = -1;
        f->stats.listing = true;
        if (oks_worker_fetch__listing(f, &ix, reads, oks_worker_fetch_listing_page_cap(needed),
                                      &complete, &first_date) != 0)
            goto out;
        for (size_t i = 0; i < n; i++) {
            if (!need[i] || reads[i].assigned == 1)
                continue;
            if (complete) {
                /* not in a complete listing: not assigned as of its first page */
                reads[i].assigned = 0;
                reads[i].assigned_as_of_ms = first_date;
                need[i] = false;
            }
        }
    }
    /* User state for everyone not answered yet, except non-members without a row (their state
     * is never stored). A stale listing entry is read again. */
    for (size_t i = 0; i < n; i++) {
        const oks_worker_read *r = &reads[i];
        bool stale = oks_worker_fetch__stale(&marks[i], r);
        want[i] =
            (r->kind == OKS_WORKER_READ_NONE || stale) && !(r->assigned == 0 && !marks[i].stored);
        if (stale)
            f->stats.stale++;
    }
    if (oks_worker_fetch__users(f, marks, reads, want, n) != 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (need[i] && reads[i].assigned >= 0)
            need[i] = false;
    if (oks_worker_fetch__app_users(f, marks, reads, need, n) != 0)
        goto out;
    rc = 0;
out:
    free(ix.order);
    free(need);
    free(want);
    return rc;
}
