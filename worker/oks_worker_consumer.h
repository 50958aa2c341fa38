/*
 * The consumer loop: poll, process, and only then store the offset. A transient failure seeks
 * the partition back to the failed message and waits (doubling backoff), so the same message is
 * read again and nothing after it is skipped. On shutdown the loop finishes the current message
 * and returns; the caller commits and closes.
 */
#ifndef OKS_WORKER_CONSUMER_H
#define OKS_WORKER_CONSUMER_H

#include "oks_worker_dlq.h"
#include "oks_worker_process.h"

#include <librdkafka/rdkafka.h>

typedef struct oks_worker_loop {
    oks_worker_ctx *ctx;
    rd_kafka_t *consumer;
    oks_worker_dlq *dlq;
    int64_t backoff_ms; /* current wait after a transient failure; 0 after a success */
    int64_t next_lag_ms;
} oks_worker_loop;

/* Run until oks_shutdown_requested(). */
void oks_worker_loop_run(oks_worker_loop *l);

/* Next backoff: min on the first failure, doubled after, capped at max. Pure; unit-tested. */
int64_t oks_worker_next_backoff(int64_t current, int64_t min_ms, int64_t max_ms);

#endif
