#include "oks_ingest_http.h"

#include "core/oks_log.h"
#include "core/oks_time.h"
#include "core/oks_json_arena.h"
#include "oks_ingest_metrics.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct oks_ingest_http {
    oks_ingest_http_opts o;
    struct MHD_Daemon *d;
    struct MHD_Response *ok; /* the empty 200, built once and shared (MHD refcounts it) */
    int fd, port;
    bool quiesced;
    atomic_bool draining; /* set by quiesce: new requests are refused */
    atomic_int in_flight;
};

/* Per-request state, owned by libmicrohttpd's con_cls until the completion callback. */
typedef struct req {
    oks_ingest_http *h;
    struct MHD_Connection *conn;
    int64_t start_ms;
    bool counted; /* holds one in-flight slot */
    bool answered;
    oks_ingest_route route;
    oks_ingest_tenant tenant;
    char *body;
    size_t len, cap;
    bool too_large;
    bool oom;
    oks_ingest_tracker *tracker;
} req;

#define JSON_CT "application/json"

static enum MHD_Result respond(req *r, unsigned status, const char *body, const char *ctype)
{
    if (status == 200 && !body) {
        r->answered = true;
        oks_ingest_metrics_status(status);
        return MHD_queue_response(r->conn, status, r->h->ok);
    }
    size_t len = body ? strlen(body) : 0;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (ctype && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    if (status == 503)
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (atomic_load(&r->h->draining)) /* no further requests on this connection */
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->answered = true;
    oks_ingest_metrics_status(status);
    return ret;
}

static enum MHD_Result reject(req *r, const oks_ingest_reject *rej)
{
    return respond(r, rej->status, rej->body, JSON_CT);
}

static enum MHD_Result reject_msg(req *r, unsigned status, const char *msg)
{
    oks_ingest_reject rej;
    oks_ingest_reject_set(&rej, status, msg);
    return reject(r, &rej);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Everything decidable from the request line and headers, before any body is read. */
static enum MHD_Result on_headers(req *r, const char *url, const char *method)
{
    oks_ingest_http *h = r->h;
    oks_ingest_reject rej = {0};

    /* Quiesce only closes the listener: a kept-alive connection can still send a request. Its
     * ack deadline could end after the drain, and libmicrohttpd must not be stopped with a
     * suspended connection (MHD_PANIC), so nothing new is started once draining. */
    if (atomic_load(&h->draining))
        return reject_msg(r, 503, "shutting down");
    int n_headers = MHD_get_connection_values(r->conn, MHD_HEADER_KIND, NULL, NULL);
    if (n_headers < 0 || (unsigned)n_headers > h->o.max_headers)
        return reject_msg(r, 431, "too many headers");
    if (oks_ingest_route_parse(method, url, header(r->conn, MHD_HTTP_HEADER_HOST), h->o.base_domain,
                               &r->route, &rej) != 0)
        return reject(r, &rej);
    if (!oks_ingest_tenants_lookup(h->o.tenants, r->route.subdomain, &r->tenant)) {
        /* Before the first load a 404 would make Okta drop the delivery: say 503. */
        if (!oks_ingest_tenants_loaded(h->o.tenants))
            return reject_msg(r, 503, "tenant cache not loaded");
        return reject_msg(r, 404, "unknown tenant");
    }
    const char *auth = header(r->conn, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!oks_ingest_tenant_authorized(&r->tenant, auth, oks_now_wall_ms()))
        return reject_msg(r, 401, "missing or wrong secret");
    if (r->route.kind == OKS_INGEST_VERIFY) {
        char *body =
            oks_ingest_verification_body(header(r->conn, "x-okta-verification-challenge"), &rej);
        if (!body)
            return reject(r, &rej);
        enum MHD_Result ret = respond(r, 200, body, JSON_CT);
        free(body);
        return ret;
    }
    if (oks_ingest_check_content_type(header(r->conn, MHD_HTTP_HEADER_CONTENT_TYPE), &rej) != 0)
        return reject(r, &rej);
    const char *cl = header(r->conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > h->o.limits.max_body)
        return reject_msg(r, 413, "body too large");
    if ((unsigned)atomic_fetch_add(&h->in_flight, 1) >= h->o.max_in_flight) {
        atomic_fetch_sub(&h->in_flight, 1);
        return reject_msg(r, 503, "overloaded");
    }
    r->counted = true;
    if (oks_ingest_m.in_flight)
        oks_gauge_add(oks_ingest_m.in_flight, 1);
    return MHD_YES;
}

/* Append a body chunk; past the limit keep reading but drop the bytes (413 at the end). */
static void on_body(req *r, const char *data, size_t n)
{
    size_t max = r->h->o.limits.max_body;

    if (r->too_large)
        return;
    if (r->len + n > max) {
        r->too_large = true;
        return;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16384;
        while (cap < r->len + n)
            cap *= 2;
        if (cap > max)
            cap = max;
        char *nb = realloc(r->body, cap);
        if (!nb) {
            r->oom = true; /* reported as 503: no memory is not the client's fault */
            r->too_large = true;
            return;
        }
        r->body = nb;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
}

static void suspend_cb(void *ctx)
{
    req *r = ctx;
    MHD_suspend_connection(r->conn);
}

static void settled_cb(void *ctx)
{
    req *r = ctx;
    MHD_resume_connection(r->conn);
}

static enum MHD_Result answer_result(req *r, oks_ingest_result res)
{
    switch (res) {
    case OKS_INGEST_ACKED:
        return respond(r, 200, NULL, NULL);
    case OKS_INGEST_TIMEOUT:
        return reject_msg(r, 503, "kafka acknowledgement deadline passed");
    default:
        return reject_msg(r, 503, "kafka delivery failed");
    }
}

/* The whole body is in: validate, produce, then wait (suspended) for the acks. */
static enum MHD_Result on_body_done(req *r)
{
    oks_ingest_http *h = r->h;
    oks_ingest_reject rej = {0};
    oks_ingest_batch batch;
    size_t skipped[OKS_INGEST_SKIP__COUNT] = {0};

    if (r->oom)
        return reject_msg(r, 503, "out of memory");
    if (r->too_large)
        return reject_msg(r, 413, "body too large");
    /* Every JSON allocation from here to the produce is in this thread's arena (librdkafka
     * copies the values), and all of it goes at once when the scope closes. */
    bool scoped = oks_json_arena_begin();
    int prc = oks_ingest_body_parse(r->body, r->len, &h->o.limits, r->tenant.id, oks_now_wall_ms(),
                                    &batch, &rej);
    if (prc == 0) {
        memcpy(skipped, batch.skipped, sizeof(skipped));
        r->tracker = oks_ingest_tracker_new(h->o.producer, r->start_ms + h->o.ack_deadline_ms);
        if (r->tracker)
            oks_ingest_producer_send(h->o.producer, r->tracker, r->tenant.id, &batch);
        oks_ingest_batch_free(&batch);
    }
    if (scoped)
        oks_json_arena_end();
    if (prc != 0)
        return reject(r, &rej);
    /* Counted per delivery attempt (a delivery Okta retries after a 503 counts again). */
    for (int i = 0; i < OKS_INGEST_SKIP__COUNT; i++) {
        if (skipped[i] && oks_ingest_m.events_skipped[i])
            oks_counter_add(oks_ingest_m.events_skipped[i], skipped[i]);
    }
    if (!r->tracker)
        return reject_msg(r, 503, "out of memory");
    oks_ingest_result res =
        oks_ingest_tracker_arm(h->o.producer, r->tracker, suspend_cb, settled_cb, r);
    if (res == OKS_INGEST_PENDING)
        return MHD_YES; /* resumed by settled_cb; answered on the next call */
    return answer_result(r, res);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    req *r = *con_cls;

    (void)version;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        r->h = cls;
        r->conn = conn;
        r->start_ms = oks_now_mono_ms();
        *con_cls = r;
        return on_headers(r, url, method);
    }
    if (r->answered) { /* rejected early: discard whatever body follows */
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->tracker) /* resumed after settle */
        return answer_result(r, oks_ingest_tracker_result(r->h->o.producer, r->tracker));
    if (*upload_size) {
        on_body(r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return on_body_done(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    oks_ingest_http *h = cls;
    req *r = *con_cls;

    (void)conn;
    (void)toe;
    if (!r)
        return;
    if (r->tracker)
        oks_ingest_tracker_release(h->o.producer, r->tracker);
    if (r->counted) {
        atomic_fetch_sub(&h->in_flight, 1);
        if (oks_ingest_m.in_flight)
            oks_gauge_add(oks_ingest_m.in_flight, -1);
    }
    free(r->body);
    free(r);
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];

    (void)cls;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    OKS_LOG_DEBUG("microhttpd: %s", buf);
}

oks_ingest_http *oks_ingest_http_start(const oks_ingest_http_opts *opts, oks_err *err)
{
    oks_ingest_http *h = calloc(1, sizeof(*h));
    if (!h) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        return NULL;
    }
    h->o = *opts;
    h->ok = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!h->ok) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        free(h);
        return NULL;
    }
    h->fd = oks_ingest_listen_socket(opts->listen, &h->port, err);
    if (h->fd < 0)
        goto fail;
    /* poll(), not epoll: every request is suspended while its acks are pending, and with epoll
     * libmicrohttpd takes the socket out of the set and puts it back (two epoll_ctl calls per
     * request). poll over a thread's share of max-connections (≤ 512 fds by default) is cheaper:
     * ~6% less CPU per request at 32 connections, the same at 500 (bench/ingest/cpu). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;
    bool tls = opts->tls_cert_pem && opts->tls_key_pem;
    if (tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)opts->tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)opts->tls_key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, h->fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_CONNECTION_LIMIT, opts->max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        opts->max_header_bytes, MHD_OPTION_CONNECTION_TIMEOUT, opts->conn_timeout_s,
        MHD_OPTION_THREAD_POOL_SIZE, opts->threads > 1 ? opts->threads : 0, MHD_OPTION_ARRAY,
        tls_opts, MHD_OPTION_END);
    if (!h->d) {
        oks_err_set(err, OKS_E_INVALID, "cannot start the webhook listener on %s%s", opts->listen,
                    tls ? " (check tls-cert / tls-key)" : "");
        goto fail;
    }
    return h;
fail:
    if (h->fd >= 0)
        close(h->fd);
    MHD_destroy_response(h->ok);
    free(h);
    return NULL;
}

int oks_ingest_http_port(const oks_ingest_http *h)
{
    return h->port;
}

void oks_ingest_http_quiesce(oks_ingest_http *h)
{
    if (h->quiesced)
        return;
    h->quiesced = true;
    atomic_store(&h->draining, true);
    /* MHD hands the listening socket back; closing it makes new connects fail at once. */
    MHD_socket fd = MHD_quiesce_daemon(h->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    h->fd = -1;
}

int oks_ingest_http_in_flight(oks_ingest_http *h)
{
    return atomic_load(&h->in_flight);
}

void oks_ingest_http_stop(oks_ingest_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    if (h->fd >= 0)
        close(h->fd);
    MHD_destroy_response(h->ok);
    free(h);
}
