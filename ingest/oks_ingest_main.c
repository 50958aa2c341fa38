/*
 * oktasync-ingest: receives Okta event hooks and turns each subscribed event into one Kafka
 * message, answering 200 only after Kafka acknowledged every message of the request.
 */
#include "core/oks_admin_http.h"
#include "core/oks_config.h"
#include "core/oks_log.h"
#include "core/oks_net.h"
#include "core/oks_signal.h"
#include "core/oks_time.h"
#include "oks_ingest_config.h"
#include "oks_ingest_http.h"
#include "oks_ingest_metrics.h"
#include "core/oks_json_arena.h"
#include "oks_ingest_producer.h"
#include "oks_ingest_tenants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct app {
    oks_ingest_cfg cfg;
    oks_ingest_tenants *tenants;
    oks_ingest_producer *producer;
    oks_ingest_http *http;
    oks_admin_http *admin;
    char *tls_cert, *tls_key;
} app;

static bool ready_cb(void *ctx, char *why, size_t cap)
{
    app *a = ctx;

    if (!oks_ingest_tenants_loaded(a->tenants)) {
        snprintf(why, cap, "tenant cache not loaded");
        return false;
    }
    return oks_ingest_producer_reachable(a->producer, 1000, why, cap);
}

/* Read a PEM file whole (bounded: certificates are small). */
static char *read_pem(const char *path, oks_err *err)
{
    char *buf = NULL;
    FILE *f = fopen(path, "rb");

    if (!f) {
        oks_err_set(err, OKS_E_INVALID, "cannot open %s: %m", path);
        return NULL;
    }
    buf = calloc(1, 256 * 1024 + 1);
    size_t n = buf ? fread(buf, 1, 256 * 1024, f) : 0;
    if (!buf || n == 0 || !feof(f)) {
        oks_err_set(err, OKS_E_INVALID, "cannot read %s (empty or over 256 KiB)", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* Checks the table cannot express. Failures are configuration errors: one line, exit 2. */
static int validate(app *a, oks_err *err)
{
    const oks_ingest_cfg *c = &a->cfg;
    struct sockaddr_storage ss;
    socklen_t sl;

    if (oks_parse_listen(c->http_listen, &ss, &sl, err) != 0)
        return oks_err_wrap(err, "invalid value for --http-listen (OKTASYNC_HTTP_LISTEN)");
    if (!c->tls_cert[0] != !c->tls_key[0])
        return oks_cfg_invalid(err, c->tls_cert[0] ? "tls-key" : "tls-cert",
                               "tls-cert and tls-key must be set together");
    if (c->tls_cert[0] && !(a->tls_cert = read_pem(c->tls_cert, err)))
        return oks_err_wrap(err, "invalid value for --tls-cert (OKTASYNC_TLS_CERT)");
    if (c->tls_key[0] && !(a->tls_key = read_pem(c->tls_key, err)))
        return oks_err_wrap(err, "invalid value for --tls-key (OKTASYNC_TLS_KEY)");
    return 0;
}

static int start(app *a, oks_err *err)
{
    const oks_ingest_cfg *c = &a->cfg;

    a->producer = oks_ingest_producer_new(c->kafka_brokers, c->kafka_topic, c->dead_letter_topic,
                                          c->kafka_config, err);
    if (!a->producer)
        return -1;
    a->tenants = oks_ingest_tenants_start(c->database_url, c->tenant_poll_ms, err);
    if (!a->tenants)
        return -1;
    if (!oks_ingest_tenants_wait_loaded(a->tenants, c->startup_wait_ms))
        OKS_LOG_WARN("tenant cache not loaded yet; answering 503 until it is");
    oks_ingest_http_opts o = {
        .listen = c->http_listen,
        .base_domain = c->base_domain,
        .limits = {(size_t)c->max_body, (int)c->max_json_depth, (size_t)c->max_events},
        .max_header_bytes = (size_t)c->max_header_bytes,
        .max_headers = (unsigned)c->max_headers,
        .max_connections = (unsigned)c->max_connections,
        .max_in_flight = (unsigned)c->max_in_flight,
        .threads = (unsigned)c->http_threads,
        .conn_timeout_s = (unsigned)((c->connection_timeout_ms + 999) / 1000),
        .ack_deadline_ms = c->ack_deadline_ms,
        .tls_cert_pem = a->tls_cert,
        .tls_key_pem = a->tls_key,
        .tenants = a->tenants,
        .producer = a->producer,
    };
    a->http = oks_ingest_http_start(&o, err);
    if (!a->http)
        return -1;
    a->admin = oks_admin_http_start(c->admin_listen, ready_cb, a, err);
    if (!a->admin)
        return -1;
    OKS_LOG_INFO("listening: webhooks on port %d (%s), admin on port %d",
                 oks_ingest_http_port(a->http), a->tls_cert ? "https" : "http",
                 oks_admin_http_port(a->admin));
    char extra[64];
    snprintf(extra, sizeof extra, "http=127.0.0.1:%d\n", oks_ingest_http_port(a->http));
    return oks_admin_http_write_ready_file(a->admin, c->ready_file, extra, err);
}

/* Stop accepting, let in-flight requests finish (each ends by its ack deadline), flush. */
static int drain_and_stop(app *a)
{
    int left = 0;

    if (a->http) {
        oks_ingest_http_quiesce(a->http);
        int64_t until = oks_now_mono_ms() + a->cfg.ack_deadline_ms + 1000;
        while (oks_ingest_http_in_flight(a->http) > 0 && oks_now_mono_ms() < until)
            oks_sleep_ms(10);
        OKS_LOG_INFO("drained; %d requests still in flight", oks_ingest_http_in_flight(a->http));
        oks_ingest_http_stop(a->http);
    }
    oks_admin_http_stop_unready(a->admin, a->cfg.ready_file);
    if (a->producer)
        left = oks_ingest_producer_destroy(a->producer, (int)a->cfg.shutdown_flush_ms);
    oks_ingest_tenants_stop(a->tenants);
    free(a->tls_cert);
    free(a->tls_key);
    return left;
}

int main(int argc, char **argv)
{
    app a = {0};
    oks_err err = {0};
    int rc = 1;

    int exit_now = oks_cfg_load_main(&oks_ingest_program, &a.cfg, argc, argv, NULL);
    if (exit_now >= 0)
        return exit_now;
    if (validate(&a, &err) != 0) {
        fprintf(stderr, "oktasync-ingest: %s\n", err.msg);
        oks_cfg_free(&oks_ingest_program, &a.cfg);
        free(a.tls_cert);
        free(a.tls_key);
        return 2;
    }
    /* Before any thread starts: jansson allocates from per-request arenas on the webhook path
     * (core/oks_json_arena.h) and from malloc everywhere else. */
    oks_json_arena_install();
    oks_log_init("ingest", (oks_log_level)a.cfg.log_level);
    oks_signal_install();
    oks_ingest_metrics_init();
    if (start(&a, &err) != 0) {
        OKS_LOG_ERROR("start-up failed: %s", err.msg);
        goto out;
    }
    while (!oks_shutdown_requested())
        oks_sleep_ms(50);
    /* A fatal Kafka producer error also ends up here: exit 1 so the instance is replaced. */
    rc = oks_ingest_producer_fatal(a.producer) ? 1 : 0;
    OKS_LOG_INFO("shutdown requested; draining");
out:
    drain_and_stop(&a);
    oks_cfg_free(&oks_ingest_program, &a.cfg);
    return rc;
}
