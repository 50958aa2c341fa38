/* oktasync-worker: start-up, wiring and the shutdown order (see docs/worker.md). */
#include "core/oks_admin_http.h"
#include "core/oks_json_arena.h"
#include "core/oks_log.h"
#include "core/oks_signal.h"
#include "core/oks_time.h"
#include "kafka/oks_kafka.h"
#include "kafka/oks_kafka_close.h"
#include "oks_worker_config.h"
#include "oks_worker_consumer.h"
#include "oks_worker_reconcile.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* Not ready while a partition waits to retry after a transient failure (which ones, why). */
static bool worker_ready(void *arg, char *why, size_t cap)
{
    return oks_worker_loop_ready(arg, why, cap);
}

static rd_kafka_t *start_consumer(const oks_worker_cfg *cfg, oks_err *err)
{
    rd_kafka_t *rk =
        oks_kafka_consumer_new(cfg->kafka_brokers, cfg->group_id, cfg->kafka_config, err);
    if (!rk)
        return NULL;
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(topics, cfg->events_topic, RD_KAFKA_PARTITION_UA);
    if (cfg->jobs_topic && cfg->jobs_topic[0])
        rd_kafka_topic_partition_list_add(topics, cfg->jobs_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        oks_err_set(err, OKS_E_INVALID, "subscribe: %s", rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

/* After the commit-and-leave deadline a consumer whose group handler still waits for a
 * coordinator gets this much longer to be destroyed; then it is abandoned (see main). */
enum { CONSUMER_DESTROY_GRACE_MS = 2000 };

static void wake_reconcilers(void *arg)
{
    oks_worker_reconciler_wake(arg);
}

static void intake_backlog(void *arg, bool behind)
{
    oks_worker_reconciler_backlog(arg, behind);
}

/* 0 after a clean stop, 1 after a fatal error (the orchestrator restarts the process).
 * *abandoned: a Kafka handle could not be destroyed in time (its threads still run). */
static int run(const oks_worker_cfg *cfg, oks_worker_ctx *ctx, bool *abandoned, oks_err *err)
{
    int rc = -1;
    oks_admin_http *admin = NULL;
    rd_kafka_t *consumer = NULL;
    oks_worker_reconciler *rec = NULL;
    oks_worker_dlq dlq;
    memset(&dlq, 0, sizeof dlq);
    /* big (per-partition state): not on the stack */
    oks_worker_loop *loop = calloc(1, sizeof *loop);
    if (!loop) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        return -1;
    }
    loop->ctx = ctx;
    loop->dlq = &dlq;
    oks_worker_loop_init(loop);
    admin = oks_admin_http_start(cfg->admin_listen, worker_ready, loop, err);
    if (!admin)
        goto out;
    if (oks_worker_dlq_open(&dlq, cfg->kafka_brokers, cfg->kafka_config, cfg->dead_letter_topic,
                            (int)cfg->dead_letter_timeout_ms, (size_t)cfg->dead_letter_max_bytes,
                            err) != 0)
        goto out;
    consumer = start_consumer(cfg, err);
    if (!consumer)
        goto out;
    loop->consumer = consumer;
    /* coalesce mode: the marks the intake commits are resolved by reconciler threads, woken
     * after each intake commit (and polling for marks other replicas wrote) */
    if (cfg->reconcile_mode == OKS_WORKER_MODE_COALESCE) {
        rec = oks_worker_reconciler_start(cfg, ctx->key, err);
        if (!rec)
            goto out;
        loop->wake = wake_reconcilers;
        loop->backlog = intake_backlog;
        loop->wake_arg = rec;
    }
    if (oks_admin_http_write_ready_file(admin, cfg->ready_file, NULL, err) != 0)
        goto out;
    oks_log_fields(OKS_LOG_INFO, "worker started", "group", cfg->group_id, "events_topic",
                   cfg->events_topic, "reconcile_mode",
                   cfg->reconcile_mode == OKS_WORKER_MODE_NAIVE ? "naive" : "coalesce", NULL);
    oks_worker_loop_run(loop);
    if (loop->exit_code != 0) {
        oks_err_set(err, OKS_E_PERMANENT, "stopped after a fatal error (see above)");
        goto out;
    }
    OKS_LOG_INFO("shutting down: committing stored offsets");
    rc = 0;
out:;
    /* Every wait for Kafka from here on shares one deadline (shutdown-timeout): a broker that
     * is gone must not hold the process past the orchestrator's grace period. The consumer
     * goes first (its partitions move to the other replicas sooner, and the final commit gets
     * the whole budget) while the reconcilers finish their rounds (they need no consumer). */
    int64_t deadline = oks_now_mono_ms() + cfg->shutdown_timeout_ms;
    oks_worker_reconciler_request_stop(rec); /* their rounds end while the consumer stops */
    if (consumer) {
        oks_kafka_stop_result stop;
        oks_kafka_consumer_stop(consumer, cfg->shutdown_timeout_ms, CONSUMER_DESTROY_GRACE_MS,
                                &stop);
        *abandoned = stop.abandoned;
        loop->consumer = NULL;
    }
    oks_worker_reconciler_stop(rec, deadline);
    oks_worker_dlq_close(&dlq, deadline);
    /* before the loop goes (/readyz reads it); the ready file goes with it */
    oks_admin_http_stop_unready(admin, cfg->ready_file);
    oks_worker_loop_free(loop);
    free(loop);
    return rc;
}

int main(int argc, char **argv)
{
#ifdef __GLIBC__
    /* Two malloc arenas, not glibc's 8 per core. A full sync parses each Okta page (a few MB
     * of JSON trees) on a fetch-ahead thread and frees it on the applying one; every arena
     * that ever held a page keeps its memory, so peak RSS rose in steps of ~9 MB with the
     * threads that happened to run (37, 46, 55 MB in runs of the same sync). */
    mallopt(M_ARENA_MAX, 2);
#endif
    oks_worker_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    int exit_now = oks_cfg_load_main(&oks_worker_program, &cfg, argc, argv, NULL);
    if (exit_now >= 0)
        return exit_now;
    oks_err err = {0};
    oks_log_init("worker", (oks_log_level)cfg.log_level);
    /* Before any thread: curl_easy_init would otherwise do it lazily on whichever reconciler
     * or reader thread makes the first Okta client (safe only where libcurl says
     * CURL_VERSION_THREADSAFE, 7.84 and later). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: libcurl could not be initialised\n", oks_worker_program.name);
        oks_cfg_free(&oks_worker_program, &cfg);
        return 1;
    }
    /* Before any thread: jansson allocates from a thread's arena while a round's apply batch or
     * an intake batch is built (core/oks_json_arena.h), from malloc everywhere else. */
    oks_json_arena_install();
    oks_worker_ctx ctx;
    if (oks_worker_ctx_init(&ctx, &cfg, &err) != 0) {
        /* secret-key / redis-url are checked there and named by oks_cfg_invalid */
        fprintf(stderr, "%s: %s\n", oks_worker_program.name, err.msg);
        oks_worker_ctx_free(&ctx);
        oks_cfg_free(&oks_worker_program, &cfg);
        curl_global_cleanup();
        return 2;
    }
    oks_signal_install();
    bool abandoned = false;
    int rc = run(&cfg, &ctx, &abandoned, &err);
    if (rc != 0)
        oks_log_fields(OKS_LOG_ERROR, "worker failed", "error", err.msg, NULL);
    oks_worker_ctx_free(&ctx);
    oks_cfg_free(&oks_worker_program, &cfg);
    /* librdkafka threads of an abandoned handle still run: leave without the exit handlers
     * (library cleanups that could pull state from under them). Logs are unbuffered writes. */
    if (abandoned)
        _exit(rc == 0 ? 0 : 1);
    curl_global_cleanup();
    return rc == 0 ? 0 : 1;
}
