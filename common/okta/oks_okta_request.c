/*
 * The request loop of the Okta client (see oks_okta_client.c for the policy summary).
 */
#include "okta/oks_okta_client_int.h"

#include <stdio.h>
#include <string.h>

#include "core/oks_log.h"
#include "core/oks_signal.h"
#include "core/oks_time.h"

static uint32_t next_rnd(oks_okta_client *c)
{
    c->rnd ^= c->rnd << 13;
    c->rnd ^= c->rnd >> 17;
    c->rnd ^= c->rnd << 5;
    return c->rnd;
}

/* Sleep in short slices so a daemon's SIGTERM is not held up by a 30 s backoff; false when
 * shutdown was requested (the caller gives up with a retriable error). */
static bool wait_ms(oks_okta_client *c, int64_t ms)
{
    int64_t end = oks_now_mono_ms() + ms;
    for (;;) {
        if (oks_shutdown_requested())
            return false;
        int64_t left = end - oks_now_mono_ms();
        if (left <= 0)
            break;
        oks_sleep_ms(left < 100 ? left : 100);
    }
    c->stats.wait_ms += (uint64_t)(ms > 0 ? ms : 0);
    return true;
}

/* Proactive pacing from the last headers seen for this bucket, before a 429 happens. */
static bool pace(oks_okta_client *c, int bucket)
{
    const oks_okta_bucket_state *s = &c->bstate[bucket];
    if (c->o.pace_below_fraction < 0 || s->reset_s <= 0)
        return true;
    int64_t reset_local = s->reset_s * 1000 - s->clock_offset_ms;
    int64_t ms = oks_okta__pace_ms(s->limit, s->remaining, reset_local, oks_now_wall_ms(),
                                   c->o.pace_below_fraction, c->o.max_backoff_ms);
    if (ms > 0) {
        OKS_LOG_DEBUG("okta: pacing %lld ms on bucket %s (remaining %lld of %lld)", (long long)ms,
                      oks_okta__bucket_names[bucket], (long long)s->remaining, (long long)s->limit);
        return wait_ms(c, ms);
    }
    return true;
}

static void record_headers(oks_okta_client *c, int bucket, const oks_okta_resp *r)
{
    oks_okta_bucket_state *s = &c->bstate[bucket];
    c->stats.calls++;
    c->stats.buckets[bucket].calls++;
    if (r->status == 429)
        c->stats.rate_limited++, c->stats.buckets[bucket].throttled++;
    if (r->status >= 500)
        c->stats.server_errors++;
    if (r->status == 0)
        c->stats.transport_errors++;
    /* Limit 0 marks a concurrency 429 (okta-reference §5.1): not the bucket's minute quota. */
    if (r->rl_limit > 0 && r->rl_remaining >= 0 && r->rl_reset > 0) {
        s->limit = r->rl_limit;
        s->remaining = r->rl_remaining;
        s->reset_s = r->rl_reset;
        s->clock_offset_ms = r->date_ms > 0 ? r->date_ms - oks_now_wall_ms() : 0;
        if (c->budget)
            oks_okta__budget_observe(c->budget, oks_okta__bucket_names[bucket], r->rl_limit);
    }
}

static const char *path_of(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    return p ? p : url;
}

/* Turn a finished transfer into success (*out set) or a classified error. */
static int interpret(oks_okta_client *c, const char *url, const oks_okta_resp *r, json_t **out,
                     oks_err *err)
{
    const char *path = path_of(url);
    if (r->status == 0) {
        if (r->too_big)
            return oks_err_set(err, OKS_E_INVALID, "okta GET %.200s: body over %zu bytes", path,
                               c->o.max_body_bytes);
        return oks_err_set(err, oks_okta__classify_curl(r->curl_code), "okta GET %.200s: %s", path,
                           r->curl_msg);
    }
    if (r->status < 200 || r->status > 299) {
        oks_okta_error_body eb;
        oks_okta__error_parse(r->body, r->len, &eb);
        snprintf(c->last.error_code, sizeof c->last.error_code, "%s", eb.code);
        c->last.too_long = r->status == 414 || (r->status == 400 && !eb.code[0]);
        oks_errcode code = oks_okta__classify_status(r->status, eb.code);
        return oks_err_set(err, code, "okta GET %.160s: HTTP %ld %s (%.80s) request-id %.40s", path,
                           r->status, eb.code[0] ? eb.code : "-", eb.summary,
                           r->request_id[0] ? r->request_id : "-");
    }
    if (r->link_malformed)
        return oks_err_set(err, OKS_E_INVALID, "okta GET %.200s: malformed Link header", path);
    json_error_t jerr;
    json_t *j = r->body ? json_loadb(r->body, r->len, 0, &jerr) : NULL;
    if (!j)
        return oks_err_set(err, OKS_E_TRANSIENT, "okta GET %.160s: invalid JSON body (%.60s)", path,
                           r->body ? jerr.text : "empty");
    *out = j;
    return 0;
}

/* One attempt: pacing, budget, GET, bookkeeping. */
static int attempt(oks_okta_client *c, const char *url, int bucket, const char *retry_for,
                   int retry_count, json_t **out, bool *budget_failed, oks_err *err)
{
    if (!pace(c, bucket)) {
        *budget_failed = true; /* not worth a retry either */
        return oks_err_set(err, OKS_E_UNAVAILABLE, "okta: shutting down");
    }
    char lease[64] = "";
    if (c->budget) {
        int64_t waited = 0;
        int rc =
            oks_okta__budget_acquire(c->budget, oks_okta__bucket_names[bucket],
                                     c->o.budget_max_wait_ms, lease, sizeof lease, &waited, err);
        c->stats.wait_ms += (uint64_t)waited;
        if (rc != 0) {
            *budget_failed = true;
            return -1;
        }
    }
    oks_okta_resp *r = &c->resp;
    oks_okta__resp_reset(r, c->o.max_body_bytes);
    int rc = oks_okta__http_get(&c->http, url, retry_for, retry_count, r, err);
    if (c->budget)
        oks_okta__budget_release(c->budget, lease);
    if (rc != 0)
        return -1;
    record_headers(c, bucket, r);
    c->last.status = r->status;
    c->last.date_ms = r->date_ms;
    OKS_LOG_DEBUG("okta GET %s -> %ld request-id %s", path_of(url), r->status,
                  r->request_id[0] ? r->request_id : "-");
    return interpret(c, url, r, out, err);
}

static bool retriable(oks_errcode code)
{
    return code == OKS_E_RATELIMIT || code == OKS_E_TRANSIENT || code == OKS_E_TIMEOUT ||
           code == OKS_E_UNAVAILABLE;
}

static int64_t retry_wait(oks_okta_client *c, oks_errcode code, int n)
{
    const oks_okta_resp *r = &c->resp;
    if (code == OKS_E_RATELIMIT) {
        int64_t ms =
            oks_okta__backoff_429_ms(r->rl_reset, r->date_ms, c->o.max_backoff_ms, next_rnd(c));
        if (ms >= 0)
            return ms;
        /* No Reset/Date (a proxy's 429?): fall back to exponential, at least 1 s. */
        ms = oks_okta__backoff_exp_ms(n + 2, c->o.max_backoff_ms, next_rnd(c));
        return ms;
    }
    return oks_okta__backoff_exp_ms(n, c->o.max_backoff_ms, next_rnd(c));
}

int oks_okta__get(oks_okta_client *c, const char *url, json_t **out, char *next_url, size_t cap,
                  oks_err *err)
{
    oks_err local = {0};
    if (!err)
        err = &local;
    *out = NULL;
    if (!oks_okta__same_origin(c, url))
        return oks_err_set(err, OKS_E_INVALID, "okta: refusing URL outside %s://%s:%s", c->scheme,
                           c->host, c->port);
    int bucket = oks_okta__bucket_of(url);
    char retry_for[96] = "";
    memset(&c->last, 0, sizeof c->last);
    c->last.status = -1;
    c->last.date_ms = -1;
    for (int n = 0;; n++) {
        bool budget_failed = false;
        if (n > 0)
            c->stats.retries++;
        if (attempt(c, url, bucket, retry_for[0] ? retry_for : NULL, n, out, &budget_failed, err) ==
            0)
            break;
        oks_errcode code = err->code;
        /* 404 is an answer (user deleted, not assigned), not a failure worth a warning. */
        oks_log_level lvl = code == OKS_E_NOTFOUND ? OKS_LOG_DEBUG : OKS_LOG_WARN;
        if (lvl >= oks_log_threshold)
            oks_log_fields(lvl, "okta request failed", "url", path_of(url), "error", err->msg,
                           "request_id", c->resp.request_id, NULL);
        if (budget_failed || !retriable(code) || n >= c->o.max_retries)
            return -1;
        if (code == OKS_E_RATELIMIT)
            snprintf(retry_for, sizeof retry_for, "%s", c->resp.request_id);
        if (!wait_ms(c, retry_wait(c, code, n)))
            return -1; /* shutting down: keep the last (retriable) error */
    }
    if (next_url && cap > 0) {
        snprintf(next_url, cap, "%s", c->resp.next_url);
        if (next_url[0] && !oks_okta__same_origin(c, next_url)) {
            json_decref(*out);
            *out = NULL;
            return oks_err_set(err, OKS_E_INVALID, "okta: next link leaves the org: %.100s",
                               next_url);
        }
    }
    return 0;
}
