/*
 * Client lifecycle and the request loop: pace -> shared budget -> GET -> classify -> maybe
 * wait and retry. Retries: 429 waits X-Rate-Limit-Reset - Date + 1 s (capped, jittered) and
 * resends with X-Okta-Retry-For/-Count; 5xx, timeouts and connection errors back off
 * exponentially with jitter; everything else is returned at once.
 */
#include "okta/oks_okta_client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/oks_log.h"
#include "core/oks_time.h"

static void apply_defaults(oks_okta_client_opts *o)
{
    if (o->connect_timeout_ms <= 0)
        o->connect_timeout_ms = 5000;
    if (o->request_timeout_ms <= 0)
        o->request_timeout_ms = 30000;
    if (o->max_retries == 0)
        o->max_retries = 4;
    if (o->max_retries < 0)
        o->max_retries = 0;
    if (o->max_backoff_ms <= 0)
        o->max_backoff_ms = 30000;
    if (o->max_in_flight <= 0)
        o->max_in_flight = 10;
    if (o->pace_below_fraction == 0)
        o->pace_below_fraction = 0.2;
    if (o->budget_fraction <= 0 || o->budget_fraction > 1)
        o->budget_fraction = 0.9;
    if (o->budget_max_wait_ms <= 0)
        o->budget_max_wait_ms = 120000;
    if (o->budget_window_ms <= 0)
        o->budget_window_ms = 60000;
    if (o->max_body_bytes == 0)
        o->max_body_bytes = (size_t)64 << 20;
}

static int parse_base(oks_okta_client *c, const char *base, oks_err *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int ret = oks_err_set(err, OKS_E_INVALID, "okta: bad base url \"%.100s\"", base ? base : "");
    if (!u || !base || curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)
        goto out;
    snprintf(c->scheme, sizeof c->scheme, "%s", scheme);
    snprintf(c->host, sizeof c->host, "%s", host);
    snprintf(c->port, sizeof c->port, "%s", port);
    c->base_url = strdup(base);
    if (!c->base_url)
        goto out;
    size_t n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        c->base_url[--n] = '\0';
    ret = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ret;
}

bool oks_okta__same_origin(const oks_okta_client *c, const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    bool same = false;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    same = strcmp(scheme, c->scheme) == 0 && strcasecmp(host, c->host) == 0 &&
           strcmp(port, c->port) == 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return same;
}

bool oks_okta__append_escaped(char *buf, size_t cap, const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e)
        return false;
    size_t have = strlen(buf), n = strlen(e);
    bool ok = have + n + 1 <= cap;
    if (ok)
        memcpy(buf + have, e, n + 1);
    curl_free(e);
    return ok;
}

oks_okta_client *oks_okta_client_new(const oks_okta_client_opts *o, oks_err *err)
{
    oks_okta_client *c = calloc(1, sizeof *c);
    if (!c) {
        oks_err_set(err, OKS_E_NOMEM, "okta: out of memory");
        return NULL;
    }
    c->o = *o;
    apply_defaults(&c->o);
    if (!o->token || !*o->token || strpbrk(o->token, "\r\n")) {
        oks_err_set(err, OKS_E_INVALID, "okta: missing or invalid API token");
        goto fail;
    }
    if (parse_base(c, o->base_url, err) != 0)
        goto fail;
    c->org_key = strdup(o->org_key && *o->org_key ? o->org_key : c->host);
    if (!c->org_key) {
        oks_err_set(err, OKS_E_NOMEM, "okta: out of memory");
        goto fail;
    }
    c->o.base_url = c->base_url;
    c->o.org_key = c->org_key;
    c->o.token = NULL; /* kept only inside the curl header list */
    c->o.redis_url = NULL;
    if (oks_okta__http_init(&c->http, o->token, strcmp(c->scheme, "https") == 0,
                            c->o.connect_timeout_ms, c->o.request_timeout_ms, err) != 0)
        goto fail;
    if (o->redis_url && *o->redis_url) {
        /* A lease outlives the longest request so it is never reclaimed while in use. */
        int64_t lease = c->o.connect_timeout_ms + c->o.request_timeout_ms + 5000;
        c->budget =
            oks_okta__budget_new(o->redis_url, c->org_key, c->o.max_in_flight, c->o.budget_fraction,
                                 c->o.budget_window_ms, lease, 2000, err);
        if (!c->budget)
            goto fail;
    }
    for (int i = 0; i < OKS_OKTA_BUCKETS; i++)
        c->bstate[i].limit = c->bstate[i].remaining = -1;
    c->last.status = -1;
    c->last.date_ms = -1;
    c->rnd = (uint32_t)getpid() ^ (uint32_t)oks_now_wall_ms() ^ (uint32_t)(uintptr_t)c;
    if (!c->rnd)
        c->rnd = 1;
    return c;
fail:
    oks_okta_client_free(c);
    return NULL;
}

void oks_okta_client_free(oks_okta_client *c)
{
    if (!c)
        return;
    oks_okta__budget_free(c->budget);
    oks_okta__http_cleanup(&c->http);
    oks_okta__resp_free(&c->resp);
    free(c->base_url);
    free(c->org_key);
    free(c);
}

void oks_okta_client_stats(const oks_okta_client *c, oks_okta_stats *out)
{
    *out = c->stats;
    for (int i = 0; i < OKS_OKTA_BUCKETS; i++) {
        out->buckets[i].name = oks_okta__bucket_names[i];
        out->buckets[i].limit = c->bstate[i].limit;
        out->buckets[i].remaining = c->bstate[i].remaining;
        out->buckets[i].reset_s = c->bstate[i].reset_s;
    }
}

void oks_okta_last_response(const oks_okta_client *c, oks_okta_last *out)
{
    *out = c->last;
}

size_t oks_okta_base_url_len(const oks_okta_client *c)
{
    return strlen(c->base_url);
}
