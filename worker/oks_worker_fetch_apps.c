/* Assignment reads: the app listing (expand=user) or per-user app-user GETs. */
#include "oks_worker_fetch_int.h"

#include <stdio.h>
#include <string.h>

int oks_worker_fetch__listing(oks_worker_fetch *f, const oks_worker_fetch_index *ix,
                              oks_worker_read *reads, size_t page_cap, bool *complete,
                              int64_t *first_date)
{
    oks_err err = {0};
    *complete = false;
    oks_okta_pager *p = oks_okta_list_app_users(f->client, f->app_id, 500, &err);
    if (!p) {
        f->fail = OKS_WORKER_FAIL_INTERNAL;
        f->err = err;
        return -1;
    }
    int rc = 0;
    for (size_t pages = 0;; pages++) {
        if (pages == page_cap)
            break; /* the estimate was low: the rest is asked per user */
        json_t *items = NULL;
        int r = oks_okta_pager_next(p, &items, &err);
        if (r == 0) {
            *complete = true;
            break;
        }
        f->stats.app_pages++;
        if (r < 0) {
            /* the listing of a right app id never answers 404: the app id is wrong */
            if (oks_worker_fetch__fail(f, &err) == OKS_WORKER_FAIL_NOT_FOUND ||
                f->fail == OKS_WORKER_FAIL_NONE) {
                f->fail = OKS_WORKER_FAIL_MISCONFIGURED;
                f->err = err;
            }
            rc = -1;
            break;
        }
        int64_t date = oks_worker_fetch__date(f);
        if (*first_date < 0)
            *first_date = date;
        size_t j;
        json_t *it;
        json_array_foreach(items, j, it)
        {
            oks_okta_app_user au;
            oks_err perr = {0};
            if (oks_okta_app_user_parse(it, &au, &perr) != 0)
                continue;
            long i = oks_worker_fetch__find(ix, au.id);
            if (i >= 0) {
                oks_worker_read *rd = &reads[i];
                rd->assigned = 1;
                rd->assigned_as_of_ms = date;
                if (au.has_user) {
                    oks_okta_user_free(&rd->user);
                    rd->user = au.user;
                    memset(&au.user, 0, sizeof au.user);
                    au.has_user = false;
                    rd->kind = OKS_WORKER_READ_FOUND;
                    rd->as_of_ms = date;
                }
            }
            oks_okta_app_user_free(&au);
        }
        json_decref(items);
    }
    oks_okta_pager_free(p);
    if (rc == 0 && *complete)
        f->app_verified = true; /* the listing answered: the app id is right */
    return rc;
}

/* A 404 E0000007 on GET /apps/{app}/users/{id} means "not assigned" only when the app exists:
 * Okta answers a wrong app id the same way. One GET /apps/{app} (its own bucket) settles it. */
static int verify_app(oks_worker_fetch *f)
{
    oks_err err = {0};
    f->stats.app_checks++;
    if (oks_okta_get_app(f->client, f->app_id, &err) == 0) {
        f->app_verified = true;
        return 0;
    }
    if (oks_worker_fetch__fail(f, &err) == OKS_WORKER_FAIL_NOT_FOUND ||
        f->fail == OKS_WORKER_FAIL_NONE) {
        f->fail = OKS_WORKER_FAIL_MISCONFIGURED;
        oks_err_set(&f->err, OKS_E_NOTFOUND, "okta app id %.60s not found in the org: %s",
                    f->app_id, err.msg);
    }
    return -1;
}

int oks_worker_fetch__app_users(oks_worker_fetch *f, const oks_worker_mark *marks,
                                oks_worker_read *reads, const bool *need, size_t n)
{
    bool saw_404 = false;
    for (size_t i = 0; i < n; i++) {
        oks_worker_read *rd = &reads[i];
        if (!need[i] || rd->kind == OKS_WORKER_READ_GONE || rd->kind == OKS_WORKER_READ_FAILED)
            continue;
        oks_okta_app_user au;
        oks_err err = {0};
        f->stats.app_user_gets++;
        if (oks_okta_get_app_user(f->client, f->app_id, marks[i].okta_id, &au, &err) == 0) {
            rd->assigned = 1;
            rd->assigned_as_of_ms = oks_worker_fetch__date(f);
            oks_okta_app_user_free(&au);
            continue;
        }
        switch (oks_worker_fetch__fail(f, &err)) {
        case OKS_WORKER_FAIL_NOT_FOUND:
            rd->assigned = 0;
            rd->assigned_as_of_ms = oks_worker_fetch__date(f);
            saw_404 = true;
            break;
        case OKS_WORKER_FAIL_USER:
            oks_worker_fetch__user_failed(rd, err.msg);
            break;
        default:
            return -1;
        }
    }
    if (saw_404 && !f->app_verified)
        return verify_app(f);
    return 0;
}
