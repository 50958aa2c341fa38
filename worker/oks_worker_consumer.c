#include "oks_worker_consumer.h"

#include "core/oks_log.h"
#include "core/oks_signal.h"
#include "core/oks_time.h"

#include <string.h>

int64_t oks_worker_next_backoff(int64_t current, int64_t min_ms, int64_t max_ms)
{
    if (current <= 0)
        return min_ms < max_ms ? min_ms : max_ms;
    return current >= max_ms / 2 ? max_ms : current * 2;
}

static void store_offset(oks_worker_loop *l, const rd_kafka_message_t *m)
{
    /* rd_kafka_offset_store records offset + 1 (the next message to read). */
    rd_kafka_resp_err_t e = rd_kafka_offset_store(m->rkt, m->partition, m->offset);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        OKS_LOG_WARN("offset store %s[%d]@%lld: %s (partition revoked? it will be re-read)",
                     rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset,
                     rd_kafka_err2str(e));
    (void)l;
}

/* Re-read m later: move the fetch position of its partition back to it, then wait. */
static void retry_later(oks_worker_loop *l, const rd_kafka_message_t *m, const oks_err *why)
{
    const oks_worker_cfg *cfg = l->ctx->cfg;
    oks_counter_add(l->ctx->m.retries, 1);
    atomic_store(&l->ctx->healthy, false);
    l->backoff_ms = oks_worker_next_backoff(l->backoff_ms, cfg->retry_backoff_min_ms,
                                            cfg->retry_backoff_max_ms);
    char off[24], wait[24];
    snprintf(off, sizeof off, "%lld", (long long)m->offset);
    snprintf(wait, sizeof wait, "%lld", (long long)l->backoff_ms);
    oks_log_fields(OKS_LOG_WARN, "transient failure, message will be retried", "topic",
                   rd_kafka_topic_name(m->rkt), "offset", off, "backoff_ms", wait, "error_class",
                   oks_errcode_name(why->code), "error", why->msg, NULL);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, rd_kafka_topic_name(m->rkt), m->partition)->offset =
        m->offset;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(l->consumer, parts, 5000);
    if (e) {
        /* Without the seek the next poll would hand out the following message: never skip.
         * Leaving the group makes the partition restart from the committed offset. */
        OKS_LOG_ERROR("seek back failed (%s); stopping so the message is redelivered",
                      rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        oks_shutdown_request();
    }
    rd_kafka_topic_partition_list_destroy(parts);
    int64_t until = oks_now_mono_ms() + l->backoff_ms;
    while (!oks_shutdown_requested() && oks_now_mono_ms() < until)
        oks_sleep_ms(until - oks_now_mono_ms() < 100 ? until - oks_now_mono_ms() : 100);
}

static void handle(oks_worker_loop *l, const rd_kafka_message_t *m)
{
    oks_err why = {0};
    int64_t t0 = oks_now_mono_ms();
    const char *jobs = l->ctx->cfg->jobs_topic;
    bool is_job = jobs && jobs[0] && strcmp(rd_kafka_topic_name(m->rkt), jobs) == 0;
    oks_worker_verdict v = is_job ? oks_worker_process_job(l->ctx, m->payload, m->len, &why)
                                  : oks_worker_process(l->ctx, m->payload, m->len, &why);
    if (v == OKS_WORKER_DEAD) {
        oks_err derr = {0};
        oks_log_fields(OKS_LOG_WARN, "message dead-lettered", "topic", rd_kafka_topic_name(m->rkt),
                       "reason", why.msg, "error_class", oks_errcode_name(why.code), NULL);
        if (oks_worker_dlq_send(l->dlq, m, &why, &derr) != 0) {
            retry_later(l, m, &derr);
            return;
        }
        oks_counter_add(l->ctx->m.dead_letter, 1);
        v = OKS_WORKER_DONE;
    }
    if (v == OKS_WORKER_RETRY) {
        retry_later(l, m, &why);
        return;
    }
    store_offset(l, m);
    l->backoff_ms = 0;
    atomic_store(&l->ctx->healthy, true);
    oks_histogram_observe(l->ctx->m.process_seconds, (double)(oks_now_mono_ms() - t0) / 1000.0);
}

/* Lag = high watermark - position, from librdkafka's cached fetch state (no network call). */
static void update_lag(oks_worker_loop *l)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(l->consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    oks_worker_metrics_lag_begin();
    if (rd_kafka_position(l->consumer, parts) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *p = &parts->elems[i];
            int64_t lo = 0, hi = 0;
            if (rd_kafka_get_watermark_offsets(l->consumer, p->topic, p->partition, &lo, &hi) !=
                    RD_KAFKA_RESP_ERR_NO_ERROR ||
                hi < 0)
                continue;
            int64_t pos = p->offset >= 0 ? p->offset : lo;
            oks_worker_metrics_set_lag(p->topic, p->partition, (double)(hi > pos ? hi - pos : 0));
        }
    }
    oks_worker_metrics_lag_end();
    rd_kafka_topic_partition_list_destroy(parts);
}

void oks_worker_loop_run(oks_worker_loop *l)
{
    while (!oks_shutdown_requested()) {
        if (oks_now_mono_ms() >= l->next_lag_ms) {
            update_lag(l);
            l->next_lag_ms = oks_now_mono_ms() + l->ctx->cfg->lag_interval_ms;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(l->consumer, 200);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                OKS_LOG_WARN("consumer: %s", rd_kafka_message_errstr(m));
        } else {
            handle(l, m);
        }
        rd_kafka_message_destroy(m);
    }
}
