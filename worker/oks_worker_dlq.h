/*
 * Dead-letter producer. A message that can never succeed is produced to the dead-letter topic
 * and the worker waits for Kafka's acknowledgement before it stores the source offset, so a
 * message is never both skipped and lost.
 *
 * Dead-letter message: key = the original key; headers reason, error_class, source_topic,
 * source_partition, source_offset (+ the original headers are not copied); value = JSON
 *   {"v":1,"reason":"...","error_class":"invalid","source_topic":"events","source_partition":3,
 *    "source_offset":42,"failed_at":"<iso>","value":"<original value as text>"}
 * with "value_base64" instead of "value" when the original is not valid UTF-8.
 *
 The value is the fleet's one format (oks_kafka_dead_letter_value, also written by ingest) and
 * the message is sent with oks_kafka_produce_wait (common/kafka/oks_kafka_produce.h).
 *
 * It cannot wedge: the reason is made valid UTF-8 (oks_dead_letter_reason: invalid bytes
 * written as \xNN, cut below OKS_DEAD_LETTER_REASON_MAX bytes); an original longer than the
 * value budget (dead-letter-max-bytes) is cut, with "value_truncated":true and
 * "value_length":<original length>. A produce that fails is retried by the consumer (the source
 * offset is not stored); a fatal producer error (idempotence broken) makes oks_worker_dlq_fatal
 * true and the worker exits non-zero so the orchestrator restarts it.
 */
#ifndef OKS_WORKER_DLQ_H
#define OKS_WORKER_DLQ_H

#include "core/oks_err.h"
#include "kafka/oks_kafka_dead_letter.h"

#include <librdkafka/rdkafka.h>

#include <stdbool.h>
#include <stddef.h>

typedef struct oks_worker_dlq {
    rd_kafka_t *rk;
    char *topic;
    size_t max_bytes; /* value budget */
} oks_worker_dlq;

int oks_worker_dlq_open(oks_worker_dlq *d, const char *brokers, const char *extra,
                        const char *topic, int timeout_ms, size_t max_bytes, oks_err *err);
/* Flush until deadline_ms (oks_now_mono_ms clock; what is left is purged and logged), destroy. */
void oks_worker_dlq_close(oks_worker_dlq *d, int64_t deadline_ms);

/* The value JSON of m (malloc'd, NUL-terminated), at most max_bytes long: the common builder
 * with the original cut to what fits the budget. Pure; unit-tested. */
char *oks_worker_dlq_value(const rd_kafka_message_t *m, const char *reason, const char *err_class,
                           int64_t now_ms, size_t max_bytes);

/* True after a fatal producer error (why filled): nothing can be dead-lettered any more. */
bool oks_worker_dlq_fatal(oks_worker_dlq *d, char *why, size_t cap);

/* Produce and wait for the acknowledgement. Retriable err when Kafka did not acknowledge. */
int oks_worker_dlq_send(oks_worker_dlq *d, const rd_kafka_message_t *m, const oks_err *why,
                        oks_err *err);

#endif
