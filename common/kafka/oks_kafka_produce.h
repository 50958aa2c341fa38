/*
 * Produce one message and wait for Kafka's acknowledgement (acks=all, idempotent producer).
 * For callers that must not move on before a message is safe: the scheduler's full-sync jobs
 * (it commits the run row only after the ack) and the worker's dead letters (it stores the
 * source offset only after the ack). Ingest acknowledges many requests at once and keeps its
 * own asynchronous tracker (ingest/oks_ingest_producer.c).
 *
 *     rd_kafka_t *rk = oks_kafka_wait_producer_new(brokers, extra, 10000, "job producer", &err);
 *     oks_kafka_header h[] = {{"type", "full_sync"}};
 *     if (oks_kafka_produce_wait(rk, "jobs", key, key_len, value, value_len, h, 1, &err) != 0)
 *         ... err.code: retriable (try again later) or OKS_E_PERMANENT after a fatal error
 *
 * A fatal idempotent-producer error (e.g. OUT_OF_ORDER_SEQUENCE_NUMBER) makes the handle
 * unusable: oks_kafka_produce_wait then answers OKS_E_PERMANENT with librdkafka's reason, at
 * once and for every later call, and oks_kafka_producer_fatal says so; the owner should exit so
 * its supervisor starts a fresh process with a new producer id.
 */
#ifndef OKS_KAFKA_PRODUCE_H
#define OKS_KAFKA_PRODUCE_H

#include "core/oks_err.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct oks_kafka_header {
    const char *name;
    const char *value; /* NUL-terminated */
} oks_kafka_header;

/* Producer (oks_kafka_producer_conf with message.timeout.ms = message_timeout_ms, which bounds
 * every wait) with the delivery-report callback oks_kafka_produce_wait needs. what names it in
 * errors ("dead-letter producer"). NULL with err on a bad setting. */
rd_kafka_t *oks_kafka_wait_producer_new(const char *brokers, const char *extra,
                                        int message_timeout_ms, const char *what, oks_err *err);

/* Produce a copy of value (and key, may be NULL) to topic with the given headers and wait for
 * the delivery report. 0 once Kafka acknowledged; -1 with err otherwise (see above). rk must
 * come from oks_kafka_wait_producer_new and be used by one thread at a time. */
int oks_kafka_produce_wait(rd_kafka_t *rk, const char *topic, const void *key, size_t key_len,
                           const void *value, size_t value_len, const oks_kafka_header *headers,
                           size_t n_headers, oks_err *err);

/* True (with librdkafka's reason in why) once the producer hit a fatal error. */
bool oks_kafka_producer_fatal(rd_kafka_t *rk, char *why, size_t why_cap);

#endif
