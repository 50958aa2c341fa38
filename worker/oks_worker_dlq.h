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
 */
#ifndef OKS_WORKER_DLQ_H
#define OKS_WORKER_DLQ_H

#include "core/oks_err.h"

#include <librdkafka/rdkafka.h>

typedef struct oks_worker_dlq {
    rd_kafka_t *rk;
    char *topic;
    int timeout_ms;
} oks_worker_dlq;

int oks_worker_dlq_open(oks_worker_dlq *d, const char *brokers, const char *extra,
                        const char *topic, int timeout_ms, oks_err *err);
void oks_worker_dlq_close(oks_worker_dlq *d);

/* Build the value JSON (malloc'd, NUL-terminated). Pure; unit-tested. */
char *oks_worker_dlq_value(const rd_kafka_message_t *m, const char *reason, const char *err_class,
                           int64_t now_ms);

/* Produce and wait for the acknowledgement. Retriable err when Kafka did not acknowledge. */
int oks_worker_dlq_send(oks_worker_dlq *d, const rd_kafka_message_t *m, const oks_err *why,
                        oks_err *err);

#endif
