/*
 * Event-hook delivery the way Okta does it (okta-reference §1.2-1.5): events recorded within the
 * batching window go out together in one POST {eventType:"com.okta.event_hook", ..., data:
 * {events:[...]}} with `Authorization: <secret>`; 3 s timeout; one retry on timeout, connection
 * error or 5xx; none on 4xx. Optional duplicates, reordering and dropped deliveries (a share of
 * deliveries is never sent, as if Okta's attempt and its retry were both lost). Runs on its own
 * thread so API threads only append to a queue.
 *
 * Counters (GET /__sim/hooks/stats): attempted = delivered + failed + dropped once `idle`.
 */
#include "sim.h"

#include "core/oks_log.h"
#include "core/oks_time.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sim_hooks {
    pthread_mutex_t mu;
    pthread_cond_t cv, done_cv;
    pthread_t th;
    bool started, stop, flush, busy;
    char *url, *secret, *source;
    int64_t window_ms, timeout_ms, max_batch, dup_permille, drop_permille, drop_next;
    bool reorder;
    char **q;
    size_t qlen, qcap;
    int64_t first_mono;
    char *held; /* reorder: a built body waiting to go out after the next one */
    int64_t held_mono;
    uint64_t rng, enqueued, posts, delivered, events_delivered, retried, failed, duplicates;
    uint64_t attempted, events_attempted, dropped, events_dropped, events_failed;
    long last_status;
    char last_error[CURL_ERROR_SIZE];
    CURL *curl;
};

static void abs_deadline(struct timespec *ts, int64_t ms_from_now)
{
    clock_gettime(CLOCK_REALTIME, ts);
    int64_t ns = ts->tv_nsec + (ms_from_now % 1000) * 1000000;
    ts->tv_sec += ms_from_now / 1000 + ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
}

static char *build_body(sim_hooks *h, char **events, size_t n)
{
    char eid[37], now[32];
    sim_uuid(eid);
    oks_time_format_iso8601(oks_now_wall_ms(), now, sizeof now);
    sim_buf b = {0};
    sim_buf_adds(&b, "{\"eventType\":\"com.okta.event_hook\",\"eventTypeVersion\":\"1.0\","
                     "\"cloudEventsVersion\":\"0.1\",\"source\":");
    sim_buf_jstr(&b, h->source);
    sim_buf_printf(&b,
                   ",\"eventId\":\"%s\",\"eventTime\":\"%s\",\"contentType\":"
                   "\"application/json\",\"data\":{\"events\":[",
                   eid, now);
    for (size_t i = 0; i < n; i++) {
        size_t k = h->reorder ? n - 1 - i : i;
        if (i)
            sim_buf_add(&b, ",", 1);
        sim_buf_adds(&b, events[k]);
    }
    sim_buf_adds(&b, "]}}");
    return b.oom ? (sim_buf_free(&b), NULL) : sim_buf_steal(&b);
}

/* One POST; returns HTTP status or 0 on a transport error (timeout, refused). */
static long post_once(sim_hooks *h, const char *url, const char *secret, const char *body,
                      int64_t timeout_ms)
{
    struct curl_slist *hdr = NULL;
    char auth[1100];
    long status = 0;
    hdr = curl_slist_append(hdr, "Accept: application/json");
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    if (secret && *secret) {
        snprintf(auth, sizeof auth, "Authorization: %s", secret);
        hdr = curl_slist_append(hdr, auth);
    }
    curl_easy_reset(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "okta-sim-event-hook/1.0");
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->last_error);
    h->last_error[0] = '\0';
    CURLcode rc = curl_easy_perform(h->curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    else if (!h->last_error[0])
        snprintf(h->last_error, sizeof h->last_error, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(hdr);
    return status;
}

/* Deliver one body with at most one retry. Called without the lock held. */
static bool deliver(sim_hooks *h, const char *url, const char *secret, const char *body,
                    int64_t timeout_ms)
{
    long st = post_once(h, url, secret, body, timeout_ms);
    pthread_mutex_lock(&h->mu);
    h->posts++;
    h->last_status = st;
    bool retry = st == 0 || st >= 500;
    if (retry)
        h->retried++;
    pthread_mutex_unlock(&h->mu);
    if (retry) {
        st = post_once(h, url, secret, body, timeout_ms);
        pthread_mutex_lock(&h->mu);
        h->posts++;
        h->last_status = st;
        pthread_mutex_unlock(&h->mu);
    }
    bool ok = st >= 200 && st < 300;
    if (!ok)
        oks_log_fields(OKS_LOG_WARN, "event hook delivery failed", "url", url, "error",
                       h->last_error, NULL);
    return ok;
}

static size_t count_events(const char *body)
{
    size_t n = 0;
    for (const char *p = body; (p = strstr(p, "\"uuid\":")); p++)
        n++;
    return n;
}

/* Under the lock: whether the next delivery is to be lost (drop_next first, then the share). */
static bool take_drop(sim_hooks *h)
{
    if (h->drop_next > 0) {
        h->drop_next--;
        return true;
    }
    h->rng = sim_mix64(h->rng);
    return h->drop_permille > 0 && (int64_t)((h->rng >> 12) % 1000) < h->drop_permille;
}

/* Send one body (and its duplicate when asked), or drop it; updates the counters. */
static void send_body(sim_hooks *h, char *body)
{
    size_t nev = count_events(body);
    pthread_mutex_lock(&h->mu);
    char *url = strdup(h->url ? h->url : ""), *secret = strdup(h->secret ? h->secret : "");
    int64_t timeout = h->timeout_ms;
    h->rng = sim_mix64(h->rng);
    bool dup = h->dup_permille > 0 && (int64_t)(h->rng % 1000) < h->dup_permille;
    bool drop = take_drop(h);
    h->attempted++;
    h->events_attempted += nev;
    if (drop) {
        h->dropped++;
        h->events_dropped += nev;
    }
    pthread_mutex_unlock(&h->mu);
    if (drop) {
        oks_log_fields(OKS_LOG_INFO, "event hook delivery dropped on purpose", NULL);
        goto out;
    }
    bool ok = url && secret && *url && deliver(h, url, secret, body, timeout);
    if (ok && dup) {
        /* A redelivery is a new request: fresh eventId, same events (same uuids). */
        char *eid = strstr(body, "\"eventId\":\"");
        char fresh[37];
        sim_uuid(fresh);
        if (eid)
            memcpy(eid + 11, fresh, 36);
        (void)deliver(h, url, secret, body, timeout);
    }
    pthread_mutex_lock(&h->mu);
    if (ok) {
        h->delivered++;
        h->events_delivered += nev;
        h->duplicates += dup;
    } else {
        h->failed++;
        h->events_failed += nev;
    }
    pthread_mutex_unlock(&h->mu);
out:
    free(url);
    free(secret);
    free(body);
}

/* Under the lock: take up to max_batch events and build their body. */
static char *take_batch(sim_hooks *h)
{
    size_t n = h->qlen < (size_t)h->max_batch ? h->qlen : (size_t)h->max_batch;
    char *body = build_body(h, h->q, n);
    for (size_t i = 0; i < n; i++)
        free(h->q[i]);
    memmove(h->q, h->q + n, (h->qlen - n) * sizeof *h->q);
    h->qlen -= n;
    h->first_mono = oks_now_mono_ms();
    return body;
}

static void *run(void *arg)
{
    sim_hooks *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        int64_t now = oks_now_mono_ms();
        char *first = NULL, *second = NULL;
        if (h->qlen > 0 && (h->flush || now >= h->first_mono + h->window_ms)) {
            first = take_batch(h);
            if (h->reorder && !h->held) {
                h->held = first; /* goes out after the next batch */
                h->held_mono = now;
                first = NULL;
            } else if (h->reorder) {
                second = h->held;
                h->held = NULL;
            }
        } else if (h->held && h->qlen == 0 &&
                   (h->flush || now >= h->held_mono + 2 * h->window_ms)) {
            first = h->held;
            h->held = NULL;
        }
        if (first || second) {
            h->busy = true;
            pthread_mutex_unlock(&h->mu);
            if (first)
                send_body(h, first);
            if (second)
                send_body(h, second);
            pthread_mutex_lock(&h->mu);
            h->busy = false;
        }
        if (h->qlen == 0 && !h->held) {
            h->flush = false;
            pthread_cond_broadcast(&h->done_cv);
        }
        if (first || second || (h->qlen > 0 && h->flush))
            continue;
        struct timespec ts;
        int64_t wait = h->qlen   ? h->first_mono + h->window_ms - now
                       : h->held ? h->held_mono + 2 * h->window_ms - now
                                 : 1000;
        abs_deadline(&ts, wait > 0 ? wait : 1);
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

sim_hooks *sim_hooks_new(const sim_cfg *cfg, const char *domain)
{
    sim_hooks *h = calloc(1, sizeof *h);
    char src[300];
    if (!h)
        return NULL;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    pthread_cond_init(&h->done_cv, NULL);
    snprintf(src, sizeof src, "https://%s/api/v1/eventHooks/%s", domain, cfg->hook_id);
    h->url = strdup(cfg->hook_url ? cfg->hook_url : "");
    h->secret = strdup(cfg->hook_secret ? cfg->hook_secret : "");
    h->source = strdup(src);
    h->window_ms = cfg->hook_window_ms;
    h->timeout_ms = cfg->hook_timeout_ms;
    h->max_batch = cfg->hook_max_batch;
    h->dup_permille = cfg->hook_duplicate_permille;
    h->drop_permille = cfg->hook_drop_permille;
    h->reorder = cfg->hook_reorder;
    h->rng = (uint64_t)cfg->seed ^ 0x5bd1e995u;
    h->curl = curl_easy_init();
    if (!h->url || !h->secret || !h->source || !h->curl ||
        pthread_create(&h->th, NULL, run, h) != 0) {
        sim_hooks_free(h);
        return NULL;
    }
    h->started = true;
    return h;
}

void sim_hooks_free(sim_hooks *h)
{
    if (!h)
        return;
    if (h->started) {
        pthread_mutex_lock(&h->mu);
        h->stop = true;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->th, NULL);
    }
    for (size_t i = 0; i < h->qlen; i++)
        free(h->q[i]);
    free(h->q);
    free(h->held);
    free(h->url);
    free(h->secret);
    free(h->source);
    if (h->curl)
        curl_easy_cleanup(h->curl);
    pthread_cond_destroy(&h->cv);
    pthread_cond_destroy(&h->done_cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

void sim_hooks_enqueue(sim_hooks *h, const char *event_json)
{
    pthread_mutex_lock(&h->mu);
    if (!h->url || !*h->url)
        goto out;
    if (h->qlen == h->qcap) {
        size_t cap = h->qcap ? h->qcap * 2 : 64;
        char **q = realloc(h->q, cap * sizeof *q);
        if (!q)
            goto out;
        h->q = q;
        h->qcap = cap;
    }
    char *copy = strdup(event_json);
    if (!copy)
        goto out;
    if (h->qlen == 0)
        h->first_mono = oks_now_mono_ms();
    h->q[h->qlen++] = copy;
    h->enqueued++;
    pthread_cond_signal(&h->cv);
out:
    pthread_mutex_unlock(&h->mu);
}

bool sim_hooks_flush(sim_hooks *h, int64_t timeout_ms)
{
    int64_t end = oks_now_mono_ms() + timeout_ms;
    pthread_mutex_lock(&h->mu);
    h->flush = true;
    pthread_cond_broadcast(&h->cv);
    while (h->qlen > 0 || h->busy || h->held) {
        int64_t left = end - oks_now_mono_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        abs_deadline(&ts, left);
        pthread_cond_timedwait(&h->done_cv, &h->mu, &ts);
    }
    bool done = h->qlen == 0 && !h->busy && !h->held;
    pthread_mutex_unlock(&h->mu);
    return done;
}

json_t *sim_hooks_stats(sim_hooks *h)
{
    pthread_mutex_lock(&h->mu);
    bool idle = h->qlen == 0 && !h->busy && !h->held;
    json_t *o = json_pack(
        "{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:I,s:b}", "url", h->url, "queued",
        (json_int_t)h->qlen, "enqueued", (json_int_t)h->enqueued, "posts", (json_int_t)h->posts,
        "delivered", (json_int_t)h->delivered, "events_delivered", (json_int_t)h->events_delivered,
        "retried", (json_int_t)h->retried, "failed", (json_int_t)h->failed, "duplicates",
        (json_int_t)h->duplicates, "last_status", (json_int_t)h->last_status, "last_error",
        h->last_error, "window_ms", (json_int_t)h->window_ms, "reorder", h->reorder);
    json_t *more = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "attempted", (json_int_t)h->attempted,
        "events_attempted", (json_int_t)h->events_attempted, "dropped", (json_int_t)h->dropped,
        "events_dropped", (json_int_t)h->events_dropped, "events_failed",
        (json_int_t)h->events_failed, "drop_permille", (json_int_t)h->drop_permille, "drop_next",
        (json_int_t)h->drop_next, "idle", idle);
    pthread_mutex_unlock(&h->mu);
    if (o && more)
        json_object_update(o, more);
    json_decref(more);
    return o;
}

static int set_str(char **dst, json_t *v, const char *name, oks_err *err)
{
    if (!v)
        return 0;
    if (!json_is_string(v))
        return oks_err_set(err, OKS_E_INVALID, "%s must be a string", name);
    char *s = strdup(json_string_value(v));
    if (!s)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    free(*dst);
    *dst = s;
    return 0;
}

static int set_int(int64_t *dst, json_t *v, const char *name, int64_t min, int64_t max,
                   oks_err *err)
{
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return oks_err_set(err, OKS_E_INVALID, "%s must be an integer in %lld..%lld", name,
                           (long long)min, (long long)max);
    *dst = json_integer_value(v);
    return 0;
}

int sim_hooks_configure(sim_hooks *h, json_t *obj, oks_err *err)
{
    json_t *ro = json_object_get(obj, "reorder");
    if (ro && !json_is_boolean(ro))
        return oks_err_set(err, OKS_E_INVALID, "reorder must be true or false");
    pthread_mutex_lock(&h->mu);
    int rc = set_str(&h->url, json_object_get(obj, "url"), "url", err) ||
                     set_str(&h->secret, json_object_get(obj, "secret"), "secret", err) ||
                     set_int(&h->window_ms, json_object_get(obj, "window_ms"), "window_ms", 0,
                             60000, err) ||
                     set_int(&h->timeout_ms, json_object_get(obj, "timeout_ms"), "timeout_ms", 100,
                             60000, err) ||
                     set_int(&h->max_batch, json_object_get(obj, "max_batch"), "max_batch", 1,
                             10000, err) ||
                     set_int(&h->dup_permille, json_object_get(obj, "duplicate_permille"),
                             "duplicate_permille", 0, 1000, err) ||
                     set_int(&h->drop_permille, json_object_get(obj, "drop_permille"),
                             "drop_permille", 0, 1000, err) ||
                     set_int(&h->drop_next, json_object_get(obj, "drop_next"), "drop_next", 0,
                             1000000, err)
                 ? -1
                 : 0;
    if (rc == 0 && ro)
        h->reorder = json_is_true(ro);
    if (rc == 0 && json_is_true(json_object_get(obj, "reset_stats"))) {
        h->posts = h->delivered = h->events_delivered = h->retried = h->failed = 0;
        h->duplicates = h->enqueued = 0;
        h->attempted = h->events_attempted = h->dropped = h->events_dropped = 0;
        h->events_failed = 0;
        h->last_status = 0;
        h->last_error[0] = '\0';
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}
