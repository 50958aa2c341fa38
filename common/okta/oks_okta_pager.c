/*
 * Page iterators. Each call fetches one page (a JSON array) and remembers only the Link
 * rel="next" URL, so memory stays bounded by one page however large the org is.
 */
#include "okta/oks_okta_client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/oks_time.h"

struct oks_okta_pager {
    oks_okta_client *c;
    bool done;
    bool stop_on_empty; /* System Log: there is always a next link */
    char url[OKS_OKTA_URL_MAX];
};

static oks_okta_pager *pager_new(oks_okta_client *c, bool stop_on_empty, oks_err *err)
{
    oks_okta_pager *p = calloc(1, sizeof *p);
    if (!p) {
        oks_err_set(err, OKS_E_NOMEM, "okta: out of memory");
        return NULL;
    }
    p->c = c;
    p->stop_on_empty = stop_on_empty;
    return p;
}

static int clamp_limit(int limit, int max)
{
    return limit <= 0 || limit > max ? max : limit;
}

/* Append "&name=<escaped value>" to the pager URL. */
static int add_param(oks_okta_pager *p, const char *name, const char *value, oks_err *err)
{
    size_t have = strlen(p->url);
    if ((size_t)snprintf(p->url + have, sizeof p->url - have, "&%s=", name) >=
            sizeof p->url - have ||
        !oks_okta__append_escaped(p->url, sizeof p->url, value))
        return oks_err_set(err, OKS_E_INVALID, "okta: request URL too long");
    return 0;
}

static oks_okta_pager *start(oks_okta_client *c, bool stop_on_empty, const char *const *parts,
                             size_t n, oks_err *err)
{
    oks_okta_pager *p = pager_new(c, stop_on_empty, err);
    if (p && oks_okta__build_url(c, p->url, sizeof p->url, parts, n, err) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

oks_okta_pager *oks_okta_list_users(oks_okta_client *c, const char *search, const char *filter,
                                    int limit, oks_err *err)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/users?limit=%d", clamp_limit(limit, 200));
    const char *parts[] = {path};
    oks_okta_pager *p = start(c, false, parts, 1, err);
    if (!p)
        return NULL;
    if ((search && *search && add_param(p, "search", search, err) != 0) ||
        (filter && *filter && add_param(p, "filter", filter, err) != 0)) {
        free(p);
        return NULL;
    }
    return p;
}

oks_okta_pager *oks_okta_list_app_users(oks_okta_client *c, const char *app_id, int limit,
                                        oks_err *err)
{
    char tail[64];
    snprintf(tail, sizeof tail, "/users?limit=%d&expand=user", clamp_limit(limit, 500));
    const char *parts[] = {"/api/v1/apps/", app_id, tail};
    return start(c, false, parts, 3, err);
}

oks_okta_pager *oks_okta_list_group_users(oks_okta_client *c, const char *group_id, int limit,
                                          oks_err *err)
{
    char tail[48];
    snprintf(tail, sizeof tail, "/users?limit=%d", clamp_limit(limit, 1000));
    const char *parts[] = {"/api/v1/groups/", group_id, tail};
    return start(c, false, parts, 3, err);
}

oks_okta_pager *oks_okta_list_user_groups(oks_okta_client *c, const char *user_id, oks_err *err)
{
    const char *parts[] = {"/api/v1/users/", user_id, "/groups"};
    return start(c, false, parts, 3, err);
}

/* filter=eventType eq "a" or eventType eq "b"; types are checked so they cannot break out of
 * the quoted string. */
static int log_filter(const char *const *types, size_t n, char *buf, size_t cap, oks_err *err)
{
    buf[0] = '\0';
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = types[i];
        if (!t || !*t || strpbrk(t, "\"\\"))
            return oks_err_set(err, OKS_E_INVALID, "okta: bad event type filter");
        int w = snprintf(buf + have, cap - have, "%seventType eq \"%s\"", i ? " or " : "", t);
        if (w < 0 || (size_t)w >= cap - have)
            return oks_err_set(err, OKS_E_INVALID, "okta: event type filter too long");
        have += (size_t)w;
    }
    return 0;
}

oks_okta_pager *oks_okta_list_log_events(oks_okta_client *c, int64_t since_ms,
                                         const char *const *event_types, size_t n_types, int limit,
                                         oks_err *err)
{
    char since[32], filter[2048], path[80];
    oks_time_format_iso8601(since_ms, since, sizeof since);
    if (log_filter(event_types, n_types, filter, sizeof filter, err) != 0)
        return NULL;
    snprintf(path, sizeof path, "/api/v1/logs?sortOrder=ASCENDING&limit=%d",
             clamp_limit(limit, 1000));
    const char *parts[] = {path};
    oks_okta_pager *p = start(c, true, parts, 1, err);
    if (!p)
        return NULL;
    if (add_param(p, "since", since, err) != 0 ||
        (filter[0] && add_param(p, "filter", filter, err) != 0)) {
        free(p);
        return NULL;
    }
    return p;
}

oks_okta_pager *oks_okta_list_log_events_range(oks_okta_client *c, int64_t since_ms,
                                               int64_t until_ms, const char *const *event_types,
                                               size_t n_types, int limit, oks_err *err)
{
    char since[32], until[32], filter[2048], path[80];
    oks_time_format_iso8601(since_ms, since, sizeof since);
    oks_time_format_iso8601(until_ms, until, sizeof until);
    if (log_filter(event_types, n_types, filter, sizeof filter, err) != 0)
        return NULL;
    snprintf(path, sizeof path, "/api/v1/logs?sortOrder=ASCENDING&limit=%d",
             clamp_limit(limit, 1000));
    const char *parts[] = {path};
    /* bounded: Okta links rel="next" only while more events lie before `until` */
    oks_okta_pager *p = start(c, false, parts, 1, err);
    if (!p)
        return NULL;
    if (add_param(p, "since", since, err) != 0 || add_param(p, "until", until, err) != 0 ||
        (filter[0] && add_param(p, "filter", filter, err) != 0)) {
        free(p);
        return NULL;
    }
    return p;
}

oks_okta_pager *oks_okta_resume_log_events(oks_okta_client *c, const char *next_url, oks_err *err)
{
    if (!next_url || strlen(next_url) >= OKS_OKTA_URL_MAX || !oks_okta__same_origin(c, next_url) ||
        oks_okta__bucket_of(next_url) != OKS_OKTA_B_LOGS) {
        oks_err_set(err, OKS_E_INVALID, "okta: not a System Log URL of this org");
        return NULL;
    }
    oks_okta_pager *p = pager_new(c, true, err);
    if (p)
        memcpy(p->url, next_url, strlen(next_url) + 1);
    return p;
}

oks_okta_pager *oks_okta_resume_app_users(oks_okta_client *c, const char *next_url, oks_err *err)
{
    if (!next_url || strlen(next_url) >= OKS_OKTA_URL_MAX || !oks_okta__same_origin(c, next_url) ||
        oks_okta__bucket_of(next_url) != OKS_OKTA_B_APPS || !strstr(next_url, "/users")) {
        oks_err_set(err, OKS_E_INVALID, "okta: not an app users listing URL of this org");
        return NULL;
    }
    oks_okta_pager *p = pager_new(c, false, err);
    if (p)
        memcpy(p->url, next_url, strlen(next_url) + 1);
    return p;
}

int oks_okta_pager_next(oks_okta_pager *p, json_t **items_out, oks_err *err)
{
    *items_out = NULL;
    if (p->done)
        return 0;
    json_t *j = NULL;
    char next[OKS_OKTA_URL_MAX];
    if (oks_okta__get(p->c, p->url, &j, next, sizeof next, err) != 0)
        return -1; /* p->url unchanged: calling again retries this page */
    if (!json_is_array(j)) {
        json_decref(j);
        return oks_err_set(err, OKS_E_INVALID, "okta: list page is not a JSON array");
    }
    /* No next link = last page. A next link equal to this page would loop forever. */
    if (!next[0] || strcmp(next, p->url) == 0)
        p->done = true;
    else
        memcpy(p->url, next, strlen(next) + 1);
    if (p->stop_on_empty && json_array_size(j) == 0) {
        p->done = true;
        json_decref(j);
        return 0;
    }
    *items_out = j;
    return 1;
}

const char *oks_okta_pager_next_url(const oks_okta_pager *p)
{
    /* A System Log pager always has a resume point (the last next link); lists end. */
    return p->done && !p->stop_on_empty ? NULL : p->url;
}

void oks_okta_pager_free(oks_okta_pager *p)
{
    free(p);
}
