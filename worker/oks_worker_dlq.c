#include "oks_worker_dlq.h"

#include "core/oks_time.h"
#include "kafka/oks_kafka_close.h"
#include "kafka/oks_kafka_dead_letter.h"
#include "kafka/oks_kafka_produce.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oks_worker_dlq_open(oks_worker_dlq *d, const char *brokers, const char *extra,
                        const char *topic, int timeout_ms, size_t max_bytes, oks_err *err)
{
    memset(d, 0, sizeof *d);
    d->max_bytes = max_bytes;
    d->rk = oks_kafka_wait_producer_new(brokers, extra, timeout_ms, "dead-letter producer", err);
    if (!d->rk)
        return -1;
    d->topic = strdup(topic);
    if (!d->topic)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    return 0;
}

void oks_worker_dlq_close(oks_worker_dlq *d, int64_t deadline_ms)
{
    if (d->rk) {
        int64_t left = deadline_ms - oks_now_mono_ms();
        oks_kafka_producer_stop(d->rk, left > 0 ? left : 0, "dead-letter producer");
    }
    free(d->topic);
    memset(d, 0, sizeof *d);
}

char *oks_worker_dlq_value(const rd_kafka_message_t *m, const char *reason, const char *err_class,
                           int64_t now_ms, size_t max_bytes)
{
    char why[OKS_DEAD_LETTER_REASON_MAX];
    oks_dead_letter_reason(reason, why, sizeof why);
    /* room for the envelope's other fields (reason escaped: up to 6x), then the original,
     * whose escaping (\u00XX) or base64 makes it at most 6x longer */
    size_t fixed = 512 + 6 * strlen(why) + 200;
    size_t budget = max_bytes > fixed + 64 ? max_bytes - fixed : 64;
    oks_dead_letter dl = {.reason = reason,
                          .error_class = err_class,
                          .source_topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                          .source_partition = m->partition,
                          .source_offset = m->offset,
                          .failed_at_ms = now_ms,
                          .value = m->payload,
                          .value_len = m->payload ? m->len : 0,
                          .value_max = budget / 6 > 0 ? budget / 6 : 1};
    return oks_kafka_dead_letter_value(&dl, NULL);
}

bool oks_worker_dlq_fatal(oks_worker_dlq *d, char *why, size_t cap)
{
    return d->rk && oks_kafka_producer_fatal(d->rk, why, cap);
}

int oks_worker_dlq_send(oks_worker_dlq *d, const rd_kafka_message_t *m, const oks_err *why,
                        oks_err *err)
{
    const char *cls = oks_errcode_name(why->code);
    char reason[OKS_DEAD_LETTER_REASON_MAX];
    oks_dead_letter_reason(why->msg, reason, sizeof reason);
    char *value = oks_worker_dlq_value(m, why->msg, cls, oks_now_wall_ms(), d->max_bytes);
    if (!value)
        return oks_err_set(err, OKS_E_NOMEM, "building dead-letter value");
    char part[16], off[24];
    snprintf(part, sizeof part, "%d", (int)m->partition);
    snprintf(off, sizeof off, "%lld", (long long)m->offset);
    const oks_kafka_header h[] = {
        {"reason", reason},
        {"error_class", cls},
        {"source_topic", m->rkt ? rd_kafka_topic_name(m->rkt) : ""},
        {"source_partition", part},
        {"source_offset", off},
    };
    int rc = oks_kafka_produce_wait(d->rk, d->topic, m->key, m->key_len, value, strlen(value), h,
                                    sizeof h / sizeof h[0], err);
    free(value);
    return rc;
}
